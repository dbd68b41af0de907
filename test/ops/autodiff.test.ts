// The customGrad convention: trainable weights get gradients equal to tfjs autodiff's; frozen weights are
// never inputs; inference skips the bookkeeping.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { differentiable } from '../../src/ops/autodiff';
import { startEngine } from '../engine-helpers';
import { random, relError } from '../reference/cpu';

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine({ precision: 'f32' });
});
afterAll(() => engine.dispose());

// y = (x · w) + b, with a hand-written backward.
function affine(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor, calls: { backward: number }) {
  return differentiable([x], [w, b], ([xi], [wi, bi]) => tf.tidy(() => tf.add(tf.matMul(xi as tf.Tensor2D, wi as tf.Tensor2D), bi as tf.Tensor)), (dy, [xi], [wi], trainable) => {
    calls.backward++;
    return {
      inputs: [tf.matMul(dy as tf.Tensor2D, wi as tf.Tensor2D, false, true)],
      weights: [trainable[0] ? tf.matMul(xi as tf.Tensor2D, dy as tf.Tensor2D, true, false) : undefined, trainable[1] ? tf.sum(dy, 0) : undefined],
    };
  });
}

describe('differentiable', () => {
  it('gives trainable weights and inputs the same gradients as tfjs autodiff', async () => {
    const x = tf.tensor2d(Float32Array.from(random([5, 3], 1).data), [5, 3]);
    const w = tf.variable(tf.tensor2d(Float32Array.from(random([3, 4], 2).data), [3, 4]));
    const frozenB = tf.tensor1d([0.1, 0.2, 0.3, 0.4]);
    const calls = { backward: 0 };
    const ours = tf.grads((xi: tf.Tensor) => tf.sum(tf.square(affine(xi as tf.Tensor2D, w, frozenB, calls))));
    const theirs = tf.grads((xi: tf.Tensor) => tf.sum(tf.square(tf.add(tf.matMul(xi as tf.Tensor2D, w), frozenB))));
    expect(relError(await engine.read(ours([x])[0]), await engine.read(theirs([x])[0]))).toBeLessThan(1e-6);
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(affine(x, w, frozenB, calls))), [w]);
    const { grads: want } = tf.variableGrads(() => tf.sum(tf.square(tf.add(tf.matMul(x, w), frozenB))), [w]);
    expect(relError(await engine.read(grads[w.name]), await engine.read(want[w.name]))).toBeLessThan(1e-6);
    expect(calls.backward).toBe(2);
  });

  it('runs the plain forward when no tape records', async () => {
    const calls = { backward: 0 };
    const before = tf.memory().numTensors;
    const y = affine(tf.ones([2, 3]) as tf.Tensor2D, tf.ones([3, 2]), tf.zeros([2]), calls);
    expect(Array.from(await engine.read(y))).toEqual([3, 3, 3, 3]);
    expect(calls.backward).toBe(0);
    expect(tf.memory().numTensors).toBe(before + 4);
  });
});
