// GroupNorm (shaders/group-norm.wgsl): statistics over whole groups in three dispatches (partial
// per-channel stats over pixel chunks, per-group merge into a [B, 3, C] table of mean/scale/shift,
// normalise + SiLU), with x fed in row chunks when it exceeds the storage binding limit.
// Backward (shaders/group-norm-grad.wgsl): the statistics are recomputed from x (only x and the trainable
// weights are saved), then per-channel partial sums of dz and dz·x̂ over the same pixel chunks, a per-group
// merge into dx coefficients, a fixed-order per-channel sum for dgamma/dbeta, and the elementwise dx.
import { sliceElements } from '../engine/tensor-copy';
import * as tf from '@tensorflow/tfjs';
import { engine } from '../engine/engine';
import { bindingLimit, grid, mapRows, vecFor, weightBinding } from './activations';
import { differentiable, type Gradients } from './autodiff';
import type { Weight } from './types';

const TX = 16;
const TY = 16;
const FWG = 64;
const WG = 256;
const MAX_PIX = 256;

type Binding = { t: tf.Tensor; f16: boolean };

/** How x [B, S, C] is cut into pixel chunks (never crossing a batch) and bound. */
interface Geometry {
  c: number;
  cv: number;
  batches: number;
  rows: number;
  spatial: number;
  pix: number;
  chunksPerBatch: number;
  chunks: number;
  /** Pixel chunks per dispatch of the chunk passes (all of them when x fits one binding). */
  perDispatch: number;
  defines: { V: string; W: number; LANES: string };
}

function geometry(x: tf.Tensor, groups: number): Geometry {
  const c = x.shape[x.shape.length - 1];
  const batches = x.shape[0];
  if (c % groups !== 0) throw new Error(`groupNorm: ${c} channels do not split into ${groups} groups`);
  const rows = x.size / c;
  const spatial = rows / batches;
  const { V, width } = vecFor(c);
  const limitRows = Math.floor(bindingLimit() / (c * 4));
  if (limitRows < 1) throw new Error(`groupNorm: one row of ${c} channels exceeds the binding limit`);
  // Pixel chunks: enough of them to spread the statistics over many workgroups, each within a binding.
  const pix = Math.min(limitRows, Math.max(TY, Math.min(MAX_PIX, Math.ceil(spatial / 32 / TY) * TY)));
  const chunksPerBatch = Math.ceil(spatial / pix);
  const chunks = batches * chunksPerBatch;
  const perDispatch = rows <= limitRows ? chunks : Math.floor(limitRows / pix);
  return { c, cv: c / width, batches, rows, spatial, pix, chunksPerBatch, chunks, perDispatch, defines: { V, W: width, LANES: width === 4 ? 'xyzw' : 'x' } };
}

/**
 * Runs `pass(bound, k0, kCount, firstRow)` over the pixel chunks, `perDispatch` at a time, with each of
 * `tensors` (row-aligned with x) bound from `firstRow` on.
 */
function overChunks(g: Geometry, tensors: tf.Tensor[], pass: (bound: tf.Tensor[], k0: number, kCount: number, first: number) => void): void {
  const rowStart = (k: number) => Math.floor(k / g.chunksPerBatch) * g.spatial + (k % g.chunksPerBatch) * g.pix;
  const rowEnd = (k: number) => Math.min(rowStart(k) + g.pix, (Math.floor(k / g.chunksPerBatch) + 1) * g.spatial);
  for (let k0 = 0; k0 < g.chunks; k0 += g.perDispatch) {
    const kCount = Math.min(g.perDispatch, g.chunks - k0);
    const first = rowStart(k0);
    const end = rowEnd(k0 + kCount - 1);
    const whole = first === 0 && end === g.rows;
    const bound = tensors.map((t) => (whole ? t : sliceElements(t, first * g.c, [(end - first) * g.c])));
    pass(bound, k0, kCount, first);
    if (!whole) tf.dispose(bound);
  }
}

/** The [B, 3, C] table: per channel the group mean, rstd * gamma and beta. */
function statsTable(x: tf.Tensor, g: Geometry, groups: number, eps: number, gw: Binding, bw: Binding): tf.Tensor {
  const kernels = engine().kernels;
  const defines = { V: g.defines.V, W: g.defines.W };
  const cblocks = Math.ceil(g.cv / TX);
  let partials: tf.Tensor | undefined;
  overChunks(g, [x], ([xc], k0, kCount, first) => {
    const wg = grid(cblocks * kCount, 1);
    [partials] = kernels.run('group-norm', { defines, constants: { TX, TY }, entryPoint: 'stats' }, {
      inputs: [xc],
      outputs: [partials ? { inPlace: partials } : { shape: [g.chunks * 2 * g.c] }],
      uniforms: [
        ['u32', g.cv], ['u32', g.spatial], ['u32', g.pix], ['u32', g.chunksPerBatch],
        ['u32', k0], ['u32', kCount], ['u32', first], ['u32', cblocks], ['u32', wg[0]],
      ],
      workgroups: wg,
    });
  });
  const gf = grid(g.batches * groups, 1);
  const [table] = kernels.run('group-norm', {
    defines,
    constants: { FWG, GAMMA_F16: Number(gw.f16), BETA_F16: Number(bw.f16) },
    entryPoint: 'finalize',
  }, {
    inputs: [partials!, gw.t, bw.t],
    outputs: [{ shape: [g.batches * 3 * g.c] }],
    uniforms: [
      ['u32', g.c], ['u32', groups], ['u32', g.spatial], ['u32', g.pix], ['u32', g.chunksPerBatch],
      ['u32', g.batches], ['f32', eps], ['u32', gf[0]],
    ],
    workgroups: gf,
  });
  partials!.dispose();
  return table;
}

