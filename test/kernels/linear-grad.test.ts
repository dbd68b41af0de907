// linear and matmul gradients through tfjs's tape against the float64 CPU reference: loss = sum(y · r),
// so dy = r. linear: dx = dz · Wᵀ (matmul.wgsl, f32 or f16 W), dW = xᵀ · dz and db = Σ dz
// (conv2d-grad-weight.wgsl), dz = r · act'(z) for every fused activation; frozen weights (f32 tensors,
// packed f16) give dx only and run no weight-gradient kernel. matmul: dA, dB for every transpose and
// batch broadcasting. Lowered limits (row chunks, dispatch splits) and bit-identical repeats.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import type { EngineLimits } from '../../src/engine/kernel-runtime';
import { f16BitsToF32, toF16Bits } from '../../src/engine/f16';
import { packF16 } from '../../src/engine/f16-tensor';
import { linear, matmul } from '../../src/ops/linear';
import type { Activation, Weight } from '../../src/ops/types';
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


async function withLimits<T>(limits: Partial<EngineLimits>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...engine.limits };
  Object.assign(engine.limits, limits);
  try {
    return await fn();
  } finally {
    Object.assign(engine.limits, saved);
  }
}

function expectAllBelow(errors: Record<string, number>, tol: number): void {
  for (const [name, err] of Object.entries(errors)) expect(err, name).toBeLessThan(tol);
}

interface Case {
  x: number[];
  out: number;
  act?: Activation;
  bias?: boolean;
  /** 'trainable': f32 tf.Variables; 'frozen': plain f32 tensors; 'f16': packed f16; 'frozen-bias': W trainable, bias a tensor. */
  weights: 'trainable' | 'frozen' | 'f16' | 'frozen-bias';
}

async function checkLinear(c: Case, seed: number): Promise<{ errors: Record<string, number>; kernels: string[]; grads: Float32Array[] }> {
  const inDim = c.x[c.x.length - 1];
  const act = c.act ?? 'none';
  const x = ref.random(c.x, seed, 2);
  const w = ref.random([inDim, c.out], seed + 1, 2 / Math.sqrt(inDim));
  const b = c.bias === false ? undefined : ref.random([c.out], seed + 2, 0.5);
  const r = ref.random([...c.x.slice(0, -1), c.out], seed + 3);
  const before = tf.memory().numTensors;
  const xt = variable(x);
  const rt = tensor(r);
  const wTrain = c.weights === 'trainable' || c.weights === 'frozen-bias';
  const bTrain = c.weights === 'trainable';
  const make = (a: ref.Arr, train: boolean): Weight =>
    train ? variable(a) : c.weights === 'f16' ? packF16(Float32Array.from(a.data), a.shape) : tensor(a);
  const wt = make(w, wTrain);
  const bt = b && make(b, bTrain);
  const vars = [xt, ...(wTrain ? [wt as tf.Variable] : []), ...(bTrain && bt ? [bt as tf.Variable] : [])];
  const { value: grads, kernels } = recordKernels(engine, () => {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(linear(xt, wt, bt, act), rt)), vars);
    value.dispose();
    return grads;
  });
  expect(Object.keys(grads).sort()).toEqual(vars.map((v) => v.name).sort());
  const f16 = c.weights === 'f16';
  const want = ref.linearGrad(x, f16 ? roundF16(w) : w, b && f16 ? roundF16(b) : b, act, r);
  const errors: Record<string, number> = {};
  const out: Float32Array[] = [];
  const compare = async (name: string, v: tf.Variable, expected: ref.Arr) => {
    const got = (await engine.read(grads[v.name])) as Float32Array;
    errors[name] = ref.relError(got, expected.data);
    out.push(got);
  };
  await compare('dx', xt, want.dx);
  if (wTrain) await compare('dw', wt as tf.Variable, want.dw);
  if (bTrain && bt) await compare('db', bt as tf.Variable, want.db);
  const weights = [wt, bt].flatMap((t) => (t === undefined ? [] : [t instanceof tf.Tensor ? t : t.packed]));
  tf.dispose([...Object.values(grads), ...vars, rt, ...weights]);
  expect(tf.memory().numTensors).toBe(before);
  return { errors, kernels, grads: out };
}

