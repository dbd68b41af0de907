// Activations, GEGLU, add, nearest upsampling and channel concat against the float64 CPU references:
// SD shapes at small spatial sizes, vec4 and scalar paths, broadcasting, extreme inputs, GELU's erf
// accuracy on a dense grid, torch's float32 nearest indices for explicit sizes. Limits lowered file-wide:
// 64 KiB bindings (larger tensors run in row chunks) and 8 workgroups per dimension (grids fold to 2D).
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { activation, add, geglu } from '../../src/ops/activations';
import { concatChannels, upsampleNearest } from '../../src/ops/resample';
import type { Activation } from '../../src/ops/types';
import {
  activation as activationRef,
  arr,
  concatChannels as concatRef,
  geglu as gegluRef,
  map,
  random,
  relError,
  upsampleNearest as upsampleRef,
  type Arr,
} from '../reference/cpu';
import { startEngine } from '../engine-helpers';

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine({ testLimits: { maxStorageBufferBindingSize: 64 * 1024, maxComputeWorkgroupsPerDimension: 8 } });
});
afterAll(() => engine.dispose());

const f32 = (a: Arr): Arr => arr(a.shape, Float32Array.from(a.data));
const gpu = (a: Arr) => tf.tensor(Float32Array.from(a.data), a.shape);

/** Runs op on GPU copies of the inputs, checks shape and that only the output stays alive. */
async function run(op: (...t: tf.Tensor[]) => tf.Tensor, inputs: Arr[], shape: number[]): Promise<Float32Array> {
  const ts = inputs.map(gpu);
  const before = tf.memory().numTensors;
  const y = op(...ts);
  expect(tf.memory().numTensors).toBe(before + 1);
  expect(y.shape).toEqual(shape);
  const got = (await engine.read(y)) as Float32Array;
  tf.dispose([y, ...ts]);
  return got;
}

describe('activation', () => {
  const kinds: Activation[] = ['silu', 'gelu', 'gelu-tanh', 'quick-gelu', 'none'];
  for (const kind of kinds) {
    it(`${kind}: vec4 [2,8,8,320] (chunked) and scalar [3,7,5]`, async () => {
      for (const shape of [[2, 8, 8, 320], [3, 7, 5]]) {
        const x = f32(random(shape, 3, 6));
        const got = await run((t) => activation(t, kind), [x], shape);
        expect(relError(got, map(x, (v) => activationRef(v, kind)).data)).toBeLessThan(1e-5);
      }
    });
  }

  it('stays finite and exact in the tails (|x| up to 1e4)', async () => {
    const values = [-1e4, -300, -100, -88, -30, -9, -5, -1e-3, 0, 1e-3, 5, 9, 30, 88, 100, 300, 1e4];
    const x = f32(arr([values.length], values));
    for (const kind of ['silu', 'gelu', 'gelu-tanh', 'quick-gelu'] as Activation[]) {
      const got = await run((t) => activation(t, kind), [x], [values.length]);
      values.forEach((v, i) => {
        const want = activationRef(v, kind);
        expect(Math.abs(got[i] - want)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want)));
      });
    }
  });

  it('GELU (erf) within 1e-6·max(1, |x|) of float64 on a dense grid', async () => {
    const n = 16001;
    const x = f32(arr([n], Array.from({ length: n }, (_, i) => -8 + (16 * i) / (n - 1))));
    const got = await run((t) => activation(t, 'gelu'), [x], [n]);
    let worst = 0;
    x.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(got[i] - activationRef(v, 'gelu')) / Math.max(1, Math.abs(v)))));
    expect(worst).toBeLessThan(1e-6);
  });
});

describe('geglu', () => {
  for (const shape of [[2, 16, 2560], [1, 77, 2560], [2, 3, 4, 12], [2, 5, 6]]) {
    it(`[${shape}] -> hidden * gelu(gate)`, async () => {
      const x = f32(random(shape, 7, 4));
      const out = [...shape.slice(0, -1), shape[shape.length - 1] / 2];
      const got = await run((t) => geglu(t), [x], out);
      expect(relError(got, gegluRef(x).data)).toBeLessThan(1e-5);
    });
  }
});

