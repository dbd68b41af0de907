// The tfjs reference ops against the float64 CPU references (f32 path: ≤ 1e-5 relative, except where
// noted), including f16 weights unpacked on the GPU.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { packF16 } from '../../src/engine/f16-tensor';
import { fromF16Bits, toF16Bits } from '../../src/engine/f16';
import { referenceOps as ops } from '../../src/ops/reference';
import { startEngine } from '../engine-helpers';
import * as ref from '../reference/cpu';

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine({ precision: 'f32' });
});
afterAll(() => engine.dispose());

const gpu = (a: ref.Arr) => tf.tensor(Float32Array.from(a.data), a.shape);
/** The same values rounded to f32, so the CPU reference sees exactly the GPU's inputs. */
const f32 = (a: ref.Arr) => ref.arr(a.shape, Float32Array.from(a.data));

async function expectClose(t: tf.Tensor, want: ref.Arr, tol = 1e-5): Promise<void> {
  expect(t.shape).toEqual(want.shape);
  const got = await engine.read(t);
  expect(ref.relError(got, want.data)).toBeLessThan(tol);
  t.dispose();
}

describe('tfjs reference ops', () => {
  it('conv2d: 3×3 s1 p1 with bias and residual, 3×3 s2 p1, 1×1', async () => {
    const x = f32(ref.random([2, 7, 9, 16], 1));
    const w = f32(ref.random([3, 3, 16, 24], 2, 0.2));
    const b = f32(ref.random([24], 3));
    const r = f32(ref.random([2, 7, 9, 24], 4));
    await expectClose(ops.conv2d(gpu(x) as tf.Tensor4D, gpu(w), gpu(b), { padding: 1, residual: gpu(r) as tf.Tensor4D }), ref.conv2d(x, w, b, 1, 1, r));
    await expectClose(ops.conv2d(gpu(x) as tf.Tensor4D, gpu(w), gpu(b), { stride: 2, padding: 1 }), ref.conv2d(x, w, b, 2, 1));
    const w1 = f32(ref.random([1, 1, 16, 8], 5));
    await expectClose(ops.conv2d(gpu(x) as tf.Tensor4D, gpu(w1), undefined), ref.conv2d(x, w1, undefined, 1, 0));
  });

  it('linear with each activation, and with f16 weights', async () => {
    const x = f32(ref.random([2, 5, 32], 6));
    const w = f32(ref.random([32, 48], 7, 0.3));
    const b = f32(ref.random([48], 8));
    for (const act of ['none', 'silu', 'gelu', 'gelu-tanh', 'quick-gelu'] as const) {
      await expectClose(ops.linear(gpu(x), gpu(w), gpu(b), act), ref.linear(x, w, b, act));
    }
    const wHalf = ref.arr(w.shape, fromF16Bits(toF16Bits(w.data)));
    const packed = packF16(Float32Array.from(w.data), w.shape);
    await expectClose(ops.linear(gpu(x), packed, gpu(b)), ref.linear(x, wHalf, b));
    packed.packed.dispose();
  });

  it('attention: multi-head self, cross and causal', async () => {
    const q = f32(ref.random([2, 12, 64], 9));
    const k = f32(ref.random([2, 7, 64], 10));
    const v = f32(ref.random([2, 7, 64], 11));
    const t3 = (a: ref.Arr) => gpu(a) as tf.Tensor3D;
    await expectClose(ops.attention(t3(q), t3(k), t3(v), { heads: 8 }), ref.attention(q, k, v, 8));
    await expectClose(ops.attention(t3(q), t3(q), t3(q), { heads: 2, causal: true }), ref.attention(q, q, q, 2, undefined, true));
  });

  it('group norm (± SiLU) and layer norm', async () => {
    const x = f32(ref.random([2, 4, 5, 64], 12, 3));
    const g = f32(ref.random([64], 13));
    const b = f32(ref.random([64], 14));
    await expectClose(ops.groupNorm(gpu(x), gpu(g), gpu(b), 32, 1e-5), ref.groupNorm(x, g, b, 32, 1e-5));
    await expectClose(ops.groupNorm(gpu(x), gpu(g), gpu(b), 32, 1e-6, true), ref.groupNorm(x, g, b, 32, 1e-6, true));
    await expectClose(ops.layerNorm(gpu(x), gpu(g), gpu(b), 1e-5), ref.layerNorm(x, g, b, 1e-5));
  });

  it('activations and GEGLU', async () => {
    const x = f32(ref.random([3, 40], 15, 4));
    for (const act of ['silu', 'gelu', 'gelu-tanh', 'quick-gelu'] as const) {
      await expectClose(ops.activation(gpu(x), act), ref.map(x, (v) => ref.activation(v, act)));
    }
    await expectClose(ops.geglu(gpu(x)), ref.geglu(x));
  });

  it('nearest upsampling (2× and to an explicit size) and channel concat', async () => {
    const x = f32(ref.random([2, 3, 5, 4], 16));
    await expectClose(ops.upsampleNearest(gpu(x) as tf.Tensor4D), ref.upsampleNearest(x, 6, 10));
    await expectClose(ops.upsampleNearest(gpu(x) as tf.Tensor4D, [7, 11]), ref.upsampleNearest(x, 7, 11));
    const y = f32(ref.random([2, 3, 5, 6], 17));
    await expectClose(ops.concatChannels(gpu(x) as tf.Tensor4D, gpu(y) as tf.Tensor4D), ref.concatChannels(x, y));
  });

  it('timestep embedding (both orders, odd dim) and token embedding', async () => {
    const t = [0, 1, 500, 981];
    // f32 sin/cos of arguments up to ~1000 carry ~1e-4 absolute error on any device, torch's included.
    await expectClose(ops.timestepEmbedding(tf.tensor1d(t), 32, { flipSinToCos: true, downscaleFreqShift: 0 }), ref.timestepEmbedding(t, 32, true, 0), 2e-4);
    await expectClose(ops.timestepEmbedding(tf.tensor1d(t), 33, { flipSinToCos: false, downscaleFreqShift: 1 }), ref.timestepEmbedding(t, 33, false, 1), 2e-4);
    const table = f32(ref.random([50, 8], 18));
    const ids = [[0, 49, 3], [7, 7, 1]];
    await expectClose(ops.embedding(tf.tensor2d(ids, [2, 3], 'int32'), gpu(table)), ref.embedding(ids, table));
  });

  it('leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const x = tf.ones([1, 4, 4, 32]) as tf.Tensor4D;
    const w = tf.ones([3, 3, 32, 32]);
    const [g, b] = [tf.ones([32]), tf.zeros([32])];
    tf.dispose([ops.conv2d(x, w, undefined, { padding: 1 }), ops.groupNorm(x, g, b, 32, 1e-5, true)]);
    tf.dispose([x, w, g, b]);
    await engine.sync();
    expect(tf.memory().numTensors).toBe(before);
  });
});
