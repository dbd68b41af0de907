// GroupNorm and LayerNorm against the float64 CPU references: SD channel counts (320/640/1280, the VAE's
// 128/512, CLIP's 768/1024), eps 1e-5/1e-6, fused SiLU, [B,H,W,C] and [B,L,C], batch 2, 1×1 spatial, a
// large mean (where E[x²] − E[x]² would cancel), f16 gamma/beta, channel counts not divisible by 4. The
// binding limit is lowered to 64 KiB file-wide, so tensors past it run the chunked paths (the statistics
// still span whole groups), and the dispatch limit to 16 workgroups per dimension (grids fold to 2D).
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { fromF16Bits, toF16Bits } from '../../src/engine/f16';
import { packF16 } from '../../src/engine/f16-tensor';
import { groupNorm } from '../../src/ops/group-norm';
import { layerNorm } from '../../src/ops/layer-norm';
import type { Weight } from '../../src/ops/types';
import { arr, groupNorm as groupNormRef, layerNorm as layerNormRef, random, relError, type Arr } from '../reference/cpu';
import { startEngine } from '../engine-helpers';

const LIMIT = 64 * 1024;
let engine: Engine;
beforeAll(async () => {
  engine = await startEngine({ testLimits: { maxStorageBufferBindingSize: LIMIT, maxComputeWorkgroupsPerDimension: 16 } });
});
afterAll(() => engine.dispose());

/** f32-rounded copy (what the GPU holds), so references see the same inputs. */
const f32 = (a: Arr): Arr => arr(a.shape, Float32Array.from(a.data));
const f16 = (a: Arr): Arr => arr(a.shape, fromF16Bits(toF16Bits(a.data)));
const gpu = (a: Arr) => tf.tensor(Float32Array.from(a.data), a.shape);

function params(c: number, seed: number): [Arr, Arr] {
  const gamma = random([c], seed, 0.5);
  gamma.data.forEach((v, i) => (gamma.data[i] = 1 + v));
  return [f32(gamma), f32(random([c], seed + 1, 0.5))];
}

function weight(a: Arr, half: boolean): Weight {
  return half ? packF16(Float32Array.from(a.data), a.shape) : gpu(a);
}

function disposeWeight(w: Weight): void {
  tf.dispose(w instanceof tf.Tensor ? w : w.packed);
}

async function run(op: (x: tf.Tensor, g: Weight, b: Weight) => tf.Tensor, x: Arr, gamma: Arr, beta: Arr, half: boolean): Promise<Float32Array> {
  const tx = gpu(x);
  const [g, b] = [weight(gamma, half), weight(beta, half)];
  const before = tf.memory().numTensors;
  const y = op(tx, g, b);
  expect(tf.memory().numTensors).toBe(before + 1);
  expect(y.shape).toEqual(x.shape);
  const got = (await engine.read(y)) as Float32Array;
  tf.dispose([tx, y]);
  [g, b].forEach(disposeWeight);
  return got;
}

