// linear and matmul kernels (tiled GEMM) against the float64 CPU references: SD widths, awkward sizes,
// batched rows, every fused activation, f16 weights, transposes and batch broadcasting, and the row
// chunking and dispatch splitting paths under lowered limits.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import type { EngineLimits } from '../../src/engine/kernel-runtime';
import { f16BitsToF32, toF16Bits } from '../../src/engine/f16';
import { packF16 } from '../../src/engine/f16-tensor';
import { linear, matmul } from '../../src/ops/linear';
import type { Activation, Weight } from '../../src/ops/types';
import { startEngine } from '../engine-helpers';
import * as ref from '../reference/cpu';

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine();
});
afterAll(() => engine.dispose());

const tensor = (a: ref.Arr) => tf.tensor(Float32Array.from(a.data), a.shape);
const roundF16 = (a: ref.Arr) => ref.map(a, (v) => f16BitsToF32(toF16Bits([v])[0]));

interface Case {
  x: number[];
  out: number;
  act?: Activation;
  bias?: boolean;
  f16?: boolean;
}

async function checkLinear(c: Case, seed: number): Promise<{ err: number; errRounded: number }> {
  const inDim = c.x[c.x.length - 1];
  const x = ref.random(c.x, seed, 2);
  const w = ref.random([inDim, c.out], seed + 1, 2 / Math.sqrt(inDim));
  const b = c.bias === false ? undefined : ref.random([c.out], seed + 2, 0.5);
  const pack = (a: ref.Arr): Weight => (c.f16 ? packF16(Float32Array.from(a.data), a.shape) : tensor(a));
  const [xt, wt, bt] = [tensor(x), pack(w), b && pack(b)];
  const before = tf.memory().numTensors;
  const y = linear(xt, wt, bt, c.act);
  expect(tf.memory().numTensors).toBe(before + 1);
  expect(y.shape).toEqual([...c.x.slice(0, -1), c.out]);
  const got = await engine.read(y);
  const act = c.act ?? 'none';
  const want = ref.linear(x, w, b, act);
  const wantRounded = c.f16 ? ref.linear(x, roundF16(w), b && roundF16(b), act) : want;
  const weights = [wt, bt].flatMap((t) => (t === undefined ? [] : [t instanceof tf.Tensor ? t : t.packed]));
  tf.dispose([y, xt, ...weights]);
  return { err: ref.relError(got, want.data), errRounded: ref.relError(got, wantRounded.data) };
}

async function checkMatmul(aShape: number[], bShape: number[], transA: boolean, transB: boolean, seed: number): Promise<number> {
  const a = ref.random(aShape, seed);
  const b = ref.random(bShape, seed + 1);
  const [at, bt] = [tensor(a), tensor(b)];
  const before = tf.memory().numTensors;
  const y = matmul(at, bt, transA, transB);
  expect(tf.memory().numTensors).toBe(before + 1);
  const want = ref.matmul(a, b, transA, transB);
  expect(y.shape).toEqual(want.shape);
  const got = await engine.read(y);
  tf.dispose([y, at, bt]);
  return ref.relError(got, want.data);
}

async function withLimits<T>(limits: Partial<EngineLimits>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...engine.limits };
  Object.assign(engine.limits, limits);
  try {
    return await fn();
  } finally {
    Object.assign(engine.limits, saved);
  }
}

describe('linear f32', () => {
  const cases: [string, Case][] = [
    ['[2,7,320] → 1280 (batched rows)', { x: [2, 7, 320], out: 1280 }],
    ['[1,768] → 320 (one row)', { x: [1, 768], out: 320 }],
    ['[2,3,5,64] → 72, no bias', { x: [2, 3, 5, 64], out: 72, bias: false }],
    ['[13,30] → 7 (nothing a multiple of 4)', { x: [13, 30], out: 7 }],
    ['[9,77,3] → 5', { x: [9, 77, 3], out: 5 }],
    ['silu [3,5,64] → 96', { x: [3, 5, 64], out: 96, act: 'silu' }],
    ['gelu [3,5,64] → 96', { x: [3, 5, 64], out: 96, act: 'gelu' }],
    ['gelu-tanh [3,5,64] → 96', { x: [3, 5, 64], out: 96, act: 'gelu-tanh' }],
    ['quick-gelu [3,5,64] → 96', { x: [3, 5, 64], out: 96, act: 'quick-gelu' }],
    ['gelu [11,21] → 13', { x: [11, 21], out: 13, act: 'gelu' }],
  ];
  it.each(cases)('%s', async (_, c) => {
    const { err } = await checkLinear(c, 5);
    expect(err).toBeLessThan(1e-4);
  });
});