async function checkMatmul(aShape: number[], bShape: number[], transA: boolean, transB: boolean, seed: number): Promise<Record<string, number>> {
  const a = ref.random(aShape, seed);
  const b = ref.random(bShape, seed + 1);
  const y = ref.matmul(a, b, transA, transB);
  const r = ref.random(y.shape, seed + 2);
  const before = tf.memory().numTensors;
  const [at, bt, rt] = [tensor(a), tensor(b), tensor(r)];
  const [da, db] = tf.grads((ai: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(matmul(ai, bi, transA, transB), rt)))([at, bt]);
  expect(da.shape).toEqual(aShape);
  expect(db.shape).toEqual(bShape);
  const want = ref.matmulGrad(a, b, r, transA, transB);
  const errors = { da: ref.relError(await engine.read(da), want.da.data), db: ref.relError(await engine.read(db), want.db.data) };
  tf.dispose([da, db, at, bt, rt]);
  expect(tf.memory().numTensors).toBe(before);
  return errors;
}

// bias_partials may run for a frozen layer: it forms dz = dy · act'(z); its sums are then never reduced.
const WEIGHT_GRAD = ['conv2d-grad-weight:main', 'conv2d-grad-weight:reduce'];

describe('linear gradients, trainable f32 weights', () => {
  const cases: [string, Omit<Case, 'weights'>][] = [
    ['320→1280 silu (time embedding), batch 2', { x: [2, 320], out: 1280, act: 'silu' }],
    ['[2,16,320]→640 gelu (erf)', { x: [2, 16, 320], out: 640, act: 'gelu' }],
    ['[2,16,320]→640 gelu-tanh', { x: [2, 16, 320], out: 640, act: 'gelu-tanh' }],
    ['[2,7,768]→320 quick-gelu (CLIP MLP)', { x: [2, 7, 768], out: 320, act: 'quick-gelu' }],
    ['[2,16,320]→2560 (GEGLU proj), no activation', { x: [2, 16, 320], out: 2560 }],
    ['[2,9,77]→6 odd widths, no bias', { x: [2, 9, 77], out: 6, bias: false }],
    ['[2,5,40]→3 gelu, odd out', { x: [2, 5, 40], out: 3, act: 'gelu' }],
  ];
  it.each(cases)('%s', async (_, c) => {
    const { errors } = await checkLinear({ ...c, weights: 'trainable' }, 11);
    expect(Object.keys(errors)).toEqual(c.bias === false ? ['dx', 'dw'] : ['dx', 'dw', 'db']);
    expectAllBelow(errors, 1e-4);
  });
});

describe('linear gradients, frozen weights: dx only', () => {
  const cases: [string, Case][] = [
    ['f16 [2,48,320]→640 gelu (two bias groups)', { x: [2, 48, 320], out: 640, act: 'gelu', weights: 'f16' }],
    ['f16 [2,9,768]→320 (attention projection)', { x: [2, 9, 768], out: 320, weights: 'f16' }],
    ['f16 [2,5,40]→6 silu, odd halves', { x: [2, 5, 40], out: 6, act: 'silu', weights: 'f16' }],
    ['f32 tensors [2,8,320]→320 quick-gelu', { x: [2, 8, 320], out: 320, act: 'quick-gelu', weights: 'frozen' }],
  ];
  it.each(cases)('%s', async (_, c) => {
    const { errors, kernels } = await checkLinear(c, 23);
    expect(Object.keys(errors)).toEqual(['dx']);
    expect(kernels.filter((k) => WEIGHT_GRAD.includes(k))).toEqual([]);
    expectAllBelow(errors, 1e-4);
  });

  it('trainable W with a frozen bias: dx and dW, no bias sum', async () => {
    const { errors, kernels } = await checkLinear({ x: [2, 8, 320], out: 640, weights: 'frozen-bias' }, 29);
    expect(Object.keys(errors)).toEqual(['dx', 'dw']);
    expect(kernels).not.toContain('conv2d-grad-weight:bias_partials');
    expectAllBelow(errors, 1e-4);
  });
});

