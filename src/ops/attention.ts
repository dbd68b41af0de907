// Flash attention (shaders/flash-attention.wgsl): shapes, tile choice, dispatch splitting, and chunking
// of tensors larger than the storage binding limit (query rows, then key chunks merged by their
// log-sum-exp). `attentionWithLse` also returns lse [B, Lq, heads], which the backward pass needs.
import * as tf from '@tensorflow/tfjs';
import { sliceElements, writeElements } from '../engine/tensor-copy';
import { engine, type Engine } from '../engine/engine';
import { flatGrid } from '../engine/grid';
import type { AttentionOptions } from './types';

const LOG2E = Math.LOG2E;
/** Largest vec4 columns per thread: more would spill registers on GPUs, so wider heads split across threads. */
const MAX_DPT = 10;

interface Tiles {
  /** Threads per query row, vec4 columns per thread, rows per thread, rows per workgroup, keys per tile. */
  tpr: number;
  dpt: number;
  rpt: number;
  bq: number;
  bk: number;
}

/**
 * Tiles for a head of d4 vec4s. Two rows per thread halve the workgroup-memory loads per FMA (×1.5 on
 * lavapipe; four rows make its LLVM compile for minutes). 64 threads, 128 when a row is split 4+ ways.
 */
export function attentionTiles(d4: number, lq: number, workgroupBytes: number): Tiles {
  let tpr = 1;
  while (Math.ceil(d4 / tpr) > MAX_DPT) tpr *= 2;
  const threads = tpr >= 4 ? 128 : 64;
  let bq = (threads / tpr) * 2;
  while (bq > 1 && bq / 2 >= lq) bq /= 2; // short sequences (Lq = 1, 77 text tokens) waste fewer rows
  const rpt = bq >= 2 ? 2 : 1;
  let bk = 16;
  while (bk > 1 && 2 * bk * d4 * 16 + bk * bq * tpr * 4 > workgroupBytes) bk /= 2;
  return { tpr, dpt: Math.ceil(d4 / tpr), rpt, bq, bk };
}

export function attention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, opts: AttentionOptions): tf.Tensor3D {
  const [out, lse] = attentionWithLse(q, k, v, opts);
  lse.dispose();
  return out;
}

/** out [B, Lq, heads·D] and lse [B, Lq, heads] = ln Σ_j exp(scale · q·k_j) per row and head. */
export function attentionWithLse(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, opts: AttentionOptions): [tf.Tensor3D, tf.Tensor3D] {
  const [b, lq, inner] = q.shape;
  const [kb, lk, kInner] = k.shape;
  const heads = opts.heads;
  if (kb !== b || kInner !== inner || v.shape.join() !== k.shape.join() || inner % heads !== 0 || lk === 0) {
    throw new Error(`attention: q [${q.shape}], k [${k.shape}], v [${v.shape}] do not fit ${heads} heads`);
  }
  const d = inner / heads;
  const scale = opts.scale ?? 1 / Math.sqrt(d);
  const causal = opts.causal ?? false;
  return tf.tidy(() => {
    if (d % 4 === 0) return attentionChunked(q, k, v, heads, scale, causal);
    // vec4 rows: zero columns change no dot product, and the padded output columns are dropped.
    const d4 = Math.ceil(d / 4) * 4;
    const pad = (t: tf.Tensor3D) =>
      tf.reshape(tf.pad(tf.reshape(t, [b, t.shape[1], heads, d]), [[0, 0], [0, 0], [0, 0], [0, d4 - d]]), [b, t.shape[1], heads * d4]) as tf.Tensor3D;
    const [out, lse] = attentionChunked(pad(q), pad(k), pad(v), heads, scale, causal);
    const sliced = tf.reshape(tf.slice(tf.reshape(out, [b, lq, heads, d4]), [0, 0, 0, 0], [b, lq, heads, d]), [b, lq, inner]);
    return [sliced as tf.Tensor3D, lse];
  });
}

interface Call {
  heads: number;
  scale: number;
  causal: boolean;
  kvBatchBase: number;
  causalShift: number;
}

