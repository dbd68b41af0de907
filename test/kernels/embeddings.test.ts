// Timestep embedding and table lookups against the float64 CPU references. The timestep embedding is
// also checked value by value against torch's float32 computation (emulated with Math.fround), where the
// arguments reach ~1000 radians. Tables past the lowered 256 KiB binding limit run in row ranges (f32,
// packed f16, and f16 with an odd row width whose ranges start mid-word); 8 workgroups per dimension.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { fromF16Bits, toF16Bits } from '../../src/engine/f16';
import { packF16 } from '../../src/engine/f16-tensor';
import { embedding, timestepEmbedding, timestepFrequencies } from '../../src/ops/embeddings';
import type { TimestepEmbeddingOptions, Weight } from '../../src/ops/types';
import { arr, embedding as embeddingRef, random, relError, timestepEmbedding as timestepRef } from '../reference/cpu';
import { startEngine } from '../engine-helpers';

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine({ testLimits: { maxStorageBufferBindingSize: 256 * 1024, maxComputeWorkgroupsPerDimension: 8 } });
});
afterAll(() => engine.dispose());

/** torch's float32 get_timestep_embedding: every op rounded to f32, sin/cos of the f32 argument. */
function torchF32(t: number[], dim: number, o: TimestepEmbeddingOptions): Float64Array {
  const half = Math.floor(dim / 2);
  const freq = timestepFrequencies(half, o.downscaleFreqShift, o.maxPeriod ?? 10000);
  const out = new Float64Array(t.length * dim);
  t.forEach((tn, n) => {
    for (let i = 0; i < half; i++) {
      const a = Math.fround((o.scale ?? 1) * Math.fround(Math.fround(tn) * freq[i]));
      const [first, second] = o.flipSinToCos ? [Math.cos(a), Math.sin(a)] : [Math.sin(a), Math.cos(a)];
      out[n * dim + i] = Math.fround(first);
      out[n * dim + half + i] = Math.fround(second);
    }
  });
  return out;
}

describe('timestepEmbedding', () => {
  const cases: { dim: number; o: TimestepEmbeddingOptions; t: number[]; int?: boolean }[] = [
    { dim: 320, o: { flipSinToCos: true, downscaleFreqShift: 0 }, t: [999, 981, 500, 1, 0] }, // SD 1.5 / 2.1
    { dim: 320, o: { flipSinToCos: true, downscaleFreqShift: 0 }, t: [999, 0], int: true },
    { dim: 256, o: { flipSinToCos: false, downscaleFreqShift: 1 }, t: [999.5, 37.25, 3] },
    { dim: 33, o: { flipSinToCos: true, downscaleFreqShift: 1, scale: 2, maxPeriod: 5000 }, t: [700, 12] }, // odd dim
  ];
  for (const c of cases) {
    it(`dim ${c.dim}, flip ${c.o.flipSinToCos}, shift ${c.o.downscaleFreqShift}${c.int ? ', int32 t' : ''}`, async () => {
      const t = c.int ? tf.tensor1d(c.t, 'int32') : tf.tensor1d(c.t);
      const before = tf.memory().numTensors;
      const y = timestepEmbedding(t, c.dim, c.o);
      expect(tf.memory().numTensors).toBe(before + 1);
      expect(y.shape).toEqual([c.t.length, c.dim]);
      const got = await engine.read(y);
      tf.dispose([t, y]);
      const want = timestepRef(c.t, c.dim, c.o.flipSinToCos, c.o.downscaleFreqShift, c.o.scale, c.o.maxPeriod);
      expect(relError(got, want.data)).toBeLessThan(1e-4);
      const f32 = torchF32(c.t, c.dim, c.o);
      let worst = 0;
      f32.forEach((v, i) => (worst = Math.max(worst, Math.abs(got[i] - v))));
      expect(worst).toBeLessThan(1e-6);
      if (c.dim % 2) for (let n = 0; n < c.t.length; n++) expect(got[n * c.dim + c.dim - 1]).toBe(0);
    });
  }
});

describe('embedding', () => {
  const cases: { v: number; d: number; half: boolean; what: string }[] = [
    { v: 77, d: 768, half: false, what: 'CLIP positions, one binding' },
    { v: 1000, d: 768, half: false, what: 'f32, 12 row ranges' },
    { v: 1000, d: 1024, half: true, what: 'packed f16, row ranges' },
    { v: 9000, d: 33, half: true, what: 'packed f16, odd width: ranges start mid-word' },
    { v: 50, d: 7, half: false, what: 'small odd width' },
  ];
  for (const c of cases) {
    it(`[${c.v}, ${c.d}] ${c.what}`, async () => {
      const table = random([c.v, c.d], c.v + c.d, 2);
      const exact = arr(table.shape, c.half ? fromF16Bits(toF16Bits(table.data)) : Float32Array.from(table.data));
      const ids = [
        [0, c.v - 1, 1, Math.floor(c.v / 2), c.v - 2, 3, 3],
        [c.v - 1, 5 % c.v, Math.floor(c.v / 3), Math.floor(c.v / 7), 0, c.v - 1, 2],
      ];
      const w: Weight = c.half ? packF16(Float32Array.from(table.data), table.shape) : tf.tensor(Float32Array.from(table.data), table.shape);
      const tid = tf.tensor2d(ids, [2, 7], 'int32');
      const before = tf.memory().numTensors;
      const y = embedding(tid, w);
      expect(tf.memory().numTensors).toBe(before + 1);
      expect(y.shape).toEqual([2, 7, c.d]);
      const got = await engine.read(y);
      expect(relError(got, embeddingRef(ids, exact).data)).toBe(0);
      tf.dispose([y, tid, w instanceof tf.Tensor ? w : w.packed]);
    });
  }

  it('gives zero rows for out-of-range ids, also when the table is split', async () => {
    const table = tf.tensor(Float32Array.from(random([1100, 64], 4).data), [1100, 64]);
    const ids = tf.tensor2d([[-1, 1100, 2]], [1, 3], 'int32');
    const y = embedding(ids, table);
    const got = await engine.read(y);
    expect(got.slice(0, 128).every((v) => v === 0)).toBe(true);
    expect(got.slice(128).some((v) => v !== 0)).toBe(true);
    tf.dispose([table, ids, y]);
  });
});
