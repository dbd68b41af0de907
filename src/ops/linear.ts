// linear / matmul on shaders/matmul.wgsl: tiled GEMM with register blocking, fused bias, activation and
// residual, f16 or f32 weights. Owns shapes, the row chunking of tensors past the storage binding limit
// and the splitting of grids past the dispatch limit. Also the helpers conv2d.ts shares (weight and output
// template switches, tile choice, buffer-copy slicing, and the deterministic weight/bias gradient
// reductions of shaders/conv2d-grad-weight.wgsl: a linear layer's dW is a 1×1 convolution's).
// Gradients (through `differentiable`): dx = dz · Wᵀ on matmul.wgsl (f16 or f32 W), dW = xᵀ · dz and
// db = Σ dz on conv2d-grad-weight.wgsl, where dz = dy · act'(z) with the pre-activation z recomputed.
import { sliceElements, writeElements } from '../engine/tensor-copy';
import * as tf from '@tensorflow/tfjs';
import { engine } from '../engine/engine';
import { flatGrid } from '../engine/grid';
import type { KernelVariant } from '../engine/kernel-runtime';
import { differentiable } from './autodiff';
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
 * With transB, w [in, out] is read transposed: x [rows, out] · wᵀ -> [rows, in] (input gradients).
 */
export function rowsGemm(x: tf.Tensor2D, w: Weight, bias: Weight | undefined, act: Activation, residual?: tf.Tensor, transB = false): tf.Tensor2D {
  const [rows, k] = x.shape;
  const [w0, w1] = weightShape(w).slice(-2); // [in, out], or a 1×1 conv's [1, 1, in, out]
  const [wk, n] = transB ? [w1, w0] : [w0, w1];
  if (wk !== k) throw new Error(`linear: input has ${k} features, weight expects ${wk}`);
  checkBinding('linear', 'the weight', weightTensor(w));
  const limit = engine().limits.maxStorageBufferBindingSize;
  const chunk = Math.floor(limit / (Math.max(k, n) * F32));
  if (chunk < 1) throw new Error(`linear: one row of ${Math.max(k, n)} features exceeds the storage binding limit`);
  const call = (a: tf.Tensor, r: number, res?: tf.Tensor) =>
    gemm({ a, b: w, bias, residual: res, m: r, n, k, batch: 1, strideA: 0, strideB: 0, transA: false, transB, act, outShape: [r, n] });
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

// ---- Weight and bias gradients (shaders/conv2d-grad-weight.wgsl), shared with conv2d.ts ----

/** A convolution's geometry; a linear layer over `rows` rows is the 1×1 one of an image [1, rows, 1, in]. */
export interface ConvGeometry {
  h: number;
  w: number;
  cin: number;
  cout: number;
  kh: number;
  kw: number;
  stride: number;
  pad: number;
  oh: number;
  ow: number;
}

/** Output rows outRow0.. of `images` images from image0 on, with the input rows inRow0.. they read. */
export interface ConvWindow {
  image0: number;
  images: number;
  inRow0: number;
  inRows: number;
  outRow0: number;
  outRows: number;
}

// Split-K: enough workgroups to fill a large GPU, but at least this many TK steps per split.
const TARGET_WORKGROUPS = 1024;
const MIN_STEPS_PER_SPLIT = 8;
// Rows per bias-gradient group: at most ~256 groups, at least 64 rows each.
const MAX_BIAS_GROUPS = 256;

// Every template value of conv2d-grad-weight.wgsl; each entry point's variant overrides its own.
const GRAD_WEIGHT_DEFAULTS: Record<string, string | number> = {
  RM: 4, KW: 1, STRIDE: 1, PAD: 0, ACT: 0, A_V4: '', A_S: '//', B_V4: '', B_S: '//', C_V4: '', C_S: '//',
  HAS_ACT: '//', B_PART: 1, B_DZ: 2, B_BPARAMS: 2, RV: 'f32', ACC: '//', B_OUT: 1, B_RPARAMS: 2,
};

/** out = Σ_s parts[s] (+ prev) over `length` elements, s in order. */
function reduceSplits(parts: tf.Tensor, splits: number, length: number, prev?: tf.Tensor): tf.Tensor {
  const e = engine();
  const v4 = length % 4 === 0;
  const units = v4 ? length / 4 : length;
  const grid = flatGrid(units, 256, e.limits.maxComputeWorkgroupsPerDimension);
  const variant: KernelVariant = {
    entryPoint: 'reduce',
    defines: {
      ...GRAD_WEIGHT_DEFAULTS,
      RV: v4 ? 'vec4<f32>' : 'f32',
      ACC: on(prev !== undefined),
      B_OUT: prev ? 2 : 1,
      B_RPARAMS: prev ? 3 : 2,
    },
  };
  const [out] = e.kernels.run('conv2d-grad-weight', variant, {
    inputs: prev ? [parts, prev] : [parts],
    outputs: [{ shape: [length] }],
    uniforms: [['u32', units], ['u32', splits], ['u32', grid[0]]],
    workgroups: grid,
  });
  return out;
}

/** Folds a window's split partials into the running sum (tidy-owned temporaries disposed here). */
function accumulate(sum: tf.Tensor | undefined, parts: tf.Tensor, splits: number, length: number): tf.Tensor {
  if (splits === 1 && !sum) return tf.reshape(parts, [length]);
  const next = reduceSplits(parts, splits, length, sum);
  tf.dispose([parts, ...(sum ? [sum] : [])]);
  return next;
}

/**
 * dW [kh·kw·cin, cout] = Σ over pixels of im2col(x)ᵀ · dy, for x [B, H, W, Cin] and dy [B, OH, OW, Cout]
 * over the given windows (one window of all images when both fit a binding), each window split over its
 * pixels; windows and splits are summed in a fixed order.
 */
export function weightGrad(x: tf.Tensor, dy: tf.Tensor, g: ConvGeometry, windows: ConvWindow[]): tf.Tensor2D {
  return tf.tidy(() => {
    const e = engine();
    const m = g.kh * g.kw * g.cin;
    const n = g.cout;
    const tile = tileFor(n);
    const tm = tile.wgY * tile.rm;
    const tilesM = Math.ceil(m / tm);
    const tilesN = Math.ceil(n / (tile.wgX * 4));
    const limit = e.limits.maxStorageBufferBindingSize;
    if (m * n * F32 > limit) throw new Error(`conv2d backward: the weight gradient [${m}, ${n}] exceeds the storage binding limit`);
    const variant: KernelVariant = {
      defines: {
        ...GRAD_WEIGHT_DEFAULTS,
        RM: tile.rm,
        KW: g.kw,
        STRIDE: g.stride,
        PAD: g.pad,
        A_V4: on(g.cin % 4 === 0),
        A_S: on(g.cin % 4 !== 0),
        B_V4: on(n % 4 === 0),
        B_S: on(n % 4 !== 0),
        C_V4: on(n % 4 === 0),
        C_S: on(n % 4 !== 0),
      },
      ...tileVariant(tile),
    };
    const max = e.limits.maxComputeWorkgroupsPerDimension;
    let sum: tf.Tensor | undefined;
    for (const win of windows) {
      const pixels = win.images * win.outRows * g.ow;
      const byOccupancy = Math.ceil(TARGET_WORKGROUPS / (tilesM * tilesN));
      const byWork = Math.floor(pixels / (tile.tk * MIN_STEPS_PER_SPLIT));
      const byBinding = Math.floor(limit / (m * n * F32));
      const wanted = Math.max(1, Math.min(byOccupancy, byWork, byBinding));
      const splitLen = Math.ceil(Math.ceil(pixels / wanted) / tile.tk) * tile.tk;
      const splits = Math.ceil(pixels / splitLen);
      const whole = windows.length === 1 && x.size === win.images * win.inRows * g.w * g.cin && dy.size === pixels * n;
      const parts = tf.tidy(() => {
        const xw = whole ? x : sliceElements(x, (win.image0 * g.h + win.inRow0) * g.w * g.cin, [win.images, win.inRows, g.w, g.cin]);
        const dyw = whole ? dy : sliceElements(dy, (win.image0 * g.oh + win.outRow0) * g.ow * n, [win.images, win.outRows, g.ow, n]);
        let out: tf.Tensor | undefined;
        for (const [z0, zs] of tileRuns(splits, max))
          for (const [m0, ms] of tileRuns(tilesM, max))
            for (const [n0, ns] of tileRuns(tilesN, max)) {
              [out] = e.kernels.run('conv2d-grad-weight', variant, {
                inputs: [xw, dyw],
                outputs: [out ? { inPlace: out } : { shape: [splits, m, n] }],
                uniforms: [
                  ['u32', m], ['u32', n], ['u32', pixels], ['u32', g.cin], ['u32', g.h], ['u32', g.w],
                  ['u32', win.inRow0], ['u32', win.inRows], ['u32', win.outRow0], ['u32', win.outRows], ['u32', g.ow],
                  ['u32', splitLen], ['u32', m0], ['u32', n0], ['u32', z0],
                ],
                workgroups: [ns, ms, zs],
              });
            }
        return out!;
      });
      sum = accumulate(sum, parts, splits, m * n);
    }
    return tf.reshape(sum!, [m, n]);
  });
}

/**
 * Column sums of dz over the rows of dy [rows, n], in groups then in order (the bias gradient), where
 * dz = dy · act'(z) given the pre-activation z [rows, n] (act 'none': dz = dy, not materialised). Rows are
 * chunked past the storage binding limit. Without `sum` (a frozen bias) only dz is formed.
 */
export function biasGrad(dy: tf.Tensor, n: number, act: Activation = 'none', z?: tf.Tensor, sum = true): { db?: tf.Tensor1D; dz: tf.Tensor } {
  return tf.tidy(() => {
    const e = engine();
    const rows = dy.size / n;
    const hasAct = act !== 'none';
    if (hasAct && !z) throw new Error('biasGrad: an activation needs its pre-activation');
    const chunkRows = Math.floor(e.limits.maxStorageBufferBindingSize / (n * F32));
    if (chunkRows < 1) throw new Error(`linear backward: one row of ${n} features exceeds the storage binding limit`);
    const groupRows = Math.min(chunkRows, Math.max(64, Math.ceil(rows / MAX_BIAS_GROUPS)));
    const rowsPerChunk = Math.floor(chunkRows / groupRows) * groupRows;
    const variant: KernelVariant = {
      entryPoint: 'bias_partials',
      defines: {
        ...GRAD_WEIGHT_DEFAULTS,
        ACT: ACTIVATIONS[act],
        HAS_ACT: on(hasAct),
        B_PART: hasAct ? 2 : 1,
        B_DZ: 3,
        B_BPARAMS: hasAct ? 4 : 2,
      },
    };
    const max = e.limits.maxComputeWorkgroupsPerDimension;
    const dz = hasAct && rows > rowsPerChunk ? e.bridge.emptyTensor([rows, n], 'float32') : undefined;
    let total: tf.Tensor | undefined;
    let dzWhole: tf.Tensor | undefined;
    for (let r0 = 0; r0 < rows; r0 += rowsPerChunk) {
      const r = Math.min(rowsPerChunk, rows - r0);
      const groups = Math.ceil(r / groupRows);
      const whole = r === rows;
      const [parts, dzPart] = tf.tidy(() => {
        const dyc = whole ? dy : sliceElements(dy, r0 * n, [r, n]);
        const inputs = hasAct ? [dyc, whole ? z! : sliceElements(z!, r0 * n, [r, n])] : [dyc];
        const outputs: { inPlace: tf.Tensor }[] = [];
        for (const [g0, gs] of tileRuns(groups, max))
          for (const [c0, cs] of tileRuns(Math.ceil(n / 64), max)) {
            const outs = e.kernels.run('conv2d-grad-weight', variant, {
              inputs,
              outputs: outputs.length ? outputs : hasAct ? [{ shape: [groups, n] }, { shape: [r, n] }] : [{ shape: [groups, n] }],
              uniforms: [['u32', r], ['u32', n], ['u32', groupRows], ['u32', g0], ['u32', c0]],
              workgroups: [cs, gs],
            });
            if (!outputs.length) outputs.push(...outs.map((t) => ({ inPlace: t })));
          }
        return outputs.map((o) => o.inPlace);
      });
      if (dzPart) {
        if (dz) {
          writeElements(dz, dzPart, r0 * n);
          dzPart.dispose();
        } else dzWhole = dzPart;
      }
      if (sum) total = accumulate(total, parts, groups, n);
    }
    return { db: total as tf.Tensor1D | undefined, dz: dz ?? dzWhole ?? dy };
  });
}

/** The gradients of y = act(x · w + bias): dx for x [..., in], and dW, db where `trainable` asks. */
function linearBackward(dy: tf.Tensor, x: tf.Tensor, w: Weight, bias: Weight | undefined, act: Activation, trainable: boolean[]) {
  return tf.tidy(() => {
    const k = x.shape[x.shape.length - 1];
    const n = weightShape(w)[1];
    const rows = x.size / k;
    const x2 = tf.reshape(x, [rows, k]) as tf.Tensor2D;
    let dz = tf.reshape(dy, [rows, n]) as tf.Tensor2D;
    let db: tf.Tensor | undefined;
    if (act !== 'none' || trainable[1]) {
      const z = act === 'none' ? undefined : rowsGemm(x2, w, bias, 'none');
      const r = biasGrad(dz, n, act, z, trainable[1]);
      dz = r.dz as tf.Tensor2D;
      db = r.db;
    }
    const dx = tf.reshape(rowsGemm(dz, w, undefined, 'none', undefined, true), x.shape);
    const geometry: ConvGeometry = { h: rows, w: 1, cin: k, cout: n, kh: 1, kw: 1, stride: 1, pad: 0, oh: rows, ow: 1 };
    const dw = trainable[0] ? weightGrad(x2, dz, geometry, rowWindows(rows, k, n)) : undefined;
    return { inputs: [dx], weights: [dw, trainable[1] ? db : undefined] };
  });
}

/** Row chunks of a linear layer's x [rows, k] and dy [rows, n] that each fit one binding. */
function rowWindows(rows: number, k: number, n: number): ConvWindow[] {
  const chunk = Math.floor(engine().limits.maxStorageBufferBindingSize / (Math.max(k, n) * F32));
  if (chunk < 1) throw new Error(`linear backward: one row of ${Math.max(k, n)} features exceeds the storage binding limit`);
  const windows: ConvWindow[] = [];
  for (let r0 = 0; r0 < rows; r0 += chunk) {
    const r = Math.min(chunk, rows - r0);
    windows.push({ image0: 0, images: 1, inRow0: r0, inRows: r, outRow0: r0, outRows: r });
  }
  return windows;
}

/** x [..., in] · w [in, out] (+ bias) with the activation fused after the bias. */
export function linear(x: tf.Tensor, w: Weight, bias?: Weight, activation: Activation = 'none'): tf.Tensor {
  return differentiable(
    [x],
    [w, bias],
    ([xi], [wi, bi]) =>
      tf.tidy(() => {
        const k = xi.shape[xi.shape.length - 1];
        const n = weightShape(wi!)[1];
        const y = rowsGemm(tf.reshape(xi, [-1, k]), wi!, bi, activation);
        return tf.reshape(y, [...xi.shape.slice(0, -1), n]);
      }),
    (dy, [xi], [wi, bi], trainable) => linearBackward(dy, xi, wi!, bi, activation, trainable),
  );
}

/**
 * f32 matmul of [M, K] (or [K, M] with transposeA) by [K, N] (or [N, K]); either may carry a leading
 * batch axis (a batch of 1 broadcasts). Batches are chunked when a binding would exceed the limit, and
 * so are rows when A is not transposed. Gradients dA, dB are matmuls of the same kernel (a broadcast
 * operand's summed over the batch).
 */
export function matmul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  return differentiable(
    [a, b],
    [],
    ([ai, bi]) => matmulForward(ai, bi, transposeA, transposeB),
    (dy, [ai, bi]) =>
      tf.tidy(() => {
        const da = transposeA ? matmulForward(bi, dy, transposeB, true) : matmulForward(dy, bi, false, !transposeB);
        const db = transposeB ? matmulForward(dy, ai, true, transposeA) : matmulForward(ai, dy, !transposeA, false);
        return { inputs: [unbroadcast(da, ai.shape), unbroadcast(db, bi.shape)], weights: [] };
      }),
  );
}

/** A gradient computed per batch matrix, summed over the batch where the operand was broadcast. */
function unbroadcast(g: tf.Tensor, shape: number[]): tf.Tensor {
  const batched = g.rank === 3 && g.shape[0] > 1 && (shape.length === 2 || shape[0] === 1);
  return tf.reshape(batched ? tf.sum(g, 0) : g, shape);
}

function matmulForward(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor {
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
