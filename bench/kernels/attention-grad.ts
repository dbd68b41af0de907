// Flash attention backward on the SD 1.5 shapes of issue 3 (self-attention 4096 tokens × 8 heads × 40,
// cross-attention 4096 × 77 text tokens) against tfjs autodiff of the reference op, looped one head at a
// time (the all-heads score matrix, 8 × 4096² f32 = 512 MiB, is past the 128 MiB binding limit). Our
// backward is attentionGrad, what the gradient of `attention` runs (it recomputes the forward: only q, k, v
// are saved); tfjs's backward is its tf.grads of sum(attention(q, k, v) · r) minus its forward. Peak memory
// is the live bytes above the inputs: our backward, tfjs's forward + backward (its tape). One run of each
// on the self-attention shape (~2.5 min on lavapipe), medians of 3 on cross-attention.
import * as tf from '@tensorflow/tfjs';
import { engine } from '../../src/engine/engine';
import { attentionGrad } from '../../src/ops/attention-grad';
import { referenceOps } from '../../src/ops/reference';
import { timeMs, type BenchRow } from '../report';

interface Shape {
  name: string;
  lq: number;
  lk: number;
  heads: number;
  d: number;
}

const SHAPES: Shape[] = [
  { name: 'self-attention 4096 × 8 × 40', lq: 4096, lk: 4096, heads: 8, d: 40 },
  { name: 'cross-attention 4096 × 77 (8 × 40)', lq: 4096, lk: 77, heads: 8, d: 40 },
];

function tfjsPerHead(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, heads: number): tf.Tensor3D {
  const [b, lq, inner] = q.shape;
  const lk = k.shape[1];
  const d = inner / heads;
  const outs: tf.Tensor3D[] = [];
  for (let h = 0; h < heads; h++) {
    const head = (t: tf.Tensor3D, l: number) => tf.slice(t, [0, 0, h * d], [b, l, d]);
    outs.push(referenceOps.attention(head(q, lq), head(k, lk), head(v, lk), { heads: 1 }));
  }
  return tf.concat(outs, 2);
}

/** Median ms of `step` (which returns what it made) and peak live bytes above what was live before. */
async function measure(step: () => tf.Tensor[], runs: number): Promise<{ ms: number; peakBytes: number }> {
  const e = engine();
  await e.sync();
  const base = e.memory().liveBytes;
  e.resetPeakMemory();
  const ms = await timeMs(
    async () => {
      const out = step();
      await e.sync();
      tf.dispose(out);
    },
    runs,
    0,
  );
  return { ms, peakBytes: e.memory().peakLiveBytes - base };
}

interface Tensors {
  q: tf.Tensor3D;
  k: tf.Tensor3D;
  v: tf.Tensor3D;
  r: tf.Tensor3D;
}

function make(lq: number, lk: number, inner: number): Tensors {
  return {
    q: tf.randomUniform([1, lq, inner], -2, 2) as tf.Tensor3D,
    k: tf.randomUniform([1, lk, inner], -2, 2) as tf.Tensor3D,
    v: tf.randomUniform([1, lk, inner], -1, 1) as tf.Tensor3D,
    r: tf.randomUniform([1, lq, inner], -1, 1) as tf.Tensor3D,
  };
}

const steps = (t: Tensors, heads: number) => ({
  ours: () => attentionGrad(t.r, t.q, t.k, t.v, { heads }),
  tfjs: () =>
    tf.grads((q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) =>
      tf.sum(tf.mul(tfjsPerHead(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, heads), t.r)),
    )([t.q, t.k, t.v]),
  tfjsFwd: () => [tf.tidy(() => tfjsPerHead(t.q, t.k, t.v, heads))],
});

export async function benchAttentionGrad(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const mib = (bytes: number) => bytes / 2 ** 20;
  for (const s of SHAPES) {
    const inner = s.heads * s.d;
    // Warm-up on 256 query rows: the same kernel variants compile without a full-size run.
    const warm = make(256, Math.min(s.lk, 256), inner);
    for (const step of Object.values(steps(warm, s.heads))) tf.dispose(step());
    await engine().sync();
    tf.dispose(Object.values(warm));

    const t = make(s.lq, s.lk, inner);
    const runs = s.lk > 1000 ? 1 : 3;
    const st = steps(t, s.heads);
    const ours = await measure(st.ours, runs);
    const ref = await measure(st.tfjs, runs);
    const refFwd = await measure(st.tfjsFwd, runs);
    const refBwd = Math.max(ref.ms - refFwd.ms, 0);
    // Executed work of attentionGrad, in products of Lq × Lk × D: the recomputed forward (S, PV), the keys
    // pass (S, dP, dV, dK) and the queries pass (S, dP, dQ).
    const flop = 2 * s.heads * s.lq * s.lk * s.d * 9;
    rows.push({
      op: `attention backward ${s.name}`,
      ours_bwd_ms: ours.ms,
      tfjs_bwd_ms: refBwd,
      bwd_speedup: refBwd / ours.ms,
      tfjs_fwd_bwd_ms: ref.ms,
      ours_gflops: flop / ours.ms / 1e6,
      ours_peak_mib: mib(ours.peakBytes),
      tfjs_peak_mib: mib(ref.peakBytes),
      score_matrix_mib: mib(s.heads * s.lq * s.lk * 4),
    });
    tf.dispose(Object.values(t));
  }
  return rows;
}
