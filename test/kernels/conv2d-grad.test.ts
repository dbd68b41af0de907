// conv2d gradients (shaders/conv2d-grad-input.wgsl, conv2d-grad-weight.wgsl) through tfjs's tape against
// the float64 CPU reference: loss = sum(conv2d(x) · r), so dy = r. Trainable f32 weights give dx, dW, db
// (and the residual's dy); frozen weights (f32 tensors, packed f16) give dx only and run no weight-gradient
// kernel. SD channel counts at small sizes, stride 2, 1×1, odd channel counts, lowered limits, and
// bit-identical repeats (deterministic reductions).
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import type { EngineLimits } from '../../src/engine/kernel-runtime';
import { f16BitsToF32, toF16Bits } from '../../src/engine/f16';
import { packF16 } from '../../src/engine/f16-tensor';
import { conv2d } from '../../src/ops/conv2d';
import type { Weight } from '../../src/ops/types';
import { recordKernels, startEngine } from '../engine-helpers';
import * as ref from '../reference/cpu';

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine();
});
afterAll(() => engine.dispose());

const tensor = (a: ref.Arr) => tf.tensor(Float32Array.from(a.data), a.shape);
const variable = (a: ref.Arr) => tf.tidy(() => tf.variable(tensor(a)));
const roundF16 = (a: ref.Arr) => ref.map(a, (v) => f16BitsToF32(toF16Bits([v])[0]));

interface Case {
  x: number[];
  k: number;
  cout: number;
  stride?: 1 | 2;
  pad?: number;
  bias?: boolean;
  residual?: boolean;
  /** 'trainable': f32 tf.Variables; 'frozen': plain f32 tensors; 'f16': packed f16. */
  weights: 'trainable' | 'frozen' | 'f16';
}

interface Result {
  errors: Record<string, number>;
  /** Kernels (name:entry) the backward ran. */
  kernels: string[];
  grads: Float32Array[];
}


async function check(c: Case, seed: number): Promise<Result> {
  const cin = c.x[3];
  const stride = c.stride ?? 1;
  const pad = c.pad ?? (c.k === 3 ? 1 : 0);
  const oh = Math.floor((c.x[1] + 2 * pad - c.k) / stride) + 1;
  const ow = Math.floor((c.x[2] + 2 * pad - c.k) / stride) + 1;
  const yShape = [c.x[0], oh, ow, c.cout];
  const x = ref.random(c.x, seed);
  const w = ref.random([c.k, c.k, cin, c.cout], seed + 1, 1 / Math.sqrt(c.k * c.k * cin));
  const b = c.bias === false ? undefined : ref.random([c.cout], seed + 2, 0.5);
  const res = c.residual ? ref.random(yShape, seed + 3) : undefined;
  const r = ref.random(yShape, seed + 4);
  const before = tf.memory().numTensors;
  const xt = variable(x) as tf.Variable<tf.Rank.R4>;
  const rest = res && (variable(res) as tf.Variable<tf.Rank.R4>);
  const rt = tensor(r);
  const weight = (a: ref.Arr): Weight =>
    c.weights === 'f16' ? packF16(Float32Array.from(a.data), a.shape) : c.weights === 'trainable' ? variable(a) : tensor(a);
  const wt = weight(w);
  const bt = b && weight(b);
  const vars = [xt, ...(rest ? [rest] : []), ...(c.weights === 'trainable' ? [wt as tf.Variable, ...(bt ? [bt as tf.Variable] : [])] : [])];
  const { value: grads, kernels } = recordKernels(engine, () => {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(conv2d(xt, wt, bt, { stride, padding: pad, residual: rest }), rt)), vars);
    value.dispose();
    return grads;
  });
  const names = Object.keys(grads);
  expect(names.sort()).toEqual(vars.map((v) => v.name).sort());
  const read = async (v: tf.Variable) => (await engine.read(grads[v.name])) as Float32Array;
  const wRef = c.weights === 'f16' ? roundF16(w) : w;
  const want = ref.conv2dGrad(x, wRef, r, stride, pad);
  const errors: Record<string, number> = {};
  const out: Float32Array[] = [];
  const dx = await read(xt);
  errors.dx = ref.relError(dx, want.dx.data);
  out.push(dx);
  if (rest) {
    const dres = await read(rest);
    errors.dres = ref.relError(dres, r.data);
  }
  if (c.weights === 'trainable') {
    const dw = await read(wt as tf.Variable);
    errors.dw = ref.relError(dw, want.dw.data);
    out.push(dw);
    if (bt) {
      const db = await read(bt as tf.Variable);
      errors.db = ref.relError(db, want.db.data);
      out.push(db);
    }
  }
  const weights = [wt, bt].flatMap((t) => (t === undefined ? [] : [t instanceof tf.Tensor ? t : t.packed]));
  tf.dispose([...Object.values(grads), ...vars, rt, ...weights]);
  expect(tf.memory().numTensors).toBe(before);
  return { errors, kernels, grads: out };
}

