// Flash attention backward (shaders/flash-attention-grad.wgsl) and `attention` with its gradient: the
// forward is src/ops/attention.ts; the backward recomputes out and lse with it (only q, k, v are saved),
// then rowStats (D = rowsum(dO ∘ O)), the keys pass (dK, dV) and the queries pass (dQ). Past the storage
// binding limit, rows are copied into chunks per batch; each key chunk's dK, dV sums over the query chunks
// and each query chunk's dQ over the key chunks, in chunk order, in the kernel (deterministic).
import * as tf from '@tensorflow/tfjs';
import { engine, type Engine } from '../engine/engine';
import { flatGrid } from '../engine/grid';
import { sliceElements, writeElements } from '../engine/tensor-copy';
import { attention as attentionForward, attentionWithLse } from './attention';
import { differentiable } from './autodiff';
import type { AttentionOptions } from './types';

const LOG2E = Math.LOG2E;
/** Vec4 columns per thread: the keys pass holds four row arrays (k, v, dK, dV) in registers, the forward two. */
const MAX_DPT = 5;
const STAT_ITEMS_PER_GROUP = 64;

export interface GradTiles {
  /** Threads per row, vec4 columns per thread, rows per thread, rows per workgroup, rows per streamed tile. */
  tpr: number;
  dpt: number;
  rpt: number;
  br: number;
  bt: number;
}

/** Tiles for a head of d4 vec4s when a workgroup owns rows of a sequence of `rows` (keys or queries). */
export function attentionGradTiles(d4: number, rows: number, workgroupBytes: number): GradTiles {
  let tpr = 1;
  while (Math.ceil(d4 / tpr) > MAX_DPT) tpr *= 2;
  const threads = tpr >= 4 ? 128 : 64;
  let br = (threads / tpr) * 2;
  while (br > 1 && br / 2 >= rows) br /= 2;
  const rpt = br >= 2 ? 2 : 1;
  // 8 streamed rows: the per-tile score and dP arrays stay small in registers (16 doubled lavapipe's
  // compile time). Workgroup memory: two row tiles, the stats tile, and two partial-sum arrays.
  let bt = 8;
  while (bt > 1 && 2 * bt * d4 * 16 + bt * 8 + 2 * bt * br * tpr * 4 > workgroupBytes) bt /= 2;
  return { tpr, dpt: Math.ceil(d4 / tpr), rpt, br, bt };
}

/** The Ops attention with its gradient: q [B, Lq, heads·D], k/v [B, Lk, heads·D]. */
export function attention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, opts: AttentionOptions): tf.Tensor3D {
  return differentiable(
    [q, k, v],
    [],
    ([qi, ki, vi]) => attentionForward(qi as tf.Tensor3D, ki as tf.Tensor3D, vi as tf.Tensor3D, opts),
    (dy, [qi, ki, vi]) => ({ inputs: attentionGrad(dy, qi as tf.Tensor3D, ki as tf.Tensor3D, vi as tf.Tensor3D, opts), weights: [] }),
  );
}

/** [dQ, dK, dV] of attention(q, k, v, opts) for the output gradient dy. */
export function attentionGrad(dy: tf.Tensor3D, q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, opts: AttentionOptions): tf.Tensor3D[] {
  const [b, , inner] = q.shape;
  const heads = opts.heads;
  if (dy.shape.join() !== q.shape.join() || k.shape[0] !== b || k.shape[2] !== inner || v.shape.join() !== k.shape.join() || inner % heads !== 0) {
    throw new Error(`attention gradient: dy [${dy.shape}], q [${q.shape}], k [${k.shape}], v [${v.shape}] do not fit ${heads} heads`);
  }
  const d = inner / heads;
  const scale = opts.scale ?? 1 / Math.sqrt(d);
  const causal = opts.causal ?? false;
  return tf.tidy(() => {
    if (d % 4 === 0) return gradChunked(dy, q, k, v, heads, scale, causal);
    // vec4 rows: zero columns change no score, and their gradient columns are dropped.
    const d4 = Math.ceil(d / 4) * 4;
    const pad = (t: tf.Tensor3D) =>
      tf.reshape(tf.pad(tf.reshape(t, [b, t.shape[1], heads, d]), [[0, 0], [0, 0], [0, 0], [0, d4 - d]]), [b, t.shape[1], heads * d4]) as tf.Tensor3D;
    const unpad = (t: tf.Tensor3D) =>
      tf.reshape(tf.slice(tf.reshape(t, [b, t.shape[1], heads, d4]), [0, 0, 0, 0], [b, t.shape[1], heads, d]), [b, t.shape[1], inner]) as tf.Tensor3D;
    return gradChunked(pad(dy), pad(q), pad(k), pad(v), heads, scale, causal).map(unpad);
  });
}

