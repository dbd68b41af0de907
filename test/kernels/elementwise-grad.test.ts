// Gradients of the activations, GEGLU, add (with broadcasting), nearest upsampling and channel concat
// against float64 CPU references, through tf.grads of sum(y · r) (so dy = r); and the embeddings, which
// have none by design, inside a tape. Limits lowered file-wide: 64 KiB bindings (larger tensors run in
// row chunks) and 8 workgroups per dimension (grids fold to 2D).
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { activation, add, geglu } from '../../src/ops/activations';
import { embedding, timestepEmbedding } from '../../src/ops/embeddings';
import { concatChannels, upsampleNearest } from '../../src/ops/resample';
import type { Activation } from '../../src/ops/types';
import {
  activation as activationRef,
  activationGrad,
  arr,
  centralDifferences,
  embedding as embeddingRef,
  geglu as gegluRef,
  gegluGrad,
  map,
  random,
  relError,
  sumToShape,
  timestepEmbedding as timestepRef,
  upsampleNearest as upsampleRef,
  upsampleNearestGrad,
  type Arr,
} from '../reference/cpu';
import { startEngine } from '../engine-helpers';

const LIMIT = 64 * 1024;
let engine: Engine;
beforeAll(async () => {
  engine = await startEngine({ precision: 'f32', testLimits: { maxStorageBufferBindingSize: LIMIT, maxComputeWorkgroupsPerDimension: 8 } });
});
afterAll(() => engine.dispose());

const f32 = (a: Arr): Arr => arr(a.shape, Float32Array.from(a.data));
const gpu = (a: Arr) => tf.tensor(Float32Array.from(a.data), a.shape);
const dot = (y: Arr, r: Arr) => y.data.reduce((s, v, i) => s + v * r.data[i], 0);

/** Gradients of sum(op(inputs) · r) w.r.t. every input; checks shapes and that nothing else stays alive. */
async function grads(op: (...t: tf.Tensor[]) => tf.Tensor, inputs: Arr[], r: Arr): Promise<Float32Array[]> {
  const start = tf.memory().numTensors;
  const ts = inputs.map(gpu);
  const tr = gpu(r);
  const before = tf.memory().numTensors;
  const result = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(op(...args), tr)))(ts);
  expect(tf.memory().numTensors).toBe(before + result.length);
  result.forEach((g, i) => expect(g.shape).toEqual(inputs[i].shape));
  const out: Float32Array[] = [];
  for (const g of result) out.push((await engine.read(g)) as Float32Array);
  tf.dispose([...result, ...ts, tr]);
  expect(tf.memory().numTensors).toBe(start);
  return out;
}

describe('reference gradients', () => {
  it('match central differences of the forward references', () => {
    const x = random([3, 8], 1, 4);
    const r = random([3, 4], 2);
    const want = centralDifferences((t) => dot(gegluRef(t), r), x);
    expect(relError(gegluGrad(x, r).data, want.data)).toBeLessThan(1e-7);
    const u = random([1, 3, 2, 2], 3);
    const ru = random([1, 5, 7, 2], 4);
    expect(relError(upsampleNearestGrad(ru, 3, 2).data, centralDifferences((t) => dot(upsampleRef(t, 5, 7), ru), u).data)).toBeLessThan(1e-7);
    for (const kind of ['silu', 'gelu', 'gelu-tanh', 'quick-gelu']) {
      for (const v of [-6, -1.3, -0.2, 0, 0.7, 2.5]) {
        const h = 1e-6;
        const fd = (activationRef(v + h, kind) - activationRef(v - h, kind)) / (2 * h);
        expect(Math.abs(activationGrad(v, kind) - fd)).toBeLessThan(1e-8);
      }
    }
  });
});

