// conv2d and linear backward against tfjs autodiff of the reference ops on the SD 1.5 shapes of issue 3:
// conv 64×64×320→320 3×3, conv 8×8×1280→1280 3×3, the GEGLU projection 4096×320→2560. Each row times one
// training step of the op, forward + backward (tf.variableGrads of sum(y · r), so dy = r; the forward
// alone is in bench/kernels/conv-matmul.ts): trainable f32 weights (dx, dW, db) on both sides, then frozen
// weights (dx only): ours packed f16 where the engine's precision is f16, tfjs f32.
// Expects the engine to exist (bench/kernels.ts creates it).
import * as tf from '@tensorflow/tfjs';
import { engine } from '../../src/engine/engine';
import { packF16 } from '../../src/engine/f16-tensor';
import { conv2d } from '../../src/ops/conv2d';
import { linear } from '../../src/ops/linear';
import { referenceOps } from '../../src/ops/reference';
import type { Weight } from '../../src/ops/types';
import { timeMs, type BenchRow } from '../report';

interface GradCase {
  op: string;
  shape: string;
  /** Forward GFLOP (the backward with dx and dW is twice that). */
  gflop: number;
  /** Inputs at full size, and at a small size that compiles the same kernels (the warm-up). */
  make(small: boolean): { x: tf.Tensor; w: tf.Tensor; b: tf.Tensor; yShape: number[] };
  apply(impl: 'ours' | 'tfjs', x: tf.Tensor, w: Weight, b: Weight): tf.Tensor;
}

interface Variant {
  label: string;
  impl: 'ours' | 'tfjs';
  trainable: boolean;
  f16?: boolean;
}

/** One forward + backward, tf.variableGrads of sum(y · r): x (and W, b when trainable) as tf.Variables. */
async function fwdBwd(c: GradCase, v: Variant, small: boolean): Promise<{ ms: number; peakMiB: number }> {
  const t = c.make(small);
  // Trainable weights are tf.Variables (what marks a weight trainable for our ops); x is one too, for dx.
  const vars = { x: tf.variable(t.x), w: tf.variable(t.w), b: tf.variable(t.b) };
  const f16 = v.f16 ? { w: packF16((await t.w.data()) as Float32Array, t.w.shape), b: packF16((await t.b.data()) as Float32Array, t.b.shape) } : undefined;
  const w: Weight = f16 ? f16.w : v.trainable ? vars.w : t.w;
  const b: Weight = f16 ? f16.b : v.trainable ? vars.b : t.b;
  const r = tf.fill(t.yShape, 0.01);
  // Upload every input now: CPU-resident data would otherwise be uploaded, and counted, inside the step.
  for (const input of [t.x, t.w, t.b, r, ...(f16 ? [f16.w.packed, f16.b.packed] : [])]) engine().bridge.bufferOf(input);
  await engine().sync();
  engine().resetPeakMemory();
  const live = engine().memory().liveBytes;
  const ms = await timeMs(async () => {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(c.apply(v.impl, vars.x, w, b), r)) as tf.Scalar, v.trainable ? [vars.x, vars.w, vars.b] : [vars.x]);
    await engine().sync();
    tf.dispose([value, ...Object.values(grads)]);
  }, 1, 0);
  // Memory the step adds at its peak (gradients, saved and recomputed tensors, temporaries) above its inputs.
  const peakMiB = (engine().memory().peakLiveBytes - live) / 2 ** 20;
  tf.dispose([r, t.x, t.w, t.b, vars.x, vars.w, vars.b, ...(f16 ? [f16.w.packed, f16.b.packed] : [])]);
  return { ms, peakMiB };
}

async function runCase(c: GradCase): Promise<BenchRow[]> {
  const variants: Variant[] = [
    { label: 'tfjs autodiff (dx, dW, db)', impl: 'tfjs', trainable: true },
    { label: 'ours (dx, dW, db)', impl: 'ours', trainable: true },
    { label: 'tfjs autodiff (dx; f32 w)', impl: 'tfjs', trainable: false },
    { label: engine().f16 ? 'ours (dx; frozen f16 w)' : 'ours (dx; frozen f32 w)', impl: 'ours', trainable: false, f16: engine().f16 },
  ];
  const rows: BenchRow[] = [];
  let tfjsMs = 0;
  for (const v of variants) {
    await fwdBwd(c, v, true); // compile outside the measurement
    const { ms, peakMiB } = await fwdBwd(c, v, false);
    if (v.impl === 'tfjs') tfjsMs = ms;
    rows.push({
      op: c.op,
      shape: c.shape,
      impl: v.label,
      'fwd+bwd ms': ms,
      'fwd+bwd GFLOP/s': ((v.trainable ? 3 : 2) * c.gflop) / (ms / 1000),
      'speedup vs tfjs': tfjsMs / ms,
      'peak MiB': peakMiB,
    });
  }
  return rows;
}

export async function benchConvMatmulGrad(): Promise<BenchRow[]> {
  const uniform = (shape: number[], scale: number, seed: number) => tf.tidy(() => tf.mul(tf.randomUniform(shape, -1, 1, 'float32', seed), scale));
  const convCase = (h: number, cin: number, cout: number): GradCase => ({
    op: 'conv2d 3×3 fwd+bwd',
    shape: `[1,${h},${h},${cin}]→${cout}`,
    gflop: (2 * h * h * 9 * cin * cout) / 1e9,
    make: (small) => {
      const s = small ? 4 : h;
      return { x: uniform([1, s, s, cin], 1, 2), w: uniform([3, 3, cin, cout], 1 / Math.sqrt(9 * cin), 3), b: uniform([cout], 0.1, 4), yShape: [1, s, s, cout] };
    },
    apply: (impl, x, w, b) => (impl === 'tfjs' ? referenceOps.conv2d : conv2d)(x as tf.Tensor4D, w, b, { padding: 1 }),
  });
  const linearCase = (m: number, k: number, n: number): GradCase => ({
    op: 'linear (GEGLU proj) fwd+bwd',
    shape: `[${m},${k}]→${n}`,
    gflop: (2 * m * k * n) / 1e9,
    make: (small) => {
      const rows = small ? 64 : m;
      return { x: uniform([1, rows, k], 1, 5), w: uniform([k, n], 1 / Math.sqrt(k), 6), b: uniform([n], 0.1, 7), yShape: [1, rows, n] };
    },
    apply: (impl, x, w, b) => (impl === 'tfjs' ? referenceOps.linear : linear)(x, w, b),
  });
  const rows: BenchRow[] = [];
  for (const c of [convCase(64, 320, 320), convCase(8, 1280, 1280), linearCase(4096, 320, 2560)]) rows.push(...(await runCase(c)));
  return rows;
}