function forward(x: tf.Tensor, gamma: Weight, beta: Weight, groups: number, eps: number, silu: boolean): tf.Tensor {
  const g = geometry(x, groups);
  const kernels = engine().kernels;
  return tf.tidy(() => {
    const table = statsTable(x, g, groups, eps, weightBinding(gamma), weightBinding(beta));
    const apply = { defines: { V: g.defines.V, W: g.defines.W }, constants: { WG, SILU: Number(silu) }, entryPoint: 'apply' };
    return mapRows(g.rows, [{ t: x, width: g.c }, { t: table, whole: true }], g.c, x.shape, ([xc, tc], row0, n) => {
      const wg = grid(n * g.cv, WG);
      return kernels.run('group-norm', apply, {
        inputs: [xc, tc],
        outputs: [{ shape: [n * g.c] }],
        uniforms: [['u32', g.cv], ['u32', g.spatial], ['u32', row0], ['u32', n * g.cv], ['u32', wg[0]]],
        workgroups: wg,
      })[0];
    }).reshape(x.shape);
  });
}

function backward(dy: tf.Tensor, x: tf.Tensor, gamma: Weight, beta: Weight, groups: number, eps: number, silu: boolean, trainable: boolean[]): Gradients {
  const g = geometry(x, groups);
  const kernels = engine().kernels;
  const gw = weightBinding(gamma);
  const bw = weightBinding(beta);
  // Each entry gets only the overrides it reads: every other one would only multiply compiled variants.
  const flags = { GAMMA_F16: Number(gw.f16), BETA_F16: Number(bw.f16), SILU: Number(silu) };
  const variant = (entryPoint: string, constants: Record<string, number>) => ({ defines: g.defines, constants, entryPoint });
  return tf.tidy(() => {
    // Unit gamma in the forward finalize makes the table's scale row rstd itself (its beta row is unused).
    const ones = tf.ones([g.c]);
    const table = statsTable(x, g, groups, eps, { t: ones, f16: false }, { t: ones, f16: false });
    const cblocks = Math.ceil(g.cv / TX);
    let partials: tf.Tensor | undefined;
    overChunks(g, [x, dy], ([xc, dyc], k0, kCount, first) => {
      const wg = grid(cblocks * kCount, 1);
      [partials] = kernels.run('group-norm-grad', variant('reduce', { TX, TY, ...flags }), {
        inputs: [gw.t, bw.t, xc, dyc, table],
        outputs: [partials ? { inPlace: partials } : { shape: [g.chunks * 2 * g.c] }],
        uniforms: [
          ['u32', g.cv], ['u32', g.spatial], ['u32', g.pix], ['u32', g.chunksPerBatch],
          ['u32', k0], ['u32', kCount], ['u32', first], ['u32', cblocks], ['u32', wg[0]],
        ],
        workgroups: wg,
      });
    });
    const gf = grid(g.batches * groups, 1);
    const [coef] = kernels.run('group-norm-grad', variant('finalize', { FWG, GAMMA_F16: flags.GAMMA_F16 }), {
      inputs: [gw.t, partials!, table],
      outputs: [{ shape: [g.batches * 4 * g.c] }],
      uniforms: [['u32', g.c], ['u32', groups], ['u32', g.spatial], ['u32', g.chunksPerBatch], ['u32', g.batches], ['u32', gf[0]]],
      workgroups: gf,
    });
    const weights: (tf.Tensor | undefined)[] = [undefined, undefined];
    if (trainable[0] || trainable[1]) {
      const gwg = grid(g.cv, WG);
      const [dgamma, dbeta] = kernels.run('group-norm-grad', variant('weights', { WG }), {
        inputs: [partials!],
        outputs: [{ shape: [g.c] }, { shape: [g.c] }],
        uniforms: [['u32', g.cv], ['u32', g.chunks], ['u32', gwg[0]]],
        workgroups: gwg,
      });
      weights[0] = trainable[0] ? dgamma : undefined;
      weights[1] = trainable[1] ? dbeta : undefined;
    }
    const inputs = [{ t: gw.t, whole: true as const }, { t: bw.t, whole: true as const }, { t: x, width: g.c }, { t: dy, width: g.c }, { t: coef, whole: true as const }];
    const dx = mapRows(g.rows, inputs, g.c, x.shape, (bound, row0, n) => {
      const wg = grid(n * g.cv, WG);
      return kernels.run('group-norm-grad', variant('dx', { WG, ...flags }), {
        inputs: bound,
        outputs: [{ shape: [n * g.c] }],
        uniforms: [['u32', g.cv], ['u32', g.spatial], ['u32', row0], ['u32', n * g.cv], ['u32', wg[0]]],
        workgroups: wg,
      })[0];
    }).reshape(x.shape);
    return { inputs: [dx], weights };
  });
}

export function groupNorm(x: tf.Tensor, gamma: Weight, beta: Weight, groups: number, eps: number, silu = false): tf.Tensor {
  return differentiable(
    [x],
    [gamma, beta],
    ([xi], [gi, bi]) => forward(xi, gi!, bi!, groups, eps, silu),
    (dy, [xi], [gi, bi], trainable) => backward(dy, xi, gi!, bi!, groups, eps, silu, trainable),
  );
}
