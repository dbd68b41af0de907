// Flash attention against the float64 CPU reference: SD 1.5/2.1 heads (8 × 40/80/160, 5 × 64), CLIP
// (causal, 12 × 64 and 16 × 64), the VAE mid-block (1 × 512), cross-attention over 77 text tokens,
// batch 2, Lq = 1, an odd head dim; the dispatch split (lowered workgroup limit, file-wide) and the
// chunked paths past the storage binding limit; lse; memory linear in the sequence length; no leaks.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import type { EngineLimits } from '../../src/engine/kernel-runtime';
import { attention, attentionTiles, attentionWithLse } from '../../src/ops/attention';
import { attention as attentionRef, random, relError, type Arr } from '../reference/cpu';
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

function inputs(c: Case, seed: number): [Arr, Arr, Arr] {
  // Spread 2 gives peaked softmaxes (scores up to ~|q||k|·scale), the case where online rescaling matters.
  return [random([c.b, c.lq, c.heads * c.d], seed, 2), random([c.b, c.lk, c.heads * c.d], seed + 1, 2), random([c.b, c.lk, c.heads * c.d], seed + 2)];
}

/** Natural log-sum-exp of the scaled (masked) scores, [B, Lq, heads]. */
function lseRef(q: Arr, k: Arr, c: Case): Float64Array {
  const inner = c.heads * c.d;
  const scale = c.scale ?? 1 / Math.sqrt(c.d);
  const out = new Float64Array(c.b * c.lq * c.heads);
  for (let n = 0; n < c.b; n++)
    for (let i = 0; i < c.lq; i++)
      for (let h = 0; h < c.heads; h++) {
        const s: number[] = [];
        for (let j = 0; j < (c.causal ? Math.min(i + 1, c.lk) : c.lk); j++) {
          let dot = 0;
          for (let x = 0; x < c.d; x++) dot += q.data[(n * c.lq + i) * inner + h * c.d + x] * k.data[(n * c.lk + j) * inner + h * c.d + x];
          s.push(dot * scale);
        }
        const m = Math.max(...s);
        out[(n * c.lq + i) * c.heads + h] = m + Math.log(s.reduce((a, x) => a + Math.exp(x - m), 0));
      }
  return out;
}