describe('linear f16 weights', () => {
  const cases: [string, Case][] = [
    ['[2,9,320] → 640, gelu', { x: [2, 9, 320], out: 640, act: 'gelu', f16: true }],
    ['[5,33] → 7 (odd half counts), silu', { x: [5, 33], out: 7, act: 'silu', f16: true }],
    ['[2,7,768] → 12, no bias', { x: [2, 7, 768], out: 12, bias: false, f16: true }],
  ];
  it.each(cases)('%s', async (_, c) => {
    const { err, errRounded } = await checkLinear(c, 17);
    expect(err).toBeLessThan(1e-2);
    expect(errRounded).toBeLessThan(1e-4);
  });
});

describe('matmul', () => {
  const cases: [string, number[], number[], boolean, boolean][] = [
    ['[37,64]·[64,52]', [37, 64], [64, 52], false, false],
    ['Aᵀ: [64,37]ᵀ·[64,52]', [64, 37], [64, 52], true, false],
    ['Bᵀ: [37,64]·[52,64]ᵀ', [37, 64], [52, 64], false, true],
    ['AᵀBᵀ, odd sizes', [21, 13], [7, 21], true, true],
    ['batched [3,19,40]·[3,40,24]', [3, 19, 40], [3, 40, 24], false, false],
    ['batched A over one B: [3,19,40]·[40,24]', [3, 19, 40], [40, 24], false, false],
    ['one A over batched Bᵀ: [19,40]·[2,24,40]ᵀ', [19, 40], [2, 24, 40], false, true],
    ['batched Aᵀ with a batch of 1: [1,33,17]ᵀ·[4,33,9]', [1, 33, 17], [4, 33, 9], true, false],
  ];
  it.each(cases)('%s', async (_, a, b, ta, tb) => {
    expect(await checkMatmul(a, b, ta, tb, 29)).toBeLessThan(1e-4);
  });

  it('rejects mismatched shapes', () => {
    const [a, b] = [tf.zeros([3, 4]), tf.zeros([5, 6])];
    expect(() => matmul(a, b)).toThrow(/inner dimensions 4 and 5/);
    tf.dispose([a, b]);
  });
});

describe('linear and matmul past the limits', () => {
  it('chunks rows when x or the output exceeds a lowered binding limit', async () => {
    await withLimits({ maxStorageBufferBindingSize: 4096 }, async () => {
      // x [3,50,16] is 9600 B, the output 7200 B: 64-row chunks (4096 / (16·4)) of 150 rows.
      const { err } = await checkLinear({ x: [3, 50, 16], out: 12, act: 'silu' }, 37);
      expect(err).toBeLessThan(1e-4);
      const f16 = await checkLinear({ x: [70, 9], out: 30, f16: true }, 41);
      expect(f16.err).toBeLessThan(1e-2);
      expect(f16.errRounded).toBeLessThan(1e-4);
      expect(await checkMatmul([2, 40, 20], [2, 20, 12], false, false, 43)).toBeLessThan(1e-4);
      expect(await checkMatmul([2, 20, 40], [12, 20], true, true, 47)).toBeLessThan(1e-4);
    });
  });

  it('splits dispatches past a lowered maxComputeWorkgroupsPerDimension', async () => {
    await withLimits({ maxComputeWorkgroupsPerDimension: 2 }, async () => {
      // 150 rows (3 row tiles) × 200 columns (4 column tiles), and 5 batches, against a limit of 2.
      const { err } = await checkLinear({ x: [150, 24], out: 200, act: 'gelu' }, 53);
      expect(err).toBeLessThan(1e-4);
      expect(await checkMatmul([5, 70, 8], [8, 140], false, false, 59)).toBeLessThan(1e-4);
    });
  });
});
