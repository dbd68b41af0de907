// GroupNorm and LayerNorm gradients against the float64 CPU references, through tf.grads of sum(y · r)
// (so dy = r): dx, dgamma and dbeta with trainable f32 gamma/beta; dx only with frozen (plain or packed
// f16) weights, which must not become tape inputs nor run the weight-gradient kernel. SD channel counts,
// fused SiLU, [B,H,W,C] and [B,L,C], large means, C % 4 != 0. The binding limit is lowered to 64 KiB
// file-wide, so x and dy past it run the chunked paths (the statistics still span whole groups), and the
// dispatch limit to 16 workgroups per dimension (grids fold to 2D).
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { fromF16Bits, toF16Bits } from '../../src/engine/f16';
import { packF16 } from '../../src/engine/f16-tensor';
import type { KernelCall, KernelVariant } from '../../src/engine/kernel-runtime';
import { groupNorm } from '../../src/ops/group-norm';
import { layerNorm } from '../../src/ops/layer-norm';
import type { Weight } from '../../src/ops/types';
import {
  arr,
  centralDifferences,
  groupNorm as groupNormRef,
  groupNormGrad,
  layerNorm as layerNormRef,
  layerNormGrad,
  random,
  relError,
  type Arr,
  type NormGrads,
} from '../reference/cpu';
import { startEngine } from '../engine-helpers';

const LIMIT = 64 * 1024;
let engine: Engine;
beforeAll(async () => {
  engine = await startEngine({ precision: 'f32', testLimits: { maxStorageBufferBindingSize: LIMIT, maxComputeWorkgroupsPerDimension: 16 } });
});
afterAll(() => engine.dispose());

const f32 = (a: Arr): Arr => arr(a.shape, Float32Array.from(a.data));
const f16 = (a: Arr): Arr => arr(a.shape, fromF16Bits(toF16Bits(a.data)));
const gpu = (a: Arr) => tf.tensor(Float32Array.from(a.data), a.shape);

function params(c: number, seed: number): [Arr, Arr] {
  const gamma = random([c], seed, 0.5);
  gamma.data.forEach((v, i) => (gamma.data[i] = 1 + v));
  return [f32(gamma), f32(random([c], seed + 1, 0.5))];
}

type Norm = (x: tf.Tensor, g: Weight, b: Weight) => tf.Tensor;
type Mode = 'trainable' | 'frozen' | 'f16';

/** Entry points of the kernels run while `fn` runs. */
function kernelsRun<T>(fn: () => T): { result: T; entries: string[] } {
  const runtime = engine.kernels;
  const original = runtime.run.bind(runtime);
  const entries: string[] = [];
  runtime.run = (name: string, variant: KernelVariant, call: KernelCall) => {
    entries.push(`${name}:${variant.entryPoint ?? 'main'}`);
    return original(name, variant, call);
  };
  try {
    return { result: fn(), entries };
  } finally {
    runtime.run = original;
  }
}

/**
 * Gradients of sum(op(x, gamma, beta) · r) on the GPU: dx always, dgamma/dbeta when trainable. Checks
 * that only the returned gradients stay alive, and that frozen weights get no gradient work.
 */
async function grads(op: Norm, x: Arr, gamma: Arr, beta: Arr, r: Arr, mode: Mode): Promise<{ dx: Float32Array; dgamma?: Float32Array; dbeta?: Float32Array }> {
  const start = tf.memory().numTensors;
  const tx = gpu(x);
  const tr = gpu(r);
  const weight = (a: Arr): Weight => (mode === 'f16' ? packF16(Float32Array.from(a.data), a.shape) : mode === 'trainable' ? tf.tidy(() => tf.variable(gpu(a))) : gpu(a));
  const [g, b] = [weight(gamma), weight(beta)];
  const before = tf.memory().numTensors;
  const loss = (...args: tf.Tensor[]) => tf.sum(tf.mul(op(args[0], mode === 'trainable' ? args[1] : g, mode === 'trainable' ? args[2] : b), tr));
  const args = mode === 'trainable' ? [tx, g as tf.Tensor, b as tf.Tensor] : [tx];
  const { result, entries } = kernelsRun(() => tf.grads(loss)(args));
  expect(tf.memory().numTensors).toBe(before + result.length);
  const weightKernels = entries.filter((e) => e.endsWith(':weights') || e.endsWith(':mainW'));
  if (mode === 'trainable') expect(weightKernels.length).toBeGreaterThan(0);
  else expect(weightKernels).toEqual([]);
  const read = async (t: tf.Tensor) => (await engine.read(t)) as Float32Array;
  const out = { dx: await read(result[0]), dgamma: result[1] && (await read(result[1])), dbeta: result[2] && (await read(result[2])) };
  tf.dispose([...result, tx, tr]);
  for (const w of [g, b]) tf.dispose(w instanceof tf.Tensor ? w : w.packed);
  expect(tf.memory().numTensors).toBe(start);
  return out;
}