async function check(c: Case, seed = 1, withLse = false): Promise<number> {
  const [q, k, v] = inputs(c, seed);
  const want = attentionRef(q, k, v, c.heads, c.scale, c.causal ?? false);
  const [tq, tk, tv] = [gpu(q), gpu(k), gpu(v)];
  const before = tf.memory().numTensors;
  const [out, lse] = attentionWithLse(tq, tk, tv, { heads: c.heads, scale: c.scale, causal: c.causal });
  expect(out.shape).toEqual([c.b, c.lq, c.heads * c.d]);
  expect(tf.memory().numTensors).toBe(before + 2);
  const err = relError(await engine.read(out), want.data);
  expect(err).toBeLessThan(1e-4);
  if (withLse) expect(relError(await engine.read(lse), lseRef(q, k, c))).toBeLessThan(1e-5);
  tf.dispose([tq, tk, tv, out, lse]);
  return err;
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

describe('flash attention', () => {
  it('chooses tiles that split wide heads across threads and fit workgroup memory', () => {
    expect(attentionTiles(10, 4096, 32768)).toMatchObject({ tpr: 1, dpt: 10, rpt: 2, bq: 128, bk: 16 });
    expect(attentionTiles(128, 4096, 32768)).toMatchObject({ tpr: 16, dpt: 8 });
    for (const d4 of [10, 16, 20, 40, 128]) {
      for (const bytes of [16384, 32768]) {
        const t = attentionTiles(d4, 4096, bytes);
        expect(2 * t.bk * d4 * 16 + t.bk * t.bq * t.tpr * 4).toBeLessThanOrEqual(bytes);
        expect(t.tpr * t.dpt).toBeGreaterThanOrEqual(d4);
      }
    }
    expect(attentionTiles(10, 1, 32768)).toMatchObject({ bq: 1, rpt: 1 });
  });

  it('SD 1.5 self-attention, 8 heads × 40, batch 2 (several dispatches)', async () => {
    await check({ b: 2, lq: 64, lk: 64, heads: 8, d: 40 }, 1, true);
  });

  it('SD 1.5 cross-attention over 77 text tokens, heads 8 × 40 / 80 / 160, Lq 37', async () => {
    for (const d of [40, 80, 160]) await check({ b: 2, lq: 37, lk: 77, heads: 8, d }, d);
  });

  it('SD 2.1 heads of 64, self and cross', async () => {
    await check({ b: 2, lq: 64, lk: 64, heads: 5, d: 64 }, 3);
    await check({ b: 1, lq: 37, lk: 77, heads: 5, d: 64 }, 4);
  });

  it('CLIP causal self-attention, 12 × 64 and 16 × 64 over 77 tokens', async () => {
    await check({ b: 2, lq: 77, lk: 77, heads: 12, d: 64, causal: true }, 5, true);
    await check({ b: 1, lq: 77, lk: 77, heads: 16, d: 64, causal: true }, 6);
  });

  it('VAE mid-block, 1 head × 512, odd length', async () => {
    await check({ b: 2, lq: 37, lk: 37, heads: 1, d: 512 }, 7, true);
  });

  it('Lq = 1, an explicit scale, and a head dim that is no multiple of 4', async () => {
    await check({ b: 2, lq: 1, lk: 77, heads: 8, d: 40 }, 8);
    await check({ b: 1, lq: 20, lk: 33, heads: 8, d: 40, scale: 0.05 }, 9);
    await check({ b: 2, lq: 19, lk: 23, heads: 3, d: 6, causal: true }, 10, true);
  });

  it('chunks query rows past the binding limit (keys fit)', async () => {
    await withLimits({ maxStorageBufferBindingSize: 64 * 1024 }, async () => {
      await check({ b: 2, lq: 64, lk: 16, heads: 8, d: 40 }, 11, true);
    });
  });

  it('chunks keys past the binding limit and merges them by lse, causal (fully masked chunks)', async () => {
    await withLimits({ maxStorageBufferBindingSize: 30 * 768 * 4 }, async () => {
      await check({ b: 2, lq: 77, lk: 77, heads: 12, d: 64, causal: true }, 12, true);
    });
    await withLimits({ maxStorageBufferBindingSize: 16 * 512 * 4 }, async () => {
      await check({ b: 1, lq: 37, lk: 50, heads: 1, d: 512 }, 13, true);
    });
  });

  it('keeps memory linear in the sequence length: Lq = Lk = 1024 stays far below the score matrix', async () => {
    const c = { b: 1, lq: 1024, lk: 1024, heads: 8, d: 40 };
    const [q, k, v] = inputs(c, 14).map(gpu);
    for (const t of [q, k, v]) engine.bridge.bufferOf(t); // uploaded before the peak is reset
    await engine.sync();
    engine.resetPeakMemory();
    const base = engine.memory().liveBytes;
    const out = attention(q, k, v, { heads: 8 });
    await engine.sync(); // before the read back, whose staging buffer would count too
    const extra = engine.memory().peakLiveBytes - base;
    const outputBytes = out.size * 4;
    const scoreBytes = c.b * c.heads * c.lq * c.lk * 4;
    expect(extra).toBeGreaterThanOrEqual(outputBytes);
    expect(extra).toBeLessThan(1.1 * outputBytes + 65536); // the output, lse and uniforms: nothing per score
    expect(extra).toBeLessThan(scoreBytes / 20);
    // A few rows against the reference so this case is also checked for values.
    const [qa, ka, va] = inputs(c, 14);
    const rows = 3;
    const qSlice = { shape: [1, rows, 320], data: qa.data.slice(0, rows * 320) };
    const want = attentionRef(qSlice, ka, va, 8);
    expect(relError((await engine.read(out)).slice(0, rows * 320), want.data)).toBeLessThan(1e-4);
    tf.dispose([q, k, v, out]);
  });

  it('leaks no tensors, also on the chunked paths', async () => {
    const c = { b: 2, lq: 21, lk: 30, heads: 2, d: 8 };
    const [q, k, v] = inputs(c, 15).map(gpu);
    const before = tf.memory().numTensors;
    await withLimits({ maxStorageBufferBindingSize: 10 * 16 * 4 }, async () => {
      const out = attention(q, k, v, { heads: 2, causal: true });
      await engine.read(out);
      out.dispose();
    });
    const out = attention(q, k, v, { heads: 2 });
    await engine.read(out);
    out.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([q, k, v]);
  });
});
