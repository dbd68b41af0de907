// Global gradient norm and the clip coefficient, reduced on the GPU in a fixed order (bit-reproducible).
import * as tf from '@tensorflow/tfjs';
import { engine } from '../engine/engine';
import { flatGrid } from '../engine/grid';

const ITEMS_PER_GROUP = 256 * 8;

/** Σx² of one f32 tensor as a [1] tensor (inf/NaN when any element is). */
export function sumOfSquares(x: tf.Tensor): tf.Tensor {
  const e = engine();
  let current = x;
  let square = true;
  let count = x.size;
  do {
    const grid = flatGrid(count, ITEMS_PER_GROUP, e.limits.maxComputeWorkgroupsPerDimension);
    const groups = grid[0] * grid[1];
    const [partials] = e.kernels.run('sum-squares', { constants: { SQUARE: square ? 1 : 0 } }, {
      inputs: [current],
      outputs: [{ shape: [groups] }],
      uniforms: [['u32', count], ['u32', grid[0]]],
      workgroups: grid,
    });
    if (current !== x) current.dispose();
    current = partials;
    square = false;
    count = groups;
  } while (count > 1);
  return current;
}

/**
 * [coef, finite, norm] for raw gradients that carry a factor 1/invScale (loss scale × accumulation):
 * AdamW multiplies each raw gradient by coef; finite = 0 means skip the step.
 */
export function clipCoefficient(grads: tf.Tensor[], invScale: number, maxNorm: number): tf.Tensor {
  return tf.tidy(() => {
    const sums = tf.concat(grads.map(sumOfSquares));
    const [coef] = engine().kernels.run('clip-coefficient', {}, {
      inputs: [sums],
      outputs: [{ shape: [3] }],
      uniforms: [['u32', grads.length], ['f32', invScale], ['f32', maxNorm]],
      workgroups: [1],
    });
    return coef;
  });
}