describe('add', () => {
  const cases: [number[], number[]][] = [
    [[2, 8, 8, 320], [2, 8, 8, 320]], // chunked
    [[2, 8, 8, 320], [2, 1, 1, 320]], // temb broadcast over pixels, chunked
    [[2, 4, 4, 320], [320]],
    [[1, 1, 320], [2, 77, 320]], // a broadcast, b full
    [[3, 5, 7], [3, 1, 7]], // scalar path
    [[5, 1], [1, 6]], // both broadcast
    [[2, 3, 4, 5], [2, 1, 4, 1]], // four collapsed dims
    [[7], [7]],
  ];
  for (const [sa, sb] of cases) {
    it(`[${sa}] + [${sb}]`, async () => {
      const a = f32(random(sa, 1));
      const b = f32(random(sb, 2));
      const rank = Math.max(sa.length, sb.length);
      const pad = (s: number[]) => [...Array(rank - s.length).fill(1), ...s];
      const [pa, pb] = [pad(sa), pad(sb)];
      const out = pa.map((d, i) => Math.max(d, pb[i]));
      const want = arr(out);
      const strides = (s: number[]) => s.map((_, i) => (s[i] === 1 ? 0 : s.slice(i + 1).reduce((x, y) => x * y, 1)));
      const [ta, tb] = [strides(pa), strides(pb)];
      for (let i = 0; i < want.data.length; i++) {
        let rest = i;
        let ia = 0;
        let ib = 0;
        for (let k = rank - 1; k >= 0; k--) {
          const c = rest % out[k];
          rest = Math.floor(rest / out[k]);
          ia += c * ta[k];
          ib += c * tb[k];
        }
        want.data[i] = a.data[ia] + b.data[ib];
      }
      const got = await run((x, y) => add(x, y), [a, b], out);
      expect(relError(got, want.data)).toBeLessThan(1e-6);
    });
  }
});

/** torch's nearest index: float32 scale in/out, float32 product, exact for equal and doubled sizes. */
function torchNearest(dst: number, size: number, outSize: number): number {
  if (outSize === size) return dst;
  if (outSize === 2 * size) return dst >> 1;
  return Math.min(Math.floor(Math.fround(dst * Math.fround(size / outSize))), size - 1);
}

describe('upsampleNearest', () => {
  const cases: [number[], [number, number] | undefined][] = [
    [[2, 8, 8, 320], undefined], // 2x, output 655 KiB: chunked
    [[2, 4, 4, 1280], undefined],
    [[1, 1, 1, 640], undefined], // 1×1 spatial
    [[1, 4, 4, 64], [7, 7]], // latents not divisible by 8: explicit sizes
    [[2, 7, 5, 12], [13, 9]],
    [[1, 3, 3, 6], [5, 7]], // C % 4 != 0
    [[1, 8, 8, 4], [3, 5]], // nearest downsampling
    [[1, 12, 12, 640], [25, 23]], // chunked, explicit size
  ];
  for (const [shape, size] of cases) {
    it(`[${shape}] -> ${size ? `[${size}]` : '2x'}`, async () => {
      const x = f32(random(shape, 5));
      const [b, h, w, c] = shape;
      const [oh, ow] = size ?? [2 * h, 2 * w];
      const got = await run((t) => upsampleNearest(t as tf.Tensor4D, size), [x], [b, oh, ow, c]);
      const want = upsampleRef(x, oh, ow);
      // torch's float32 indices agree with the exact floor(dst * in / out) for every size tested here.
      for (let d = 0; d < oh; d++) expect(torchNearest(d, h, oh)).toBe(Math.min(h - 1, Math.floor((d * h) / oh)));
      expect(relError(got, want.data)).toBe(0);
    });
  }

  it('follows torch (float32 scale) where it differs from exact division: 3 -> 123 rows', async () => {
    const x = f32(random([1, 3, 1, 4], 6));
    const got = await run((t) => upsampleNearest(t as tf.Tensor4D, [123, 1]), [x], [1, 123, 1, 4]);
    expect(torchNearest(41, 3, 123)).toBe(0); // exact floor(41 * 3 / 123) is 1
    const want = arr([1, 123, 1, 4]);
    for (let d = 0; d < 123; d++) for (let c = 0; c < 4; c++) want.data[d * 4 + c] = x.data[torchNearest(d, 3, 123) * 4 + c];
    expect(relError(got, want.data)).toBe(0);
  });
});

describe('concatChannels', () => {
  const cases: [number[], number][] = [
    [[2, 8, 8, 640], 320], // chunked
    [[1, 4, 4, 1280], 1280],
    [[2, 1, 1, 1280], 640],
    [[2, 3, 3, 6], 3], // scalar path
  ];
  for (const [shape, cb] of cases) {
    it(`[${shape}] + ${cb} channels`, async () => {
      const a = f32(random(shape, 8));
      const b = f32(random([...shape.slice(0, 3), cb], 9));
      const got = await run((x, y) => concatChannels(x as tf.Tensor4D, y as tf.Tensor4D), [a, b], [...shape.slice(0, 3), shape[3] + cb]);
      expect(relError(got, concatRef(a, b).data)).toBe(0);
    });
  }
});
