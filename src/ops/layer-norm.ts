// LayerNorm over the last axis (shaders/layer-norm.wgsl): a row per TPR invocations, x read once. Rows
// are chunked past the storage binding limit. C not divisible by 4 runs as GroupNorm with one group per row
// (forward and gradient).
// Backward (shaders/layer-norm-grad.wgsl): one pass over x and dy gives dx and, when gamma or beta is
// trainable, per-workgroup partial dgamma/dbeta rows; a second small pass sums them in order.
import * as tf from '@tensorflow/tfjs';
import { engine } from '../engine/engine';
import { bindingLimit, grid, mapRows, weightBinding } from './activations';
import { differentiable, type Gradients } from './autodiff';
import { groupNorm } from './group-norm';
import type { Weight } from './types';

const WG = 64;
/** Backward: rows per workgroup lane (a workgroup takes RPW * LOOPS rows, one partial row of dgamma/dbeta). */
const LOOPS = 8;
const WWG = 256;

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

/** Backward: invocations per row keep at most 8 channel vectors each (x, dy and two accumulators in registers). */
function gradRowThreads(cv: number): number {
  let tpr = 4;
  while (tpr < 64 && tpr * 8 < cv) tpr *= 2;
  return tpr;
}

export function layerNorm(x: tf.Tensor, gamma: Weight, beta: Weight, eps: number): tf.Tensor {
  const c = x.shape[x.shape.length - 1];
  const rows = x.size / c;
  if (c % 4 !== 0) return tf.tidy(() => groupNorm(x.reshape([rows, 1, c]), gamma, beta, 1, eps).reshape(x.shape));
  return differentiable(
    [x],
    [gamma, beta],
    ([xi], [gi, bi]) => forward(xi, gi!, bi!, eps),
    (dy, [xi], [gi], trainable) => backward(dy, xi, gi!, eps, trainable),
  );
}

function forward(x: tf.Tensor, gamma: Weight, beta: Weight, eps: number): tf.Tensor {
  const c = x.shape[x.shape.length - 1];
  const rows = x.size / c;
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

function backward(dy: tf.Tensor, x: tf.Tensor, gamma: Weight, eps: number, trainable: boolean[]): Gradients {
  const c = x.shape[x.shape.length - 1];
  const rows = x.size / c;
  const cv = c / 4;
  const gw = weightBinding(gamma);
  const tpr = gradRowThreads(cv);
  const rpw = WG / tpr;
  // Fewer rows per workgroup when a workgroup's rows would not fit the binding limit (chunks align to them).
  const loops = Math.max(1, Math.min(LOOPS, Math.floor(bindingLimit() / (rpw * c * 4))));
  const perGroup = rpw * loops;
  const wgrad = trainable[0] || trainable[1];
  const variant = {
    defines: { VPT: Math.ceil(cv / tpr) },
    constants: { TPR: tpr, RPW: rpw, WG: WWG, GAMMA_F16: Number(gw.f16) },
    entryPoint: wgrad ? 'mainW' : 'main',
  };
  const kernels = engine().kernels;
  return tf.tidy(() => {
    const partialRows = Math.ceil(rows / perGroup);
    const partials = wgrad ? engine().bridge.emptyTensor([partialRows * 2 * c], 'float32') : undefined;
    const inputs = [{ t: gw.t, whole: true as const }, { t: x, width: c }, { t: dy, width: c }];
    const dx = mapRows(rows, inputs, c, x.shape, (bound, row0, n) => {
      const g = grid(Math.ceil(n / perGroup), 1);
      return kernels.run('layer-norm-grad', variant, {
        inputs: bound,
        outputs: partials ? [{ shape: [n * c] }, { inPlace: partials }] : [{ shape: [n * c] }],
        uniforms: [['u32', cv], ['u32', n], ['f32', eps], ['u32', g[0]], ['u32', row0 / perGroup], ['u32', loops]],
        workgroups: g,
      })[0];
    }, perGroup).reshape(x.shape);
    const weights: (tf.Tensor | undefined)[] = [undefined, undefined];
    if (partials) {
      const g = grid(cv, WWG);
      const [dgamma, dbeta] = kernels.run('layer-norm-grad', { defines: variant.defines, constants: { WG: WWG }, entryPoint: 'weights' }, {
        inputs: [partials],
        outputs: [{ shape: [c] }, { shape: [c] }],
        uniforms: [['u32', cv], ['u32', partialRows], ['u32', g[0]]],
        workgroups: g,
      });
      weights[0] = trainable[0] ? dgamma : undefined;
      weights[1] = trainable[1] ? dbeta : undefined;
    }
    return { inputs: [dx], weights };
  });
}
