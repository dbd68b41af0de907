// How every kernel-backed op takes part in training (DESIGN decision 4): a tf.customGrad whose inputs are
// the activations plus the TRAINABLE weights (f32 tf.Variables); frozen weights (packed f16, plain tensors:
// the base UNet under LoRA, the VAE, the text encoder) stay in the closure, so no gradient is computed or
// allocated for them. Outside a gradient tape the forward runs directly, with no bookkeeping.
import * as tf from '@tensorflow/tfjs';
import type { Weight } from './types';

export function isTrainable(w: Weight | undefined): w is tf.Variable {
  return w instanceof tf.Variable && w.trainable;
}

export interface Gradients {
  /** One per activation input (undefined: no gradient flows there, e.g. an integer input). */
  inputs: (tf.Tensor | undefined)[];
  /** One per weight; only read for trainable ones. */
  weights: (tf.Tensor | undefined)[];
}

/**
 * `forward(inputs, weights)` with gradient `backward(dy, inputs, weights, trainable)`, where `trainable[i]`
 * says whether weight i needs its gradient. Saved for the backward pass: the inputs and trainable weights
 * only (recompute anything else there).
 */
export function differentiable<T extends tf.Tensor>(
  inputs: tf.Tensor[],
  weights: (Weight | undefined)[],
  forward: (inputs: tf.Tensor[], weights: (Weight | undefined)[]) => T,
  backward: (dy: T, inputs: tf.Tensor[], weights: (Weight | undefined)[], trainable: boolean[]) => Gradients,
): T {
  if (!tf.engine().isTapeOn()) return forward(inputs, weights);
  const trainable = weights.map(isTrainable);
  const tensors = [...inputs, ...weights.filter(isTrainable)];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const given = args as tf.Tensor[];
    save(given);
    return {
      value: forward(given.slice(0, inputs.length), weights),
      gradFunc: (dy: T, saved: tf.Tensor[]) => {
        const xs = saved.slice(0, inputs.length);
        let k = inputs.length;
        const ws = weights.map((w, i) => (trainable[i] ? saved[k++] : w));
        const g = backward(dy, xs, ws, trainable);
        const out = [...g.inputs.map((d, i) => d ?? tf.zerosLike(xs[i]))];
        weights.forEach((_, i) => {
          if (!trainable[i]) return;
          const d = g.weights[i];
          if (!d) throw new Error(`backward gave no gradient for trainable weight ${i}`);
          out.push(d);
        });
        return out;
      },
    };
  });
  return op(...tensors) as T;
}
