// linear / matmul on shaders/matmul.wgsl: tiled GEMM with register blocking, fused bias, activation and
// residual, f16 or f32 weights. Owns shapes, the row chunking of tensors past the storage binding limit
// and the splitting of grids past the dispatch limit. Also the helpers conv2d.ts shares (weight and output
// template switches, tile choice, buffer-copy slicing).
import { sliceElements, writeElements } from '../engine/tensor-copy';
import * as tf from '@tensorflow/tfjs';
import { engine } from '../engine/engine';
import type { KernelVariant } from '../engine/kernel-runtime';
import type { Activation, Weight } from './types';

const ACTIVATIONS: Record<Activation, number> = { none: 0, silu: 1, gelu: 2, 'gelu-tanh': 3, 'quick-gelu': 4 };
const F32 = 4;

export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const on = (flag: boolean) => (flag ? '' : '//');

export function weightShape(w: Weight): number[] {
  return w instanceof tf.Tensor ? w.shape : w.shape;
}

export function weightTensor(w: Weight): tf.Tensor {
  return w instanceof tf.Tensor ? w : w.packed;
}

/** Workgroup tile: WG_X × WG_Y threads, each RM rows × 4 columns; K steps of TK. */
export interface Tile {
  wgX: number;
  wgY: number;
  rm: number;
  tk: number;
}

/** 64×64 tiles; narrow outputs (Cout 3, 4, 8) get as few column threads as cover them. */
export function tileFor(n: number): Tile {
  let wgX = 1;
  while (wgX < 16 && wgX * 4 < n) wgX *= 2;
  return { wgX, wgY: 16, rm: 4, tk: 16 };
}

export function tileVariant(tile: Tile): Pick<KernelVariant, 'constants'> {
  return { constants: { WG_X: tile.wgX, WG_Y: tile.wgY, TK: tile.tk } };
}

/**
 * Template switches shared by matmul.wgsl and conv2d.wgsl for the B operand (weights), bias, residual
 * and output, and the binding numbers that follow from which of them are present.
 */
export function epilogueDefines(w: Weight, bContiguous: number, bias: Weight | undefined, residual: boolean, n: number): Record<string, string | number> {
  const f16 = !(w instanceof tf.Tensor);
  const bv4 = bContiguous % 4 === 0;
  const biasBinding = 2;
  const resBinding = biasBinding + (bias ? 1 : 0);
  const outBinding = resBinding + (residual ? 1 : 0);
  return {
    B_F32V4: on(!f16 && bv4),
    B_F32S: on(!f16 && !bv4),
    B_F16V4: on(f16 && bv4),
    B_F16S: on(f16 && !bv4),
    B_S: on(!bv4),
    BIAS_F32: on(bias instanceof tf.Tensor),
    BIAS_F16: on(bias !== undefined && !(bias instanceof tf.Tensor)),
    NO_BIAS: on(bias === undefined),
    RES: on(residual),
    C_V4: on(n % 4 === 0),
    C_S: on(n % 4 !== 0),
    B_BIAS: biasBinding,
    B_RES: resBinding,
    B_OUT: outBinding,
    B_PARAMS: outBinding + 1,
  };
}

export function checkBinding(kernel: string, what: string, t: tf.Tensor): void {
  const limit = engine().limits.maxStorageBufferBindingSize;
  const bytes = t.size * F32;
  if (bytes > limit) throw new Error(`${kernel}: ${what} is ${bytes} bytes, over the ${limit}-byte storage binding limit`);
}

/** Splits `count` tiles into runs of at most `max` (one dispatch each): [first, length][]. */
export function tileRuns(count: number, max: number): [number, number][] {
  const runs: [number, number][] = [];
  for (let first = 0; first < count; first += max) runs.push([first, Math.min(max, count - first)]);
  return runs;
}

interface Gemm {
  a: tf.Tensor;
  b: Weight;
  bias?: Weight;
  residual?: tf.Tensor;
  m: number;
  n: number;
  k: number;
  batch: number;
  strideA: number;
  strideB: number;
  transA: boolean;
  transB: boolean;
  act: Activation;
  outShape: number[];
}

/** One GEMM whose bindings all fit; dispatches split past maxComputeWorkgroupsPerDimension. */
function gemm(g: Gemm): tf.Tensor {
  const e = engine();
  const tile = tileFor(g.n);
  const f16 = !(g.b instanceof tf.Tensor);
  const variant: KernelVariant = {
    defines: {
      RM: tile.rm,
      ACT: ACTIVATIONS[g.act],
      A_V4: on((g.transA ? g.m : g.k) % 4 === 0),
      A_S: on((g.transA ? g.m : g.k) % 4 !== 0),
      A_N: on(!g.transA),
      A_T: on(g.transA),
      B_N: on(!g.transB),
      B_T: on(g.transB),
      ...epilogueDefines(g.b, g.transB ? g.k : g.n, g.bias, g.residual !== undefined, g.n),
    },
    ...tileVariant(tile),
  };
  if (f16 && g.transB) throw new Error('matmul: transposed f16 weights are not supported');
  const inputs = [g.a, weightTensor(g.b)];
  if (g.bias) inputs.push(weightTensor(g.bias));
  if (g.residual) inputs.push(g.residual);
  const max = e.limits.maxComputeWorkgroupsPerDimension;
  const tilesM = Math.ceil(g.m / (tile.wgY * tile.rm));
  const tilesN = Math.ceil(g.n / (tile.wgX * 4));
  let out: tf.Tensor | undefined;
  for (const [z0, zs] of tileRuns(g.batch, max))
    for (const [m0, ms] of tileRuns(tilesM, max))
      for (const [n0, ns] of tileRuns(tilesN, max)) {
        [out] = e.kernels.run('matmul', variant, {
          inputs,
          outputs: [out ? { inPlace: out } : { shape: g.outShape }],
          uniforms: [
            ['u32', g.m], ['u32', g.n], ['u32', g.k],
            ['u32', g.strideA], ['u32', g.strideB], ['u32', g.m * g.n],
            ['u32', m0], ['u32', n0], ['u32', z0],
          ],
          workgroups: [ns, ms, zs],
        });
      }
  return out!;
}