function attentionChunked(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, heads: number, scale: number, causal: boolean): [tf.Tensor3D, tf.Tensor3D] {
  const e = engine();
  const [b, lq, inner] = q.shape;
  const lk = k.shape[1];
  const limit = e.limits.maxStorageBufferBindingSize;
  const fits = (t: tf.Tensor) => t.size * 4 <= limit;
  if (fits(q) && fits(k)) return dispatch(e, q, k, v, { heads, scale, causal, kvBatchBase: 0, causalShift: 0 });

  // Past the binding limit: row ranges are copied buffer to buffer (copies have no binding limit).
  const rowsPerChunk = Math.floor(limit / (inner * 4));
  if (rowsPerChunk < 1) throw new Error(`attention: one token row (${inner * 4} bytes) exceeds the storage binding limit`);
  const out = e.bridge.emptyTensor([b, lq, inner], 'float32') as tf.Tensor3D;
  const lse = e.bridge.emptyTensor([b, lq, heads], 'float32') as tf.Tensor3D;
  for (let n = 0; n < b; n++) {
    const kv = fits(k)
      ? [{ k, v, key0: 0, kvBatchBase: n }]
      : ranges(lk, rowsPerChunk).map(([key0, keys]) => ({
          k: copyRows(k, n * lk + key0, keys),
          v: copyRows(v, n * lk + key0, keys),
          key0,
          kvBatchBase: 0,
        }));
    for (const [row0, rows] of ranges(lq, rowsPerChunk)) {
      tf.tidy(() => {
        const qc = copyRows(q, n * lq + row0, rows);
        const parts = kv.map((c) => dispatch(e, qc, c.k, c.v, { heads, scale, causal, kvBatchBase: c.kvBatchBase, causalShift: row0 - c.key0 }));
        const [o, l] = parts.length === 1 ? parts[0] : mergeKeyChunks(parts, heads);
        const start = n * lq + row0;
        writeElements(out, o, start * inner);
        writeElements(lse, l, start * heads);
      });
    }
    if (!fits(k)) for (const c of kv) tf.dispose([c.k, c.v]);
  }
  return [out, lse];
}

function ranges(total: number, step: number): [number, number][] {
  const out: [number, number][] = [];
  for (let start = 0; start < total; start += step) out.push([start, Math.min(step, total - start)]);
  return out;
}

/** Rows [first, first + rows) of a [B, L, C] tensor's flattened B·L rows, as a new [1, rows, C] tensor. */
function copyRows(t: tf.Tensor3D, first: number, rows: number): tf.Tensor3D {
  const c = t.shape[2];
  return sliceElements(t, first * c, [1, rows, c]) as tf.Tensor3D;
}

/** Softmax over the union of key chunks: each chunk's output weighted by exp(lse_chunk − lse). */
function mergeKeyChunks(parts: [tf.Tensor3D, tf.Tensor3D][], heads: number): [tf.Tensor3D, tf.Tensor3D] {
  const [b, rows, inner] = parts[0][0].shape;
  const max = parts.map((p) => p[1]).reduce((a, c) => tf.maximum(a, c));
  const weights = parts.map(([, l]) => tf.exp(tf.sub(l, max)));
  const sum = tf.addN(weights);
  const weighted = parts.map(([o], i) => tf.mul(tf.reshape(o, [b, rows, heads, inner / heads]), tf.expandDims(weights[i], -1)));
  const out = tf.reshape(tf.div(tf.addN(weighted), tf.expandDims(sum, -1)), [b, rows, inner]) as tf.Tensor3D;
  return [out, tf.add(max, tf.log(sum)) as tf.Tensor3D];
}

/** One kernel call on tensors within the binding limit, split into dispatches past the grid limit. */
function dispatch(e: Engine, q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, call: Call): [tf.Tensor3D, tf.Tensor3D] {
  const [b, lq, inner] = q.shape;
  const d4 = inner / call.heads / 4;
  const tiles = attentionTiles(d4, lq, e.limits.maxComputeWorkgroupStorageSize);
  const qBlocks = Math.ceil(lq / tiles.bq);
  const groups = qBlocks * b * call.heads;
  const variant = {
    defines: { D4: d4, TPR: tiles.tpr, DPT: tiles.dpt, RPT: tiles.rpt, BK: tiles.bk, CAUSAL: String(call.causal) },
    constants: { BQ: tiles.bq },
  };
  const max = e.limits.maxComputeWorkgroupsPerDimension;
  let out: tf.Tensor3D | undefined;
  let lse: tf.Tensor3D | undefined;
  for (let base = 0; base < groups; base += max * max) {
    const count = Math.min(max * max, groups - base);
    const grid = flatGrid(count, 1, max);
    [out, lse] = e.kernels.run('flash-attention', variant, {
      inputs: [q, k, v],
      outputs: out && lse ? [{ inPlace: out }, { inPlace: lse }] : [{ shape: [b, lq, inner] }, { shape: [b, lq, call.heads] }],
      uniforms: [
        ['u32', lq],
        ['u32', k.shape[1]],
        ['u32', call.heads],
        ['u32', qBlocks],
        ['u32', grid[0]],
        ['u32', base],
        ['u32', base + count],
        ['u32', call.kvBatchBase],
        ['i32', call.causalShift],
        ['f32', call.scale * LOG2E],
      ],
      workgroups: grid,
    }) as [tf.Tensor3D, tf.Tensor3D];
  }
  return [out!, lse!];
}
