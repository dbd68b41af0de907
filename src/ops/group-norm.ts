// GroupNorm (shaders/group-norm.wgsl): statistics over whole groups in three dispatches (partial
// per-channel stats over pixel chunks, per-group merge into a [B, 3, C] table of mean/scale/shift,
// normalise + SiLU), with x fed in row chunks when it exceeds the storage binding limit.
import { sliceElements } from '../engine/tensor-copy';
import * as tf from '@tensorflow/tfjs';
import { engine } from '../engine/engine';
import { bindingLimit, grid, mapRows, vecFor, weightBinding } from './activations';
import type { Weight } from './types';

const TX = 16;
const TY = 16;
const FWG = 64;
const WG = 256;
const MAX_PIX = 256;

export function groupNorm(x: tf.Tensor, gamma: Weight, beta: Weight, groups: number, eps: number, silu = false): tf.Tensor {
  const c = x.shape[x.shape.length - 1];
  const batches = x.shape[0];
  if (c % groups !== 0) throw new Error(`groupNorm: ${c} channels do not split into ${groups} groups`);
  const rows = x.size / c;
  const spatial = rows / batches;
  const { V, width } = vecFor(c);
  const cv = c / width;
  const limitRows = Math.floor(bindingLimit() / (c * 4));
  if (limitRows < 1) throw new Error(`groupNorm: one row of ${c} channels exceeds the binding limit`);
  // Pixel chunks: enough of them to spread the statistics over many workgroups, each within a binding.
  const pix = Math.min(limitRows, Math.max(TY, Math.min(MAX_PIX, Math.ceil(spatial / 32 / TY) * TY)));
  const chunksPerBatch = Math.ceil(spatial / pix);
  const chunks = batches * chunksPerBatch;
  const rowStart = (k: number) => Math.floor(k / chunksPerBatch) * spatial + (k % chunksPerBatch) * pix;
  const rowEnd = (k: number) => Math.min(rowStart(k) + pix, (Math.floor(k / chunksPerBatch) + 1) * spatial);
  const defines = { V, W: width };
  const kernels = engine().kernels;
  return tf.tidy(() => {
    const perDispatch = rows <= limitRows ? chunks : Math.floor(limitRows / pix);
    const cblocks = Math.ceil(cv / TX);
    let partials: tf.Tensor | undefined;
    for (let k0 = 0; k0 < chunks; k0 += perDispatch) {
      const kCount = Math.min(perDispatch, chunks - k0);
      const first = rowStart(k0);
      const end = rowEnd(k0 + kCount - 1);
      const xc = first === 0 && end === rows ? x : sliceElements(x, first * c, [(end - first) * c]);
      const g = grid(cblocks * kCount, 1);
      [partials] = kernels.run('group-norm', { defines, constants: { TX, TY }, entryPoint: 'stats' }, {
        inputs: [xc],
        outputs: [partials ? { inPlace: partials } : { shape: [chunks * 2 * c] }],
        uniforms: [
          ['u32', cv], ['u32', spatial], ['u32', pix], ['u32', chunksPerBatch],
          ['u32', k0], ['u32', kCount], ['u32', first], ['u32', cblocks], ['u32', g[0]],
        ],
        workgroups: g,
      });
      if (xc !== x) xc.dispose();
    }
    const gw = weightBinding(gamma);
    const bw = weightBinding(beta);
    const gf = grid(batches * groups, 1);
    const [table] = kernels.run('group-norm', {
      defines,
      constants: { FWG, GAMMA_F16: Number(gw.f16), BETA_F16: Number(bw.f16) },
      entryPoint: 'finalize',
    }, {
      inputs: [partials!, gw.t, bw.t],
      outputs: [{ shape: [batches * 3 * c] }],
      uniforms: [
        ['u32', c], ['u32', groups], ['u32', spatial], ['u32', pix], ['u32', chunksPerBatch],
        ['u32', batches], ['f32', eps], ['u32', gf[0]],
      ],
      workgroups: gf,
    });
    const apply = { defines, constants: { WG, SILU: Number(silu) }, entryPoint: 'apply' };
    return mapRows(rows, [{ t: x, width: c }, { t: table, whole: true }], c, x.shape, ([xc, tc], row0, n) => {
      const g = grid(n * cv, WG);
      return kernels.run('group-norm', apply, {
        inputs: [xc, tc],
        outputs: [{ shape: [n * c] }],
        uniforms: [['u32', cv], ['u32', spatial], ['u32', row0], ['u32', n * cv], ['u32', g[0]]],
        workgroups: g,
      })[0];
    }).reshape(x.shape);
  });
}
