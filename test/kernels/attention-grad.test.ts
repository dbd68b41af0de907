// Flash attention backward against the float64 CPU reference gradient (itself checked by central
// differences), through tf.grads of sum(attention(q, k, v) · r): SD 1.5 self- and cross-attention (8 × 40,
// 8 × 80), CLIP causal (12 × 64), the VAE mid-block (1 × 512), batch 2, Lq = 1, an odd head dim; tfjs
// autodiff of the reference op agrees; the dispatch split (lowered workgroup limit, file-wide) and the
// chunked paths past the storage binding limit; memory linear in the sequence length; no leaks.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import type { EngineLimits } from '../../src/engine/kernel-runtime';
import { attention as attentionForward } from '../../src/ops/attention';
import { attention, attentionGrad, attentionGradTiles } from '../../src/ops/attention-grad';
import { referenceOps } from '../../src/ops/reference';
import { attention as attentionRef, attentionBackward, centralDifferences, random, relError, type Arr } from '../reference/cpu';
import { startEngine } from '../engine-helpers';

let engine: Engine;
// 5 workgroups per dimension: most cases fold their grid into 2D, larger ones need several dispatches.
beforeAll(async () => {
  engine = await startEngine({ testLimits: { maxComputeWorkgroupsPerDimension: 5 } });
});
afterAll(() => engine.dispose());

const gpu = (a: Arr) => tf.tensor3d(Float32Array.from(a.data), a.shape as [number, number, number]);

interface Case {
  b: number;
  lq: number;
  lk: number;
  heads: number;
  d: number;
  causal?: boolean;
  scale?: number;
}

/** q, k, v and the output gradient r (spread 2 on q and k: peaked softmaxes). */
function inputs(c: Case, seed: number): [Arr, Arr, Arr, Arr] {
  const inner = c.heads * c.d;
  return [random([c.b, c.lq, inner], seed, 2), random([c.b, c.lk, inner], seed + 1, 2), random([c.b, c.lk, inner], seed + 2), random([c.b, c.lq, inner], seed + 3)];
}

/** dq, dk, dv of sum(attention(q, k, v) · r) through tf.grads, with their errors against the reference. */
async function check(c: Case, seed = 1): Promise<number[]> {
  const [q, k, v, r] = inputs(c, seed);
  const want = attentionBackward(q, k, v, r, c.heads, c.scale, c.causal ?? false);
  const [tq, tk, tv, tr] = [q, k, v, r].map(gpu);
  const before = tf.memory().numTensors;
  const opts = { heads: c.heads, scale: c.scale, causal: c.causal };
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
    tf.sum(tf.mul(attention(a as tf.Tensor3D, b as tf.Tensor3D, d as tf.Tensor3D, opts), tr)),
  )([tq, tk, tv]);
  expect(tf.memory().numTensors).toBe(before + 3);
  const errs: number[] = [];
  for (const [g, w] of [[grads[0], want.dq], [grads[1], want.dk], [grads[2], want.dv]] as const) {
    expect(g.shape).toEqual(w.shape);
    errs.push(relError(await engine.read(g), w.data));
  }
  expect(Math.max(...errs)).toBeLessThan(1e-4);
  tf.dispose([tq, tk, tv, tr, ...grads]);
  return errs;
}

/** Lowers the engine's effective limits for one test (the runtime reads the same object). */
async function withLimits(limits: Partial<EngineLimits>, fn: () => Promise<void>): Promise<void> {
  const saved = { ...engine.limits };
  Object.assign(engine.limits, limits);
  try {
    await fn();
  } finally {
    Object.assign(engine.limits, saved);
  }
}