describe('activation gradient', () => {
  const kinds: Activation[] = ['silu', 'gelu', 'gelu-tanh', 'quick-gelu', 'none'];
  for (const kind of kinds) {
    it(`${kind}: vec4 [2,8,8,320] (chunked) and scalar [3,7,5]`, async () => {
      for (const shape of [[2, 8, 8, 320], [3, 7, 5]]) {
        const x = f32(random(shape, 3, 6));
        const r = f32(random(shape, 4));
        const [dx] = await grads((t) => activation(t, kind), [x], r);
        expect(relError(dx, map(x, (v, i) => r.data[i] * activationGrad(v, kind)).data)).toBeLessThan(1e-5);
      }
    });
  }

  it('stays finite and exact in the tails (|x| up to 1e4)', async () => {
    const values = [-1e4, -300, -100, -88, -30, -9, -5, -3, -1.5, -1e-3, 0, 1e-3, 1.5, 3, 5, 9, 30, 88, 100, 300, 1e4];
    const x = f32(arr([values.length], values));
    const ones = arr([values.length], values.map(() => 1));
    for (const kind of ['silu', 'gelu', 'gelu-tanh', 'quick-gelu'] as Activation[]) {
      const [dx] = await grads((t) => activation(t, kind), [x], ones);
      values.forEach((v, i) => {
        expect(Number.isFinite(dx[i])).toBe(true);
        expect(Math.abs(dx[i] - activationGrad(v, kind))).toBeLessThanOrEqual(1e-6);
      });
    }
  });
});

describe('geglu gradient', () => {
  for (const shape of [[2, 16, 2560], [1, 77, 2560], [2, 3, 4, 12], [2, 5, 6]]) {
    it(`[${shape}]: d hidden and d gate`, async () => {
      const x = f32(random(shape, 7, 4));
      const r = f32(random([...shape.slice(0, -1), shape[shape.length - 1] / 2], 8));
      const [dx] = await grads((t) => geglu(t), [x], r);
      expect(relError(dx, gegluGrad(x, r).data)).toBeLessThan(1e-5);
    });
  }
});

describe('add gradient', () => {
  const cases: [number[], number[]][] = [
    [[2, 8, 8, 320], [2, 8, 8, 320]], // same shape, chunked
    [[2, 8, 8, 320], [2, 1, 1, 320]], // temb broadcast over pixels, chunked
    [[2, 16, 16, 320], [2, 1, 1, 320]], // 256 pixels: runs of rows, then a second pass
    [[2, 4, 4, 320], [320]], // bias
    [[1, 1, 320], [2, 77, 320]], // a broadcast, b full
    [[3, 5, 7], [3, 1, 7]], // scalar path
    [[5, 1], [1, 6]], // both broadcast (a summed along its innermost axis)
    [[2, 3, 4, 5], [2, 1, 4, 1]], // four collapsed axes, two summed
    [[300, 7], [7]], // long scalar runs
    [[4, 100], [1]], // everything summed
  ];
  for (const [sa, sb] of cases) {
    it(`[${sa}] + [${sb}]`, async () => {
      const a = f32(random(sa, 1));
      const b = f32(random(sb, 2));
      const rank = Math.max(sa.length, sb.length);
      const pad = (s: number[]) => [...Array(rank - s.length).fill(1), ...s];
      const out = pad(sa).map((d, i) => Math.max(d, pad(sb)[i]));
      const r = f32(random(out, 3));
      const [da, db] = await grads((x, y) => add(x, y), [a, b], r);
      expect(relError(da, sumToShape(r, sa).data)).toBeLessThan(1e-6);
      expect(relError(db, sumToShape(r, sb).data)).toBeLessThan(1e-6);
    });
  }

  it('sums a broadcast operand bit-identically on every run', async () => {
    const a = f32(random([2, 16, 16, 320], 5));
    const b = f32(random([2, 1, 1, 320], 6));
    const r = f32(random([2, 16, 16, 320], 7));
    const first = await grads((x, y) => add(x, y), [a, b], r);
    const second = await grads((x, y) => add(x, y), [a, b], r);
    expect(second[1]).toEqual(first[1]);
  });
});

describe('upsampleNearest gradient', () => {
  const cases: [number[], [number, number] | undefined][] = [
    [[2, 8, 8, 320], undefined], // 2x, dy 655 KiB: chunked
    [[2, 4, 4, 1280], undefined],
    [[1, 1, 1, 640], undefined], // 1×1 spatial
    [[1, 4, 4, 64], [7, 7]], // explicit sizes
    [[2, 7, 5, 12], [13, 9]],
    [[1, 3, 3, 6], [5, 7]], // C % 4 != 0
    [[1, 8, 8, 4], [3, 5]], // nearest downsampling: some source pixels get nothing
    [[1, 12, 12, 640], [25, 23]], // chunked, explicit size
  ];
  for (const [shape, size] of cases) {
    it(`[${shape}] -> ${size ? `[${size}]` : '2x'}`, async () => {
      const [b, h, w, c] = shape;
      const [oh, ow] = size ?? [2 * h, 2 * w];
      const x = f32(random(shape, 5));
      const r = f32(random([b, oh, ow, c], 6));
      const [dx] = await grads((t) => upsampleNearest(t as tf.Tensor4D, size), [x], r);
      expect(relError(dx, upsampleNearestGrad(r, h, w).data)).toBeLessThan(1e-6);
    });
  }
});

