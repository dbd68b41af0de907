// LayerNorm over the last axis (shaders/layer-norm.wgsl): a row per TPR invocations, x read once. Rows
// are chunked past the storage binding limit. C not divisible by 4 runs as GroupNorm with one group per row.
import * as tf from '@tensorflow/tfjs';
import { engine } from '../engine/engine';
import { grid, mapRows, weightBinding } from './activations';
import { groupNorm } from './group-norm';
import type { Weight } from './types';

const WG = 64;

/**
 * Invocations per row: a power of two in 4..64 giving each up to 32 channel vectors (many independent loads
 * in flight, few barrier steps; lavapipe runs 4 per row of 320 channels 9x faster than 64). WG / TPR rows
 * share a workgroup.
 */
function rowThreads(cv: number): number {
  let tpr = 4;
  while (tpr < 64 && tpr * 32 < cv) tpr *= 2;
  return tpr;
}

export function layerNorm(x: tf.Tensor, gamma: Weight, beta: Weight, eps: number): tf.Tensor {
  const c = x.shape[x.shape.length - 1];
  const rows = x.size / c;
  if (c % 4 !== 0) return tf.tidy(() => groupNorm(x.reshape([rows, 1, c]), gamma, beta, 1, eps).reshape(x.shape));
  const cv = c / 4;
  const gw = weightBinding(gamma);
  const bw = weightBinding(beta);
  const tpr = rowThreads(cv);
  const rpw = WG / tpr;
  const variant = {
    defines: { VPT: Math.ceil(cv / tpr) },
    constants: { TPR: tpr, RPW: rpw, GAMMA_F16: Number(gw.f16), BETA_F16: Number(bw.f16) },
  };
  return tf.tidy(() =>
    mapRows(rows, [{ t: x, width: c }, { t: gw.t, whole: true }, { t: bw.t, whole: true }], c, x.shape, ([xc, gc, bc], _row0, n) => {
      const g = grid(Math.ceil(n / rpw), 1);
      return engine().kernels.run('layer-norm', variant, {
        inputs: [xc, gc, bc],
        outputs: [{ shape: [n * c] }],
        uniforms: [['u32', cv], ['u32', n], ['f32', eps], ['u32', g[0]]],
        workgroups: g,
      })[0];
    }).reshape(x.shape),
  );
}