function expectClose(got: Awaited<ReturnType<typeof grads>>, want: NormGrads, mode: Mode, tol = 1e-4): void {
  const errors = { dx: relError(got.dx, want.dx.data), dgamma: 0, dbeta: 0 };
  if (mode === 'trainable') {
    errors.dgamma = relError(got.dgamma!, want.dgamma.data);
    errors.dbeta = relError(got.dbeta!, want.dbeta.data);
  } else {
    expect(got.dgamma).toBeUndefined();
  }
  expect(errors.dx).toBeLessThan(tol);
  expect(errors.dgamma).toBeLessThan(tol);
  expect(errors.dbeta).toBeLessThan(tol);
}

describe('CPU gradient references', () => {
  it('match central differences of the forward references', () => {
    const x = random([2, 3, 2, 8], 1, 2);
    const [gamma, beta] = params(8, 2);
    const r = random([2, 3, 2, 8], 3);
    const dot = (y: Arr) => y.data.reduce((s, v, i) => s + v * r.data[i], 0);
    const gn = groupNormGrad(x, gamma, beta, 4, 1e-5, true, r);
    expect(relError(gn.dx.data, centralDifferences((t) => dot(groupNormRef(t, gamma, beta, 4, 1e-5, true)), x).data)).toBeLessThan(1e-7);
    expect(relError(gn.dgamma.data, centralDifferences((t) => dot(groupNormRef(x, t, beta, 4, 1e-5, true)), gamma).data)).toBeLessThan(1e-7);
    expect(relError(gn.dbeta.data, centralDifferences((t) => dot(groupNormRef(x, gamma, t, 4, 1e-5, true)), beta).data)).toBeLessThan(1e-7);
    const ln = layerNormGrad(x, gamma, beta, 1e-5, r);
    expect(relError(ln.dx.data, centralDifferences((t) => dot(layerNormRef(t, gamma, beta, 1e-5)), x).data)).toBeLessThan(1e-7);
    expect(relError(ln.dgamma.data, centralDifferences((t) => dot(layerNormRef(x, t, beta, 1e-5)), gamma).data)).toBeLessThan(1e-7);
  });
});

describe('groupNorm gradient', () => {
  const cases: { shape: number[]; eps: number; silu: boolean; groups?: number; offset?: number; mode?: Mode }[] = [
    { shape: [2, 8, 8, 320], eps: 1e-5, silu: true }, // 160 KiB: chunked
    { shape: [1, 4, 4, 320], eps: 1e-5, silu: false }, // one binding
    { shape: [2, 5, 3, 640], eps: 1e-5, silu: true, mode: 'frozen' },
    { shape: [2, 1, 1, 1280], eps: 1e-5, silu: true }, // 1×1 spatial
    { shape: [1, 9, 11, 512], eps: 1e-6, silu: false }, // VAE, awkward spatial, chunked
    { shape: [2, 77, 320], eps: 1e-6, silu: false }, // [B, L, C]
    { shape: [2, 6, 6, 960], eps: 1e-5, silu: true, offset: 50 }, // large mean
    { shape: [2, 3, 5, 96], eps: 1e-5, silu: true, groups: 8, offset: 3 },
    { shape: [2, 4, 4, 30], eps: 1e-5, silu: true, groups: 3 }, // C % 4 != 0: scalar path
    { shape: [2, 7, 7, 640], eps: 1e-5, silu: true, mode: 'f16' }, // frozen f16 gamma/beta, chunked
  ];
  for (const c of cases) {
    const groups = c.groups ?? 32;
    const mode = c.mode ?? 'trainable';
    it(`[${c.shape}]${c.silu ? ' + SiLU' : ''}${c.offset ? `, mean ${c.offset}` : ''}, ${groups} groups, ${mode} weights`, async () => {
      const x = random(c.shape, 11, 2);
      if (c.offset) x.data.forEach((v, i) => (x.data[i] = v + c.offset!));
      const xr = f32(x);
      const r = f32(random(c.shape, 12));
      const [gamma, beta] = params(c.shape[c.shape.length - 1], 3);
      const got = await grads((t, g, b) => groupNorm(t, g, b, groups, c.eps, c.silu), xr, gamma, beta, r, mode);
      const [gw, bw] = mode === 'f16' ? [f16(gamma), f16(beta)] : [gamma, beta];
      expectClose(got, groupNormGrad(xr, gw, bw, groups, c.eps, c.silu, r), mode);
    });
  }

  it('keeps each group whole across chunks when batches differ wildly', async () => {
    const x = random([2, 10, 10, 320], 21, 1);
    x.data.forEach((v, i) => (x.data[i] = v * (i < x.data.length / 2 ? 1 : 5) + (i < x.data.length / 2 ? 0 : 7)));
    const xr = f32(x);
    const r = f32(random([2, 10, 10, 320], 22));
    const [gamma, beta] = params(320, 4);
    const got = await grads((t, g, b) => groupNorm(t, g, b, 32, 1e-5, true), xr, gamma, beta, r, 'trainable');
    expectClose(got, groupNormGrad(xr, gamma, beta, 32, 1e-5, true, r), 'trainable');
  });

  it('gives bit-identical gradients on every run (no atomics)', async () => {
    const x = f32(random([2, 8, 8, 320], 31, 2));
    const r = f32(random([2, 8, 8, 320], 32));
    const [gamma, beta] = params(320, 5);
    const op: Norm = (t, g, b) => groupNorm(t, g, b, 32, 1e-5, true);
    const first = await grads(op, x, gamma, beta, r, 'trainable');
    const second = await grads(op, x, gamma, beta, r, 'trainable');
    expect(second.dx).toEqual(first.dx);
    expect(second.dgamma).toEqual(first.dgamma);
    expect(second.dbeta).toEqual(first.dbeta);
  });

  it('gives frozen weights no tape input (no gradient can be asked for them)', () => {
    const x = gpu(random([1, 2, 2, 64], 1));
    const gamma = gpu(params(64, 2)[0]);
    const beta = gpu(params(64, 2)[1]);
    expect(() => tf.grads((xi: tf.Tensor, g: tf.Tensor) => tf.sum(groupNorm(xi, g, beta, 32, 1e-5)))([x, gamma])).toThrow(/Cannot compute gradient/);
    tf.dispose([x, gamma, beta]);
  });
});