interface Call {
  heads: number;
  scale: number;
  causal: boolean;
  causalShift: number;
}

/** The tensors one gradient pass binds: q and dy rows with their stats, k and v rows. */
interface Bound {
  q: tf.Tensor3D;
  k: tf.Tensor3D;
  v: tf.Tensor3D;
  dy: tf.Tensor3D;
  stats: tf.Tensor;
}

function gradChunked(dy: tf.Tensor3D, q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, heads: number, scale: number, causal: boolean): tf.Tensor3D[] {
  const e = engine();
  const [b, lq, inner] = q.shape;
  const lk = k.shape[1];
  const [out, lse] = attentionWithLse(q, k, v, { heads, scale, causal });
  const limit = e.limits.maxStorageBufferBindingSize;
  // A query row binds inner floats of q, dy (and dQ) and 2·heads of stats; a key row inner floats.
  const rowBytes = Math.max(inner, 2 * heads) * 4;
  const call = { heads, scale, causal, causalShift: 0 };
  if (b * Math.max(lq, lk) * rowBytes <= limit) {
    const all = { q, k, v, dy, stats: rowStats(e, out, dy, lse, heads) };
    const [dk, dv] = gradPass(e, 'keys', all, call);
    const [dq] = gradPass(e, 'queries', all, call);
    return [dq, dk, dv] as tf.Tensor3D[];
  }

  const rowsPerChunk = Math.floor(limit / rowBytes);
  if (rowsPerChunk < 1) throw new Error(`attention gradient: one token row (${rowBytes} bytes) exceeds the storage binding limit`);
  const dq = e.bridge.emptyTensor([b, lq, inner], 'float32') as tf.Tensor3D;
  const dk = e.bridge.emptyTensor([b, lk, inner], 'float32') as tf.Tensor3D;
  const dv = e.bridge.emptyTensor([b, lk, inner], 'float32') as tf.Tensor3D;
  for (let n = 0; n < b; n++) {
    tf.tidy(() => {
      const rowsOf = (t: tf.Tensor, l: number, first: number, rows: number, width: number) =>
        sliceElements(t, (n * l + first) * width, [1, rows, width]) as tf.Tensor3D;
      const qChunks = ranges(lq, rowsPerChunk).map(([row0, rows]) => {
        const dyc = rowsOf(dy, lq, row0, rows, inner);
        const stats = rowStats(e, rowsOf(out, lq, row0, rows, inner), dyc, rowsOf(lse, lq, row0, rows, heads), heads);
        return { row0, q: rowsOf(q, lq, row0, rows, inner), dy: dyc, stats };
      });
      const kChunks = ranges(lk, rowsPerChunk).map(([key0, keys]) => ({ key0, k: rowsOf(k, lk, key0, keys, inner), v: rowsOf(v, lk, key0, keys, inner) }));
      for (const kc of kChunks) {
        let grads: tf.Tensor[] | undefined;
        for (const qc of qChunks) grads = gradPass(e, 'keys', { ...qc, ...kc }, { ...call, causalShift: qc.row0 - kc.key0 }, grads);
        writeElements(dk, grads![0], (n * lk + kc.key0) * inner);
        writeElements(dv, grads![1], (n * lk + kc.key0) * inner);
      }
      for (const qc of qChunks) {
        let grads: tf.Tensor[] | undefined;
        for (const kc of kChunks) grads = gradPass(e, 'queries', { ...qc, ...kc }, { ...call, causalShift: qc.row0 - kc.key0 }, grads);
        writeElements(dq, grads![0], (n * lq + qc.row0) * inner);
      }
    });
  }
  return [dq, dk, dv];
}