describe('groupNorm', () => {
  const cases: { shape: number[]; eps: number; silu: boolean; groups?: number; offset?: number }[] = [
    { shape: [2, 8, 8, 320], eps: 1e-5, silu: true }, // 160 KiB: chunked
    { shape: [1, 4, 4, 320], eps: 1e-5, silu: false }, // 20 KiB: one binding
    { shape: [2, 5, 3, 640], eps: 1e-5, silu: true },
    { shape: [2, 1, 1, 1280], eps: 1e-5, silu: true }, // 1×1 spatial
    { shape: [1, 16, 16, 128], eps: 1e-6, silu: true }, // VAE
    { shape: [1, 9, 11, 512], eps: 1e-6, silu: false }, // VAE, awkward spatial, chunked
    { shape: [2, 77, 320], eps: 1e-6, silu: false }, // [B, L, C]
    { shape: [2, 6, 6, 960], eps: 1e-5, silu: true, offset: 50 }, // large mean
    { shape: [2, 3, 5, 96], eps: 1e-5, silu: true, groups: 8, offset: 3 }, // 12 channels per group
    { shape: [2, 4, 4, 30], eps: 1e-5, silu: true, groups: 3 }, // C % 4 != 0: scalar path
  ];
  for (const c of cases) {
    const groups = c.groups ?? 32;
    it(`[${c.shape}] eps ${c.eps}${c.silu ? ' + SiLU' : ''}${c.offset ? `, mean ${c.offset}` : ''}, ${groups} groups`, async () => {
      const x = random(c.shape, 11, 2);
      if (c.offset) x.data.forEach((v, i) => (x.data[i] = v + c.offset!));
      const xr = f32(x);
      const [gamma, beta] = params(c.shape[c.shape.length - 1], 3);
      const got = await run((t, g, b) => groupNorm(t, g, b, groups, c.eps, c.silu), xr, gamma, beta, false);
      expect(relError(got, groupNormRef(xr, gamma, beta, groups, c.eps, c.silu).data)).toBeLessThan(1e-4);
    });
  }

  it('takes f16 gamma/beta (≤ 1e-4 against the f16-rounded reference, ≤ 1e-2 against f32)', async () => {
    const x = f32(random([2, 7, 7, 640], 5, 2));
    const [gamma, beta] = params(640, 9);
    const got = await run((t, g, b) => groupNorm(t, g, b, 32, 1e-5, true), x, gamma, beta, true);
    expect(relError(got, groupNormRef(x, f16(gamma), f16(beta), 32, 1e-5, true).data)).toBeLessThan(1e-4);
    expect(relError(got, groupNormRef(x, gamma, beta, 32, 1e-5, true).data)).toBeLessThan(1e-2);
  });

  it('keeps each group whole when the batch crosses chunk boundaries (statistics per batch)', async () => {
    // Batch 1 far from batch 0: a chunk that mixed them would be visibly wrong.
    const x = random([2, 10, 10, 320], 21, 1);
    x.data.forEach((v, i) => (x.data[i] = v * (i < x.data.length / 2 ? 1 : 5) + (i < x.data.length / 2 ? 0 : 7)));
    const xr = f32(x);
    const [gamma, beta] = params(320, 4);
    const got = await run((t, g, b) => groupNorm(t, g, b, 32, 1e-5, false), xr, gamma, beta, false);
    expect(relError(got, groupNormRef(xr, gamma, beta, 32, 1e-5).data)).toBeLessThan(1e-4);
  });
});

describe('layerNorm', () => {
  const cases: { shape: number[]; eps: number; offset?: number }[] = [
    { shape: [2, 77, 768], eps: 1e-5 }, // CLIP ViT-L, chunked
    { shape: [1, 77, 1024], eps: 1e-5 }, // OpenCLIP ViT-H
    { shape: [2, 30, 320], eps: 1e-5 }, // UNet, chunked
    { shape: [1, 5, 640], eps: 1e-5, offset: 40 },
    { shape: [2, 3, 1280], eps: 1e-5 },
    { shape: [3, 1, 4, 36], eps: 1e-6 }, // rank 4, C smaller than a workgroup's vectors
    { shape: [2, 9, 30], eps: 1e-5 }, // C % 4 != 0: runs as GroupNorm with one group
  ];
  for (const c of cases) {
    it(`[${c.shape}] eps ${c.eps}${c.offset ? `, mean ${c.offset}` : ''}`, async () => {
      const x = random(c.shape, 17, 2);
      if (c.offset) x.data.forEach((v, i) => (x.data[i] = v + c.offset!));
      const xr = f32(x);
      const [gamma, beta] = params(c.shape[c.shape.length - 1], 8);
      const got = await run((t, g, b) => layerNorm(t, g, b, c.eps), xr, gamma, beta, false);
      expect(relError(got, layerNormRef(xr, gamma, beta, c.eps).data)).toBeLessThan(1e-4);
    });
  }

  it('takes f16 gamma/beta', async () => {
    const x = f32(random([2, 20, 768], 2, 3));
    const [gamma, beta] = params(768, 6);
    const got = await run((t, g, b) => layerNorm(t, g, b, 1e-5), x, gamma, beta, true);
    expect(relError(got, layerNormRef(x, f16(gamma), f16(beta), 1e-5).data)).toBeLessThan(1e-4);
    expect(relError(got, layerNormRef(x, gamma, beta, 1e-5).data)).toBeLessThan(1e-2);
  });
});