/**
 * x [rows, in] · w [in, out] + bias, activation, + residual [rows, out]; rows are chunked (buffer copies)
 * when x, the residual or the output would exceed the storage binding limit. Used by conv2d for 1×1 convs.
 */
export function rowsGemm(x: tf.Tensor2D, w: Weight, bias: Weight | undefined, act: Activation, residual?: tf.Tensor): tf.Tensor2D {
  const [rows, k] = x.shape;
  const [wk, n] = weightShape(w).slice(-2); // [in, out], or a 1×1 conv's [1, 1, in, out]
  if (wk !== k) throw new Error(`linear: input has ${k} features, weight expects ${wk}`);
  checkBinding('linear', 'the weight', weightTensor(w));
  const limit = engine().limits.maxStorageBufferBindingSize;
  const chunk = Math.floor(limit / (Math.max(k, n) * F32));
  if (chunk < 1) throw new Error(`linear: one row of ${Math.max(k, n)} features exceeds the storage binding limit`);
  const call = (a: tf.Tensor, r: number, res?: tf.Tensor) =>
    gemm({ a, b: w, bias, residual: res, m: r, n, k, batch: 1, strideA: 0, strideB: 0, transA: false, transB: false, act, outShape: [r, n] });
  if (rows <= chunk) return call(x, rows, residual) as tf.Tensor2D;
  const out = engine().bridge.emptyTensor([rows, n], 'float32');
  for (let r0 = 0; r0 < rows; r0 += chunk) {
    const r = Math.min(chunk, rows - r0);
    tf.tidy(() => {
      const part = call(sliceElements(x, r0 * k, [r, k]), r, residual && sliceElements(residual, r0 * n, [r, n]));
      writeElements(out, part, r0 * n);
    });
  }
  return out as tf.Tensor2D;
}

/** x [..., in] · w [in, out] (+ bias) with the activation fused after the bias. */
export function linear(x: tf.Tensor, w: Weight, bias?: Weight, activation: Activation = 'none'): tf.Tensor {
  return tf.tidy(() => {
    const k = x.shape[x.shape.length - 1];
    const n = weightShape(w)[1];
    const y = rowsGemm(tf.reshape(x, [-1, k]), w, bias, activation);
    return tf.reshape(y, [...x.shape.slice(0, -1), n]);
  });
}

/**
 * f32 matmul of [M, K] (or [K, M] with transposeA) by [K, N] (or [N, K]); either may carry a leading
 * batch axis (a batch of 1 broadcasts). Batches are chunked when a binding would exceed the limit, and
 * so are rows when A is not transposed.
 */
export function matmul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  return tf.tidy(() => {
    const [ba, a0, a1] = a.rank === 3 ? a.shape : [1, ...a.shape];
    const [bb, b0, b1] = b.rank === 3 ? b.shape : [1, ...b.shape];
    if (a.rank < 2 || a.rank > 3 || b.rank < 2 || b.rank > 3) throw new Error('matmul: operands must have rank 2 or 3');
    const [m, k] = transposeA ? [a1, a0] : [a0, a1];
    const [kb, n] = transposeB ? [b1, b0] : [b0, b1];
    if (k !== kb) throw new Error(`matmul: inner dimensions ${k} and ${kb} differ`);
    if (ba !== bb && ba !== 1 && bb !== 1) throw new Error(`matmul: batch sizes ${ba} and ${bb} do not broadcast`);
    const batch = Math.max(ba, bb);
    const outShape = a.rank === 3 || b.rank === 3 ? [batch, m, n] : [m, n];
    const base = { n, k, transA: transposeA, transB: transposeB, act: 'none' as const };
    const limit = engine().limits.maxStorageBufferBindingSize;
    const fits = (...sizes: number[]) => sizes.every((s) => s * F32 <= limit);
    if (fits(a.size, b.size, batch * m * n)) {
      return gemm({ ...base, a, b, m, batch, strideA: ba > 1 ? m * k : 0, strideB: bb > 1 ? k * n : 0, outShape });
    }
    // One matrix pair at a time, A's rows in chunks when A is stored [M, K].
    const rowsPerChunk = transposeA ? m : Math.floor(limit / (Math.max(k, n) * F32));
    if (rowsPerChunk < 1 || (transposeA && !fits(k * n, m * k))) throw new Error('matmul: one matrix exceeds the storage binding limit');
    const out = engine().bridge.emptyTensor(outShape, 'float32');
    for (let z = 0; z < batch; z++) {
      for (let r0 = 0; r0 < m; r0 += rowsPerChunk) {
        const r = Math.min(rowsPerChunk, m - r0);
        tf.tidy(() => {
          const aPart = sliceElements(a, (ba > 1 ? z * m * k : 0) + r0 * k, transposeA ? [k, m] : [r, k]);
          const bPart = bb > 1 || !fits(b.size) ? sliceElements(b, bb > 1 ? z * k * n : 0, [k * n]) : b;
          checkBinding('matmul', 'one B matrix', bPart);
          const part = gemm({ ...base, a: aPart, b: bPart, m: r, batch: 1, strideA: 0, strideB: 0, outShape: [r, n] });
          writeElements(out, part, (z * m + r0) * n);
        });
      }
    }
    return out;
  });
}
