// conv2d kernel (implicit GEMM; 1×1 via matmul) against the float64 CPU reference: SD channel counts at
// small spatial sizes, awkward sizes, stride 2, 1×1 spatial, fused residual, f16 weights, and the row
// chunking and dispatch splitting paths under lowered limits.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import type { EngineLimits } from '../../src/engine/kernel-runtime';
import { f16BitsToF32, toF16Bits } from '../../src/engine/f16';
import { packF16 } from '../../src/engine/f16-tensor';
import { conv2d } from '../../src/ops/conv2d';
import type { Weight } from '../../src/ops/types';
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
  k: number;
  cout: number;
  stride?: 1 | 2;
  pad?: number;
  bias?: boolean;
  residual?: boolean;
  f16?: boolean;
}

/** Runs one conv on the GPU and returns its norm-wise error against the reference (and the f16-rounded one). */
async function check(c: Case, seed: number): Promise<{ err: number; errRounded: number }> {
  const cin = c.x[3];
  const stride = c.stride ?? 1;
  const pad = c.pad ?? (c.k === 3 ? 1 : 0);
  const x = ref.random(c.x, seed);
  const w = ref.random([c.k, c.k, cin, c.cout], seed + 1, 1 / Math.sqrt(c.k * c.k * cin));
  const b = c.bias === false ? undefined : ref.random([c.cout], seed + 2, 0.5);
  const oh = Math.floor((c.x[1] + 2 * pad - c.k) / stride) + 1;
  const ow = Math.floor((c.x[2] + 2 * pad - c.k) / stride) + 1;
  const res = c.residual ? ref.random([c.x[0], oh, ow, c.cout], seed + 3) : undefined;
  const inputs = { x: tensor(x), res: res && (tensor(res) as tf.Tensor4D) };
  const pack = (a: ref.Arr): Weight => (c.f16 ? packF16(Float32Array.from(a.data), a.shape) : tensor(a));
  const wt = pack(w);
  const bt = b && pack(b);
  const before = tf.memory().numTensors;
  const y = conv2d(inputs.x as tf.Tensor4D, wt, bt, { stride, padding: pad, residual: inputs.res });
  expect(tf.memory().numTensors).toBe(before + 1);
  expect(y.shape).toEqual([c.x[0], oh, ow, c.cout]);
  const got = await engine.read(y);
  const want = ref.conv2d(x, w, b, stride, pad, res);
  const wantRounded = c.f16 ? ref.conv2d(x, roundF16(w), b && roundF16(b), stride, pad, res) : want;
  const weights = [wt, bt].flatMap((t) => (t === undefined ? [] : [t instanceof tf.Tensor ? t : t.packed]));
  tf.dispose([y, inputs.x, ...(inputs.res ? [inputs.res] : []), ...weights]);
  return { err: ref.relError(got, want.data), errRounded: ref.relError(got, wantRounded.data) };
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

describe('conv2d f32', () => {
  const cases: [string, Case][] = [
    ['3×3 320→320, batch 2, 7×9', { x: [2, 7, 9, 320], k: 3, cout: 320 }],
    ['3×3 4→32 (UNet conv_in)', { x: [1, 16, 16, 4], k: 3, cout: 32 }],
    ['3×3 3→128 (VAE conv_in, scalar gathers)', { x: [1, 12, 11, 3], k: 3, cout: 128 }],
    ['3×3 stride 2 64→64 (downsampler)', { x: [1, 8, 8, 64], k: 3, cout: 64, stride: 2 }],
    ['3×3 stride 2 on odd sizes, Cout 6, residual', { x: [2, 7, 5, 12], k: 3, cout: 6, stride: 2, residual: true }],
    ['1×1 1280→1280 (matmul route), residual', { x: [2, 5, 5, 1280], k: 1, cout: 1280, residual: true }],
    ['1×1 320→4, no bias', { x: [2, 3, 7, 320], k: 1, cout: 4, bias: false }],
    ['3×3 320→4 (UNet conv_out)', { x: [2, 6, 6, 320], k: 3, cout: 4 }],
    ['3×3 128→3 (VAE conv_out)', { x: [1, 9, 10, 128], k: 3, cout: 3 }],
    ['3×3 512→8 (VAE encoder conv_out)', { x: [1, 4, 4, 512], k: 3, cout: 8 }],
    ['3×3 1280→1280 at 1×1 spatial', { x: [2, 1, 1, 1280], k: 3, cout: 1280 }],
    ['3×3 640→320 with residual, no bias', { x: [1, 5, 6, 640], k: 3, cout: 320, residual: true, bias: false }],
    ['1×1 stride 2, no padding', { x: [1, 7, 7, 40], k: 1, cout: 24, stride: 2, pad: 0 }],
  ];
  it.each(cases)('%s', async (_, c) => {
    const { err } = await check(c, 11);
    expect(err).toBeLessThan(1e-4);
  });
});

describe('conv2d f16 weights', () => {
  const cases: [string, Case][] = [
    ['3×3 320→320, batch 2', { x: [2, 7, 9, 320], k: 3, cout: 320, f16: true }],
    ['3×3 128→3 (odd half counts)', { x: [1, 9, 10, 128], k: 3, cout: 3, f16: true }],
    ['1×1 640→320, residual', { x: [2, 4, 3, 640], k: 1, cout: 320, residual: true, f16: true }],
    ['3×3 3→128 stride 2', { x: [1, 9, 9, 3], k: 3, cout: 128, stride: 2, f16: true }],
  ];
  it.each(cases)('%s', async (_, c) => {
    const { err, errRounded } = await check(c, 23);
    expect(err).toBeLessThan(1e-2);
    expect(errRounded).toBeLessThan(1e-4);
  });
});

describe('conv2d past the limits', () => {
  it('chunks output rows when input and output exceed a lowered binding limit (stride 1 and 2, residual)', async () => {
    // A 4096-byte limit: each image of x [2,16,10,8] is 5120 B, so chunks of 10 output rows (5 at
    // stride 2) with their halo rows; the weights (2304 B) still fit.
    await withLimits({ maxStorageBufferBindingSize: 4096 }, async () => {
      for (const stride of [1, 2] as const) {
        const { err } = await check({ x: [2, 16, 10, 8], k: 3, cout: 8, stride, residual: true }, 31 + stride);
        expect(err).toBeLessThan(1e-4);
      }
      const { err, errRounded } = await check({ x: [1, 40, 6, 3], k: 3, cout: 8, residual: true, f16: true }, 37);
      expect(err).toBeLessThan(1e-2);
      expect(errRounded).toBeLessThan(1e-4);
      const oneByOne = await check({ x: [1, 9, 7, 16], k: 1, cout: 20, residual: true }, 41);
      expect(oneByOne.err).toBeLessThan(1e-4);
    });
  });

  it('fails clearly when one output row cannot fit the binding limit', async () => {
    await withLimits({ maxStorageBufferBindingSize: 256 }, async () => {
      await expect(check({ x: [1, 4, 80, 1], k: 3, cout: 1 }, 43)).rejects.toThrow(/conv2d: one output row/);
    });
  });

  it('splits dispatches past a lowered maxComputeWorkgroupsPerDimension', async () => {
    // 9×9×2 = 162 pixels (3 row tiles) × 320 channels (5 column tiles) against a limit of 2.
    await withLimits({ maxComputeWorkgroupsPerDimension: 2 }, async () => {
      const { err } = await check({ x: [2, 9, 9, 32], k: 3, cout: 320, residual: true }, 47);
      expect(err).toBeLessThan(1e-4);
      const oneByOne = await check({ x: [2, 9, 9, 32], k: 1, cout: 320 }, 53);
      expect(oneByOne.err).toBeLessThan(1e-4);
    });
  });
});