function ranges(total: number, step: number): [number, number][] {
  const out: [number, number][] = [];
  for (let start = 0; start < total; start += step) out.push([start, Math.min(step, total - start)]);
  return out;
}

function variantDefines(d4: number, tiles: GradTiles, causal: boolean): Record<string, string | number> {
  return { D4: d4, TPR: tiles.tpr, DPT: tiles.dpt, RPT: tiles.rpt, BT: tiles.bt, CAUSAL: String(causal) };
}

/** stats [rows·heads] vec2 (lse · log2 e, rowsum(dy ∘ out)) of out, dy [.., rows, heads·D], lse [.., rows, heads]. */
function rowStats(e: Engine, out: tf.Tensor3D, dy: tf.Tensor3D, lse: tf.Tensor3D, heads: number): tf.Tensor {
  const items = lse.size;
  const d4 = out.shape[2] / heads / 4;
  // The template needs every define; only D4 matters to this entry point.
  const tiles = attentionGradTiles(d4, 1, e.limits.maxComputeWorkgroupStorageSize);
  const variant = { defines: variantDefines(d4, tiles, false), entryPoint: 'rowStats' };
  const max = e.limits.maxComputeWorkgroupsPerDimension;
  const perDispatch = max * max * STAT_ITEMS_PER_GROUP;
  let stats: tf.Tensor | undefined;
  for (let base = 0; base < items; base += perDispatch) {
    const count = Math.min(perDispatch, items - base);
    const grid = flatGrid(count, STAT_ITEMS_PER_GROUP, max);
    [stats] = e.kernels.run('flash-attention-grad', variant, {
      inputs: [out, dy, lse],
      outputs: [stats ? { inPlace: stats } : { shape: [items * 2] }],
      uniforms: [
        ['u32', base + count],
        ['u32', grid[0]],
        ['u32', base],
      ],
      workgroups: grid,
    });
  }
  return stats!;
}

/**
 * One gradient pass on tensors within the binding limit, split into dispatches past the grid limit:
 * 'keys' gives [dK, dV], 'queries' [dQ]; with `into` the results are added to those tensors.
 */
function gradPass(e: Engine, entry: 'keys' | 'queries', t: Bound, call: Call, into?: tf.Tensor[]): tf.Tensor[] {
  const [b, lq, inner] = t.q.shape;
  const lk = t.k.shape[1];
  const d4 = inner / call.heads / 4;
  const rows = entry === 'keys' ? lk : lq;
  const tiles = attentionGradTiles(d4, rows, e.limits.maxComputeWorkgroupStorageSize);
  const blocks = Math.ceil(rows / tiles.br);
  const groups = blocks * b * call.heads;
  const variant = { defines: variantDefines(d4, tiles, call.causal), constants: { BR: tiles.br }, entryPoint: entry };
  const shapes = entry === 'keys' ? [t.k.shape, t.k.shape] : [t.q.shape];
  const accumulate = into ? 1 : 0;
  const max = e.limits.maxComputeWorkgroupsPerDimension;
  let outs = into;
  for (let base = 0; base < groups; base += max * max) {
    const count = Math.min(max * max, groups - base);
    const grid = flatGrid(count, 1, max);
    outs = e.kernels.run('flash-attention-grad', variant, {
      inputs: [t.q, t.k, t.v, t.dy, t.stats],
      outputs: outs ? outs.map((o) => ({ inPlace: o })) : shapes.map((shape) => ({ shape })),
      uniforms: [
        ['u32', lq],
        ['u32', lk],
        ['u32', call.heads],
        ['u32', blocks],
        ['u32', grid[0]],
        ['u32', base],
        ['u32', base + count],
        ['u32', accumulate],
        ['i32', call.causalShift],
        ['f32', call.scale * LOG2E],
        ['f32', call.scale],
      ],
      workgroups: grid,
    });
  }
  return outs!;
}
