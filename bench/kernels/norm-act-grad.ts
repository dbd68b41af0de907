// Backward of the norms, activations, add and resampling on SD 1.5 shapes (issue 4; the forward section's
// shapes: GroupNorm 64×64×320 with and without SiLU, SiLU and GEGLU at the UNet's first level, LayerNorm
// 4096×320, the temb broadcast add, upsample and the skip concat), against tfjs autodiff of the reference
// ops on the same device. Each side runs as in training: tf.grads of sum(y · r) w.r.t. the input and the
// trainable gamma/beta (forward + backward, the forward recomputed nowhere else); the backward alone is
// that minus a forward-only run. Peak memory is the live bytes above the inputs during forward + backward.
import * as tf from '@tensorflow/tfjs';
import { engine } from '../../src/engine/engine';
import { activation, add, geglu } from '../../src/ops/activations';
import { groupNorm } from '../../src/ops/group-norm';
import { layerNorm } from '../../src/ops/layer-norm';
import { referenceOps } from '../../src/ops/reference';
import { concatChannels, upsampleNearest } from '../../src/ops/resample';
import { timeMs, type BenchRow } from '../report';

interface Case {
  op: string;
  /** Input shapes; `trainable` of them (the last ones) become trainable variables. */
  inputs: number[][];
  trainable: number;
  ours: (t: tf.Tensor[]) => tf.Tensor;
  tfjs: (t: tf.Tensor[]) => tf.Tensor;
}

// Medians of 3 (a full-size run on lavapipe takes ~0.1-1 s; single runs vary by 2-5x on a shared machine).
const RUNS = 3;
const X = [1, 64, 64, 320];

const CASES: Case[] = [
  {
    op: 'groupNorm 64×64×320',
    inputs: [X, [320], [320]],
    trainable: 2,
    ours: ([x, g, b]) => groupNorm(x, g, b, 32, 1e-5),
    tfjs: ([x, g, b]) => referenceOps.groupNorm(x, g, b, 32, 1e-5),
  },
  {
    op: 'groupNorm + SiLU 64×64×320',
    inputs: [X, [320], [320]],
    trainable: 2,
    ours: ([x, g, b]) => groupNorm(x, g, b, 32, 1e-5, true),
    tfjs: ([x, g, b]) => referenceOps.groupNorm(x, g, b, 32, 1e-5, true),
  },
  {
    op: 'SiLU 64×64×320',
    inputs: [X],
    trainable: 0,
    ours: ([x]) => activation(x, 'silu'),
    tfjs: ([x]) => referenceOps.activation(x, 'silu'),
  },
  {
    op: 'GEGLU 4096×2560 -> 1280',
    inputs: [[1, 4096, 2560]],
    trainable: 0,
    ours: ([x]) => geglu(x),
    tfjs: ([x]) => referenceOps.geglu(x),
  },
  {
    op: 'layerNorm 4096×320',
    inputs: [[1, 4096, 320], [320], [320]],
    trainable: 2,
    ours: ([x, g, b]) => layerNorm(x, g, b, 1e-5),
    tfjs: ([x, g, b]) => referenceOps.layerNorm(x, g, b, 1e-5),
  },
  {
    op: 'add + temb broadcast 64×64×320',
    inputs: [X, [1, 1, 1, 320]],
    trainable: 0,
    ours: ([a, b]) => add(a, b),
    tfjs: ([a, b]) => referenceOps.add(a, b),
  },
  {
    op: 'upsample 2× 32×32×640',
    inputs: [[1, 32, 32, 640]],
    trainable: 0,
    ours: ([x]) => upsampleNearest(x as tf.Tensor4D),
    tfjs: ([x]) => referenceOps.upsampleNearest(x as tf.Tensor4D),
  },
  {
    op: 'concat 64×64×(320+320)',
    inputs: [X, X],
    trainable: 0,
    ours: ([a, b]) => concatChannels(a as tf.Tensor4D, b as tf.Tensor4D),
    tfjs: ([a, b]) => referenceOps.concatChannels(a as tf.Tensor4D, b as tf.Tensor4D),
  },
];

/** Median ms of `step` (which returns what it made) and peak live bytes above the inputs (one warm-up run first). */
async function measure(step: () => tf.Tensor[], runs: number): Promise<{ ms: number; peakBytes: number }> {
  const e = engine();
  const run = async () => {
    const out = step();
    await e.sync();
    tf.dispose(out);
  };
  await run();
  const base = e.memory().liveBytes;
  e.resetPeakMemory();
  const ms = await timeMs(run, runs, 0);
  return { ms, peakBytes: e.memory().peakLiveBytes - base };
}

export async function benchNormActGrad(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const mib = (bytes: number) => bytes / 2 ** 20;
  for (const c of CASES) {
    const inputs = c.inputs.map((s, i) => {
      const t = tf.randomUniform(s, -2, 2);
      if (i < c.inputs.length - c.trainable) return t;
      const v = tf.variable(t, true);
      t.dispose();
      return v;
    });
    const probe = tf.tidy(() => c.ours(inputs));
    const r = tf.randomUniform(probe.shape, -1, 1);
    probe.dispose();
    const both = (op: (t: tf.Tensor[]) => tf.Tensor) => () => tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(op(args), r)))(inputs);
    const ours = await measure(both(c.ours), RUNS);
    const ref = await measure(both(c.tfjs), RUNS);
    const oursFwd = await measure(() => [c.ours(inputs)], RUNS);
    const refFwd = await measure(() => [tf.tidy(() => c.tfjs(inputs))], RUNS);
    const oursBwd = Math.max(ours.ms - oursFwd.ms, 0);
    const refBwd = Math.max(ref.ms - refFwd.ms, 0);
    rows.push({
      op: `${c.op} (backward)`,
      ours_ms: ours.ms,
      tfjs_ms: ref.ms,
      speedup: ref.ms / ours.ms,
      ours_bwd_ms: oursBwd,
      tfjs_bwd_ms: refBwd,
      bwd_speedup: oursBwd > 0 ? refBwd / oursBwd : 0,
      ours_peak_mib: mib(ours.peakBytes),
      tfjs_peak_mib: mib(ref.peakBytes),
    });
    tf.dispose([...inputs, r]);
  }
  return rows;
}