describe('matmul gradients', () => {
  const cases: [string, number[], number[], boolean, boolean][] = [
    ['[37,64]·[64,48]', [37, 64], [64, 48], false, false],
    ['Aᵀ: [64,37]ᵀ·[64,48]', [64, 37], [64, 48], true, false],
    ['Bᵀ: [37,64]·[48,64]ᵀ', [37, 64], [48, 64], false, true],
    ['both: [64,37]ᵀ·[48,64]ᵀ', [64, 37], [48, 64], true, true],
    ['batched [3,20,40]·[3,40,24]', [3, 20, 40], [3, 40, 24], false, false],
    ['broadcast B: [3,20,40]·[24,40]ᵀ', [3, 20, 40], [24, 40], false, true],
    ['broadcast A of batch 1: [1,40,20]ᵀ·[3,40,24]', [1, 40, 20], [3, 40, 24], true, false],
  ];
  it.each(cases)('%s', async (_, aShape, bShape, transA, transB) => {
    expectAllBelow(await checkMatmul(aShape, bShape, transA, transB, 31), 1e-4);
  });
});

describe('linear gradients past the limits', () => {
  it('chunks rows when x, dy and dz exceed a lowered binding limit', async () => {
    // 4096 bytes: rows of 40 and 24 features, 25 rows a chunk for x, 42 for dy; the bias sums and dW
    // fold chunk after chunk in order; dW [40,24] (3840 B) fits.
    await withLimits({ maxStorageBufferBindingSize: 4096 }, async () => {
      const { errors } = await checkLinear({ x: [2, 70, 40], out: 24, act: 'gelu', weights: 'trainable' }, 37);
      expectAllBelow(errors, 1e-4);
      const f16 = await checkLinear({ x: [2, 70, 40], out: 24, act: 'silu', weights: 'f16' }, 41);
      expectAllBelow(f16.errors, 1e-4);
    });
  });

  it('splits dispatches past a lowered maxComputeWorkgroupsPerDimension', async () => {
    // dW [320, 320]: 5×5 tiles and splits; dx 160 rows (3 tiles) × 320; bias 5 column blocks; limit 2.
    await withLimits({ maxComputeWorkgroupsPerDimension: 2 }, async () => {
      const { errors } = await checkLinear({ x: [2, 80, 320], out: 320, act: 'silu', weights: 'trainable' }, 43);
      expectAllBelow(errors, 1e-4);
      expectAllBelow(await checkMatmul([3, 80, 40], [3, 40, 330], false, false, 47), 1e-4);
    });
  });
});

describe('linear gradients are deterministic', () => {
  it('repeats bit for bit', async () => {
    const c: Case = { x: [2, 64, 320], out: 640, act: 'gelu', weights: 'trainable' };
    const first = await checkLinear(c, 53);
    const second = await checkLinear(c, 53);
    expect(first.kernels).toContain('conv2d-grad-weight:reduce');
    first.grads.forEach((g, i) => expect(Buffer.from(g.buffer).equals(Buffer.from(second.grads[i].buffer))).toBe(true));
  });
});

describe('float64 reference', () => {
  it('activationGrad matches central differences of activation', () => {
    for (const kind of ['silu', 'gelu', 'gelu-tanh', 'quick-gelu']) {
      for (const v of [-6, -2.5, -1, -0.3, 0, 0.2, 0.9, 2, 4.5]) {
        const numeric = (ref.activation(v + 1e-6, kind) - ref.activation(v - 1e-6, kind)) / 2e-6;
        expect(Math.abs(ref.activationGrad(v, kind) - numeric), `${kind} at ${v}`).toBeLessThan(1e-8);
      }
    }
  });
});
