// Flash attention vs the tfjs reference (looped one head at a time: the all-heads score matrix of
// 8 × 4096² f32 is 512 MiB, past the 128 MiB binding limit) on the SD 1.5 shapes of issue 3.
import * as tf from '@tensorflow/tfjs';
import { engine } from '../../src/engine/engine';
import { attention } from '../../src/ops/attention';
import { referenceOps } from '../../src/ops/reference';
import { timeMs, type BenchRow } from '../report';

interface Shape {
  name: string;
  b: number;
  lq: number;
  lk: number;
  heads: number;
  d: number;
}

const SHAPES: Shape[] = [
  { name: 'self-attention 4096 × 8 × 40', b: 1, lq: 4096, lk: 4096, heads: 8, d: 40 },
  { name: 'cross-attention 4096 × 77 (8 × 40)', b: 1, lq: 4096, lk: 77, heads: 8, d: 40 },
];

function tfjsPerHead(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, heads: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, lq, inner] = q.shape;
    const lk = k.shape[1];
    const d = inner / heads;
    const outs: tf.Tensor3D[] = [];
    for (let h = 0; h < heads; h++) {
      const head = (t: tf.Tensor3D, l: number) => tf.slice(t, [0, 0, h * d], [b, l, d]);
      outs.push(referenceOps.attention(head(q, lq), head(k, lk), head(v, lk), { heads: 1 }));
    }
    return tf.concat(outs, 2);
  });
}

/** Median ms and peak live bytes above the inputs of one op. */
async function measure(op: () => tf.Tensor, runs: number): Promise<{ ms: number; peakBytes: number }> {
  const e = engine();
  const run = async () => {
    const out = op();
    await e.sync();
    out.dispose();
  };
  await run();
  await e.sync();
  const base = e.memory().liveBytes;
  e.resetPeakMemory();
  const ms = await timeMs(run, runs, 0);
  return { ms, peakBytes: e.memory().peakLiveBytes - base };
}

export async function benchAttention(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const mib = (bytes: number) => bytes / 2 ** 20;
  for (const s of SHAPES) {
    const inner = s.heads * s.d;
    const [q, k, v] = [
      tf.randomUniform([s.b, s.lq, inner], -2, 2),
      tf.randomUniform([s.b, s.lk, inner], -2, 2),
      tf.randomUniform([s.b, s.lk, inner], -1, 1),
    ] as tf.Tensor3D[];
    const runs = s.lk > 1000 ? 1 : 2;
    const ours = await measure(() => attention(q, k, v, { heads: s.heads }), runs);
    const ref = await measure(() => tfjsPerHead(q, k, v, s.heads), runs);
    const flop = 4 * s.b * s.heads * s.lq * s.lk * s.d;
    rows.push({
      op: `attention ${s.name}`,
      ours_ms: ours.ms,
      tfjs_ms: ref.ms,
      speedup: ref.ms / ours.ms,
      ours_gflops: flop / ours.ms / 1e6,
      tfjs_gflops: flop / ref.ms / 1e6,
      ours_peak_mib: mib(ours.peakBytes),
      tfjs_peak_mib: mib(ref.peakBytes),
      score_matrix_mib: mib(s.b * s.heads * s.lq * s.lk * 4),
    });
    tf.dispose([q, k, v]);
  }
  return rows;
}