function expectAllBelow(errors: Record<string, number>, tol: number): void {
  for (const [name, err] of Object.entries(errors)) expect(err, name).toBeLessThan(tol);
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

const WEIGHT_GRAD = ['conv2d-grad-weight:main', 'conv2d-grad-weight:bias_partials', 'conv2d-grad-weight:reduce'];

describe('conv2d gradients, trainable f32 weights', () => {
  const cases: [string, Omit<Case, 'weights'>][] = [
    ['3×3 320→320, batch 2, 6×5', { x: [2, 6, 5, 320], k: 3, cout: 320 }],
    ['3×3 4→320 (UNet conv_in)', { x: [2, 8, 8, 4], k: 3, cout: 320 }],
    ['3×3 3→128 (VAE conv_in, scalar x)', { x: [2, 7, 6, 3], k: 3, cout: 128 }],
    ['3×3 320→4 (UNet conv_out)', { x: [2, 6, 6, 320], k: 3, cout: 4 }],
    ['3×3 128→3 (scalar dy), no bias', { x: [2, 5, 6, 128], k: 3, cout: 3, bias: false }],
    ['3×3 stride 2 640→640 (downsampler)', { x: [2, 8, 8, 640], k: 3, cout: 640, stride: 2 }],
    ['3×3 stride 2 on odd sizes, Cout 6, residual', { x: [2, 7, 5, 12], k: 3, cout: 6, stride: 2, residual: true }],
    ['3×3 1280→1280 at 2×2', { x: [2, 2, 2, 1280], k: 3, cout: 1280 }],
    ['1×1 640→320 (matmul route), residual', { x: [2, 4, 3, 640], k: 1, cout: 320, residual: true }],
    ['1×1 stride 2, no padding', { x: [2, 7, 7, 40], k: 1, cout: 24, stride: 2, pad: 0 }],
    ['3×3 stride 1, no padding', { x: [2, 6, 7, 16], k: 3, cout: 8, pad: 0 }],
  ];
  it.each(cases)('%s', async (_, c) => {
    const { errors } = await check({ ...c, weights: 'trainable' }, 11);
    expect(Object.keys(errors)).toContain('dw');
    expectAllBelow(errors, 1e-4);
  });
});

describe('conv2d gradients, frozen weights: dx only', () => {
  const cases: [string, Case][] = [
    ['f16 3×3 320→320', { x: [2, 6, 5, 320], k: 3, cout: 320, weights: 'f16' }],
    ['f16 3×3 stride 2 128→3 (odd half counts)', { x: [2, 7, 8, 128], k: 3, cout: 3, stride: 2, weights: 'f16' }],
    ['f16 1×1 640→320, residual', { x: [2, 4, 3, 640], k: 1, cout: 320, residual: true, weights: 'f16' }],
    ['f32 tensors 3×3 64→64', { x: [2, 5, 5, 64], k: 3, cout: 64, weights: 'frozen' }],
  ];
  it.each(cases)('%s', async (_, c) => {
    const { errors, kernels } = await check(c, 23);
    expect(Object.keys(errors).filter((k) => k !== 'dres')).toEqual(['dx']);
    expect(kernels.filter((k) => WEIGHT_GRAD.includes(k))).toEqual([]);
    expectAllBelow(errors, 1e-4);
  });
});

describe('conv2d gradients past the limits', () => {
  it('chunks dx, dW and db when tensors exceed a lowered binding limit (stride 1 and 2, f16)', async () => {
    // 4096 bytes: each image of x [2,16,10,8] is 5120 B, so dx runs in bands of input rows and dW in
    // bands of output rows, each band's split partials folded in order; the weight gradient (2304 B) fits.
    await withLimits({ maxStorageBufferBindingSize: 4096 }, async () => {
      for (const stride of [1, 2] as const) {
        const { errors } = await check({ x: [2, 16, 10, 8], k: 3, cout: 8, stride, residual: true, weights: 'trainable' }, 31 + stride);
        expectAllBelow(errors, 1e-4);
      }
      const f16 = await check({ x: [2, 40, 6, 3], k: 3, cout: 8, weights: 'f16' }, 37);
      expectAllBelow(f16.errors, 1e-4);
      const oneByOne = await check({ x: [2, 9, 7, 16], k: 1, cout: 20, weights: 'trainable' }, 41);
      expectAllBelow(oneByOne.errors, 1e-4);
    });
  });

  it('splits dispatches past a lowered maxComputeWorkgroupsPerDimension', async () => {
    // dx: 162 pixels (3 row tiles) × 32 channels; dW: 288 rows (5 tiles) × 320 (5 tiles) × splits; limit 2.
    await withLimits({ maxComputeWorkgroupsPerDimension: 2 }, async () => {
      const { errors } = await check({ x: [2, 9, 9, 32], k: 3, cout: 320, residual: true, weights: 'trainable' }, 47);
      expectAllBelow(errors, 1e-4);
    });
  });
});

describe('conv2d gradients are deterministic', () => {
  it('repeats bit for bit', async () => {
    const c: Case = { x: [2, 8, 8, 64], k: 3, cout: 64, weights: 'trainable' };
    const first = await check(c, 59);
    const second = await check(c, 59);
    expect(first.kernels).toContain('conv2d-grad-weight:reduce');
    first.grads.forEach((g, i) => expect(Buffer.from(g.buffer).equals(Buffer.from(second.grads[i].buffer))).toBe(true));
  });
});

describe('float64 reference', () => {
  it('conv2dGrad matches central differences of conv2d', () => {
    const x = ref.random([1, 4, 5, 3], 71);
    const w = ref.random([3, 3, 3, 2], 72);
    const r = ref.random([1, 2, 3, 2], 73);
    const loss = (xa: ref.Arr, wa: ref.Arr) => ref.conv2d(xa, wa, undefined, 2, 1).data.reduce((s, v, i) => s + v * r.data[i], 0);
    const want = ref.conv2dGrad(x, w, r, 2, 1);
    const numeric = (a: ref.Arr, f: (p: ref.Arr) => number) =>
      Array.from(a.data, (_, i) => {
        const plus = ref.map(a, (v, j) => (j === i ? v + 1e-6 : v));
        const minus = ref.map(a, (v, j) => (j === i ? v - 1e-6 : v));
        return (f(plus) - f(minus)) / 2e-6;
      });
    expect(ref.relError(numeric(x, (p) => loss(p, w)), want.dx.data)).toBeLessThan(1e-8);
    expect(ref.relError(numeric(w, (p) => loss(x, p)), want.dw.data)).toBeLessThan(1e-8);
  });
});
