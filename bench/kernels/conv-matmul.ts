// conv2d and linear kernels against the tfjs reference ops on the SD 1.5 shapes of issue 3: conv
// 64×64×320→320 3×3, conv 8×8×1280→1280 3×3, the GEGLU projection 4096×320→2560. Ours runs with f32
// weights and, where the engine's precision is f16, with packed f16 weights too; tfjs with f32 weights.
// Expects the engine to exist (bench/kernels.ts creates it).
import * as tf from '@tensorflow/tfjs';
import { engine } from '../../src/engine/engine';
import { packF16 } from '../../src/engine/f16-tensor';
import { conv2d } from '../../src/ops/conv2d';
import { linear } from '../../src/ops/linear';
import { referenceOps } from '../../src/ops/reference';
import type { Weight } from '../../src/ops/types';
import { timeMs, type BenchRow } from '../report';

async function weights(shape: number[], scale: number): Promise<{ f32: tf.Tensor; f16: Weight }> {
  const f32 = tf.tidy(() => tf.mul(tf.randomUniform(shape, -1, 1, 'float32', 1), scale));
  const f16 = engine().f16 ? packF16((await f32.data()) as Float32Array, shape) : f32;
  return { f32, f16 };
}

export async function benchConvMatmul(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const convCase = (h: number, cin: number, cout: number) => ({
    op: 'conv2d 3×3',
    shape: `[1,${h},${h},${cin}]→${cout}`,
    gflop: (2 * h * h * 9 * cin * cout) / 1e9,
    inputs: async () => {
      const x = tf.randomUniform([1, h, h, cin], -1, 1, 'float32', 2) as tf.Tensor4D;
      const w = await weights([3, 3, cin, cout], 1 / Math.sqrt(9 * cin));
      const b = await weights([cout], 0.1);
      const run = (impl: 'ours' | 'tfjs', f16: boolean) =>
        impl === 'tfjs'
          ? referenceOps.conv2d(x, w.f32, b.f32, { padding: 1 })
          : conv2d(x, f16 ? w.f16 : w.f32, f16 ? b.f16 : b.f32, { padding: 1 });
      return { run, tensors: [x, w.f32, b.f32, ...packedOf(w.f16, b.f16)] };
    },
  });
  const linearCase = (m: number, k: number, n: number) => ({
    op: 'linear (GEGLU proj)',
    shape: `[${m},${k}]→${n}`,
    gflop: (2 * m * k * n) / 1e9,
    inputs: async () => {
      const x = tf.randomUniform([1, m, k], -1, 1, 'float32', 3);
      const w = await weights([k, n], 1 / Math.sqrt(k));
      const b = await weights([n], 0.1);
      const run = (impl: 'ours' | 'tfjs', f16: boolean) =>
        impl === 'tfjs' ? referenceOps.linear(x, w.f32, b.f32) : linear(x, f16 ? w.f16 : w.f32, f16 ? b.f16 : b.f32);
      return { run, tensors: [x, w.f32, b.f32, ...packedOf(w.f16, b.f16)] };
    },
  });
  for (const c of [convCase(64, 320, 320), convCase(8, 1280, 1280), linearCase(4096, 320, 2560)]) {
    const { run, tensors } = await c.inputs();
    const impls: ['ours' | 'tfjs', boolean, string][] = [['tfjs', false, 'tfjs (f32 w)'], ['ours', false, 'ours (f32 w)']];
    if (engine().f16) impls.push(['ours', true, 'ours (f16 w)']);
    let tfjsMs = 0;
    for (const [impl, f16, label] of impls) {
      const once = async () => {
        const y = run(impl, f16);
        await engine().sync();
        y.dispose();
      };
      await once(); // compile and warm up outside the measurement
      engine().resetPeakMemory();
      const live = engine().memory().liveBytes;
      const ms = await timeMs(once, 1, 0);
      if (impl === 'tfjs') tfjsMs = ms;
      rows.push({
        op: c.op,
        shape: c.shape,
        impl: label,
        ms,
        'GFLOP/s': c.gflop / (ms / 1000),
        'speedup vs tfjs': tfjsMs / ms,
        // Memory the op itself adds at its peak (output and temporaries), above the live inputs.
        'op peak MiB': (engine().memory().peakLiveBytes - live) / 2 ** 20,
      });
    }
    tf.dispose(tensors);
  }
  return rows;
}

function packedOf(...ws: Weight[]): tf.Tensor[] {
  return ws.flatMap((w) => (w instanceof tf.Tensor ? [] : [w.packed]));
}