describe('concatChannels gradient', () => {
  const cases: [number[], number][] = [
    [[2, 8, 8, 640], 320], // chunked
    [[1, 4, 4, 1280], 1280],
    [[2, 1, 1, 1280], 640],
    [[2, 3, 3, 6], 3], // scalar path
    [[1, 2, 2, 8], 3], // one side a multiple of 4, the other not
  ];
  for (const [shape, cb] of cases) {
    it(`[${shape}] + ${cb} channels: dy split`, async () => {
      const a = f32(random(shape, 8));
      const b = f32(random([...shape.slice(0, 3), cb], 9));
      const ca = shape[3];
      const r = f32(random([...shape.slice(0, 3), ca + cb], 10));
      const [da, db] = await grads((x, y) => concatChannels(x as tf.Tensor4D, y as tf.Tensor4D), [a, b], r);
      const pixels = a.data.length / ca;
      const wantA = arr(a.shape);
      const wantB = arr(b.shape);
      for (let p = 0; p < pixels; p++) {
        for (let i = 0; i < ca; i++) wantA.data[p * ca + i] = r.data[p * (ca + cb) + i];
        for (let i = 0; i < cb; i++) wantB.data[p * cb + i] = r.data[p * (ca + cb) + ca + i];
      }
      expect(relError(da, wantA.data)).toBe(0);
      expect(relError(db, wantB.data)).toBe(0);
    });
  }
});

describe('embeddings inside a tape', () => {
  it('leave int ids and timesteps without gradient while downstream weights train', async () => {
    const start = tf.memory().numTensors;
    const table = random([50, 16], 1);
    const tableT = gpu(table);
    const ids = tf.tensor2d([[0, 7, 49], [3, 3, 12]], [2, 3], 'int32');
    const steps = [999, 10];
    for (const t of [tf.tensor1d(steps, 'int32'), tf.tensor1d(steps)]) {
      const w = tf.tidy(() => tf.variable(tf.ones([2, 3, 16])));
      const w2 = tf.tidy(() => tf.variable(tf.ones([2, 32])));
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(
        () =>
          tf.add(
            tf.sum(tf.mul(embedding(ids, tableT), w)),
            tf.sum(tf.mul(timestepEmbedding(t as tf.Tensor1D, 32, { flipSinToCos: true, downscaleFreqShift: 0 }), w2)),
          ) as tf.Scalar,
        [w, w2],
      );
      expect(tf.memory().numTensors).toBe(before + 3);
      // d/dw sum(e · w) = e: the lookups themselves.
      const ref = embeddingRef([[0, 7, 49], [3, 3, 12]], f32(table));
      expect(relError(await engine.read(grads[w.name]), ref.data)).toBe(0);
      expect(relError(await engine.read(grads[w2.name]), timestepRef(steps, 32, true, 0).data)).toBeLessThan(1e-4);
      tf.dispose([value, grads[w.name], grads[w2.name], w, w2, t]);
    }
    tf.dispose([tableT, ids]);
    expect(tf.memory().numTensors).toBe(start);
  });

  it('refuses a trainable table under a tape (it would silently get no gradient), not outside one', async () => {
    const start = tf.memory().numTensors;
    const table = tf.tidy(() => tf.variable(tf.ones([10, 4])));
    const ids = tf.tensor2d([[1, 2]], [1, 2], 'int32');
    const r = tf.ones([1, 2, 4]);
    expect(() => tf.grads((t: tf.Tensor) => tf.sum(tf.mul(embedding(ids, table), t)))([r])).toThrow(/frozen/);
    const y = embedding(ids, table);
    expect(Array.from(await engine.read(y))).toEqual(Array(8).fill(1));
    tf.dispose([y, table, ids, r]);
    expect(tf.memory().numTensors).toBe(start);
  });
});