describe('flash attention backward', () => {
  it('the CPU reference gradient matches central differences (self, cross, causal)', () => {
    for (const c of [
      { b: 1, lq: 3, lk: 4, heads: 2, d: 3 },
      { b: 2, lq: 4, lk: 4, heads: 2, d: 2, causal: true, scale: 0.7 },
    ] as Case[]) {
      const [q, k, v, r] = inputs(c, 30);
      const loss = (qq: Arr, kk: Arr, vv: Arr) => attentionRef(qq, kk, vv, c.heads, c.scale, c.causal).data.reduce((a, x, i) => a + x * r.data[i], 0);
      const want = attentionBackward(q, k, v, r, c.heads, c.scale, c.causal);
      expect(relError(want.dq.data, centralDifferences((x) => loss(x, k, v), q).data)).toBeLessThan(1e-7);
      expect(relError(want.dk.data, centralDifferences((x) => loss(q, x, v), k).data)).toBeLessThan(1e-7);
      expect(relError(want.dv.data, centralDifferences((x) => loss(q, k, x), v).data)).toBeLessThan(1e-7);
    }
  });

  it('chooses tiles that split wide heads across threads and fit workgroup memory', () => {
    expect(attentionGradTiles(10, 4096, 32768)).toMatchObject({ tpr: 2, dpt: 5, rpt: 2, br: 64, bt: 8 });
    expect(attentionGradTiles(128, 4096, 32768)).toMatchObject({ tpr: 32, dpt: 4, br: 8 });
    for (const d4 of [10, 16, 20, 40, 128]) {
      for (const bytes of [16384, 32768]) {
        const t = attentionGradTiles(d4, 4096, bytes);
        expect(2 * t.bt * d4 * 16 + t.bt * 8 + 2 * t.bt * t.br * t.tpr * 4).toBeLessThanOrEqual(bytes);
        expect(t.tpr * t.dpt).toBeGreaterThanOrEqual(d4);
      }
    }
    expect(attentionGradTiles(10, 1, 32768)).toMatchObject({ br: 1, rpt: 1 });
  });

  it('SD 1.5 self-attention, 8 heads × 40, batch 2', async () => {
    await check({ b: 2, lq: 64, lk: 64, heads: 8, d: 40 }, 1);
  });

  it('SD 1.5 cross-attention over 77 text tokens, heads 8 × 40 and 8 × 80, Lq 37', async () => {
    for (const d of [40, 80]) await check({ b: 2, lq: 37, lk: 77, heads: 8, d }, d);
  });

  it('CLIP causal self-attention 12 × 64 over 77 tokens (several dispatches)', async () => {
    await check({ b: 2, lq: 77, lk: 77, heads: 12, d: 64, causal: true }, 5);
  });

  it('VAE mid-block, 1 head × 512, odd length', async () => {
    await check({ b: 2, lq: 37, lk: 37, heads: 1, d: 512 }, 7);
  });

  it('Lq = 1, an explicit scale, and a causal head dim that is no multiple of 4', async () => {
    await check({ b: 2, lq: 1, lk: 77, heads: 8, d: 40 }, 8);
    await check({ b: 1, lq: 40, lk: 33, heads: 8, d: 40, scale: 0.05 }, 9);
    await check({ b: 2, lq: 19, lk: 23, heads: 3, d: 6, causal: true }, 10);
  });

  it('agrees with tfjs autodiff of the reference op, and runs the plain forward outside a tape', async () => {
    const c = { b: 2, lq: 24, lk: 30, heads: 4, d: 6, causal: true };
    const [q, k, v, r] = inputs(c, 20).map(gpu);
    const opts = { heads: c.heads, causal: true };
    const loss = (op: typeof attention) => (a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
      tf.sum(tf.mul(op(a as tf.Tensor3D, b as tf.Tensor3D, d as tf.Tensor3D, opts), r));
    const ours = tf.grads(loss(attention))([q, k, v]);
    const ref = tf.grads(loss(referenceOps.attention))([q, k, v]);
    for (let i = 0; i < 3; i++) expect(relError(await engine.read(ours[i]), await engine.read(ref[i]))).toBeLessThan(1e-4);
    const plain = attention(q, k, v, opts);
    const direct = attentionForward(q, k, v, opts);
    expect(relError(await engine.read(plain), await engine.read(direct))).toBe(0);
    tf.dispose([q, k, v, r, ...ours, ...ref, plain, direct]);
  });

  it('chunks query rows past the binding limit (keys fit)', async () => {
    await withLimits({ maxStorageBufferBindingSize: 40 * 320 * 4 }, async () => {
      await check({ b: 2, lq: 77, lk: 40, heads: 8, d: 40 }, 11);
    });
  });

  it('chunks queries and keys past the binding limit, causal (fully masked chunk pairs)', async () => {
    await withLimits({ maxStorageBufferBindingSize: 40 * 768 * 4 }, async () => {
      await check({ b: 2, lq: 77, lk: 77, heads: 12, d: 64, causal: true }, 12);
    });
    await withLimits({ maxStorageBufferBindingSize: 16 * 512 * 4 }, async () => {
      await check({ b: 1, lq: 37, lk: 48, heads: 1, d: 512 }, 13);
    });
  });

  it('keeps memory linear in the sequence length: Lq = Lk = 1024 stays far below the score matrix', async () => {
    const c = { b: 1, lq: 1024, lk: 1024, heads: 8, d: 40 };
    const arrs = inputs(c, 14);
    const [q, k, v, r] = arrs.map(gpu);
    for (const t of [q, k, v, r]) engine.bridge.bufferOf(t); // uploaded before the peak is reset
    await engine.sync();
    engine.resetPeakMemory();
    const base = engine.memory().liveBytes;
    const grads = attentionGrad(r as tf.Tensor3D, q, k, v, { heads: 8 });
    await engine.sync(); // before the read back, whose staging buffer would count too
    const extra = engine.memory().peakLiveBytes - base;
    const gradBytes = 3 * q.size * 4;
    const scoreBytes = c.b * c.heads * c.lq * c.lk * 4;
    expect(extra).toBeGreaterThanOrEqual(gradBytes);
    // The gradients, the recomputed output, lse and stats: nothing per score.
    expect(extra).toBeLessThan(1.4 * gradBytes + 65536);
    expect(extra).toBeLessThan(scoreBytes / 5);
    // dQ rows depend only on their own query rows: a few rows against the reference.
    const rows = 3;
    const head = (a: Arr) => ({ shape: [1, rows, 320], data: a.data.slice(0, rows * 320) });
    const want = attentionBackward(head(arrs[0]), arrs[1], arrs[2], head(arrs[3]), 8);
    expect(relError((await engine.read(grads[0])).slice(0, rows * 320), want.dq.data)).toBeLessThan(1e-4);
    tf.dispose([q, k, v, r, ...grads]);
  });

  it('leaks no tensors, also on the chunked and padded paths', async () => {
    const c = { b: 2, lq: 40, lk: 40, heads: 3, d: 6 };
    const [q, k, v, r] = inputs(c, 15).map(gpu);
    const before = tf.memory().numTensors;
    const run = async () => {
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
        tf.sum(tf.mul(attention(a as tf.Tensor3D, b as tf.Tensor3D, d as tf.Tensor3D, { heads: 3, causal: true }), r)),
      )([q, k, v]);
      for (const g of grads) await engine.read(g);
      tf.dispose(grads);
    };
    await withLimits({ maxStorageBufferBindingSize: 20 * 24 * 4 }, run);
    await run();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([q, k, v, r]);
  });
});