describe('layerNorm gradient', () => {
  const cases: { shape: number[]; eps: number; offset?: number; mode?: Mode }[] = [
    { shape: [2, 77, 768], eps: 1e-5 }, // CLIP ViT-L, chunked
    { shape: [1, 77, 1024], eps: 1e-5 }, // OpenCLIP ViT-H
    { shape: [2, 30, 320], eps: 1e-5 }, // UNet, chunked
    { shape: [2, 64, 320], eps: 1e-5, mode: 'frozen' },
    { shape: [1, 5, 640], eps: 1e-5, offset: 40 },
    { shape: [2, 3, 1280], eps: 1e-5 },
    { shape: [3, 1, 4, 36], eps: 1e-6 }, // rank 4, C smaller than a workgroup's vectors
    { shape: [2, 9, 30], eps: 1e-5 }, // C % 4 != 0: runs as GroupNorm with one group
    { shape: [2, 20, 768], eps: 1e-5, mode: 'f16' },
  ];
  for (const c of cases) {
    const mode = c.mode ?? 'trainable';
    it(`[${c.shape}]${c.offset ? `, mean ${c.offset}` : ''}, ${mode} weights`, async () => {
      const x = random(c.shape, 17, 2);
      if (c.offset) x.data.forEach((v, i) => (x.data[i] = v + c.offset!));
      const xr = f32(x);
      const r = f32(random(c.shape, 18));
      const [gamma, beta] = params(c.shape[c.shape.length - 1], 8);
      const got = await grads((t, g, b) => layerNorm(t, g, b, c.eps), xr, gamma, beta, r, mode);
      const [gw, bw] = mode === 'f16' ? [f16(gamma), f16(beta)] : [gamma, beta];
      expectClose(got, layerNormGrad(xr, gw, bw, c.eps, r), mode);
    });
  }

  it('gives the same weight gradients chunked and in one binding', async () => {
    const x = f32(random([2, 40, 320], 41, 2));
    const r = f32(random([2, 40, 320], 42));
    const [gamma, beta] = params(320, 6);
    const op: Norm = (t, g, b) => layerNorm(t, g, b, 1e-5);
    const chunked = await grads(op, x, gamma, beta, r, 'trainable');
    engine.limits.maxStorageBufferBindingSize = 1 << 20;
    try {
      const whole = await grads(op, x, gamma, beta, r, 'trainable');
      expect(whole.dx).toEqual(chunked.dx);
      expect(whole.dgamma).toEqual(chunked.dgamma);
      expect(whole.dbeta).toEqual(chunked.dbeta);
    } finally {
      engine.limits.maxStorageBufferBindingSize = LIMIT;
    }
  });
});
