// Norms, activations and resampling vs the tfjs reference ops on SD 1.5 shapes (issue 3: GroupNorm
// 64×64×320 with and without SiLU, SiLU and GEGLU at the UNet's first level, plus LayerNorm, add,
// upsample and the skip concat there). Memory-bound: GB/s counts each tensor read or written once
// (the minimum traffic), so the two-pass GroupNorm (x read twice) tops out at 2/3 of the device's bandwidth.
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
  inputs: number[][];
  /** Floats moved at minimum: every input read once, the output written once. */
  floats: number;
  ours: (t: tf.Tensor[]) => tf.Tensor;
  tfjs: (t: tf.Tensor[]) => tf.Tensor;
}

// Medians of 5: single runs on a shared 2-core machine vary by 2-5x.
const RUNS = 5;
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const X = [1, 64, 64, 320];

const CASES: Case[] = [
  {
    op: 'groupNorm 64×64×320',
    inputs: [X, [320], [320]],
    floats: 2 * size(X),
    ours: ([x, g, b]) => groupNorm(x, g, b, 32, 1e-5),
    tfjs: ([x, g, b]) => referenceOps.groupNorm(x, g, b, 32, 1e-5),
  },
  {
    op: 'groupNorm + SiLU 64×64×320',
    inputs: [X, [320], [320]],
    floats: 2 * size(X),
    ours: ([x, g, b]) => groupNorm(x, g, b, 32, 1e-5, true),
    tfjs: ([x, g, b]) => referenceOps.groupNorm(x, g, b, 32, 1e-5, true),
  },
  {
    op: 'SiLU 64×64×320',
    inputs: [X],
    floats: 2 * size(X),
    ours: ([x]) => activation(x, 'silu'),
    tfjs: ([x]) => referenceOps.activation(x, 'silu'),
  },
  {
    op: 'GEGLU 4096×2560 -> 1280',
    inputs: [[1, 4096, 2560]],
    floats: 4096 * (2560 + 1280),
    ours: ([x]) => geglu(x),
    tfjs: ([x]) => referenceOps.geglu(x),
  },
  {
    op: 'layerNorm 4096×320',
    inputs: [[1, 4096, 320], [320], [320]],
    floats: 2 * 4096 * 320,
    ours: ([x, g, b]) => layerNorm(x, g, b, 1e-5),
    tfjs: ([x, g, b]) => referenceOps.layerNorm(x, g, b, 1e-5),
  },
  {
    op: 'add 64×64×320',
    inputs: [X, X],
    floats: 3 * size(X),
    ours: ([a, b]) => add(a, b),
    tfjs: ([a, b]) => referenceOps.add(a, b),
  },
  {
    op: 'add + temb broadcast 64×64×320',
    inputs: [X, [1, 1, 1, 320]],
    floats: 2 * size(X),
    ours: ([a, b]) => add(a, b),
    tfjs: ([a, b]) => referenceOps.add(a, b),
  },
  {
    op: 'upsample 2× 32×32×640',
    inputs: [[1, 32, 32, 640]],
    floats: 5 * 32 * 32 * 640,
    ours: ([x]) => upsampleNearest(x as tf.Tensor4D),
    tfjs: ([x]) => referenceOps.upsampleNearest(x as tf.Tensor4D),
  },
  {
    op: 'concat 64×64×(320+320)',
    inputs: [X, X],
    floats: 4 * size(X),
    ours: ([a, b]) => concatChannels(a as tf.Tensor4D, b as tf.Tensor4D),
    tfjs: ([a, b]) => referenceOps.concatChannels(a as tf.Tensor4D, b as tf.Tensor4D),
  },
];

/** Median ms and peak live bytes above the inputs of one op (one warm-up run first). */
async function measure(op: () => tf.Tensor, runs: number): Promise<{ ms: number; peakBytes: number }> {
  const e = engine();
  const run = async () => {
    const out = op();
    await e.sync();
    out.dispose();
  };
  await run();
  const base = e.memory().liveBytes;
  e.resetPeakMemory();
  const ms = await timeMs(run, runs, 0);
  return { ms, peakBytes: e.memory().peakLiveBytes - base };
}

export async function benchNormAct(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const mib = (bytes: number) => bytes / 2 ** 20;
  for (const c of CASES) {
    const inputs = c.inputs.map((s) => tf.randomUniform(s, -2, 2));
    const ours = await measure(() => c.ours(inputs), RUNS);
    const ref = await measure(() => c.tfjs(inputs), RUNS);
    const bytes = c.floats * 4;
    rows.push({
      op: c.op,
      ours_ms: ours.ms,
      tfjs_ms: ref.ms,
      speedup: ref.ms / ours.ms,
      ours_gbs: bytes / ours.ms / 1e6,
      tfjs_gbs: bytes / ref.ms / 1e6,
      ours_peak_mib: mib(ours.peakBytes),
      tfjs_peak_mib: mib(ref.peakBytes),
    });
    tf.dispose(inputs);
  }
  return rows;
}
