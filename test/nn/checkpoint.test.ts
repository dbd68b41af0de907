// Gradient checkpointing: a checkpointed function recomputes its forward inside the gradient and gives the
// same gradients as plain autodiff, for a small function and for a whole tiny UNet loss (all weights trainable
// plus LoRA adapters), with less live memory at the peak and no tensor leaks.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { loadUNet2DConditionModel } from '../../src/models/load';
import { referenceOps } from '../../src/ops/reference';
import { checkpointed, setGradientCheckpointing } from '../../src/nn/checkpoint';
import { attachLora } from '../../src/nn/lora';
import { differentiable } from '../../src/ops/autodiff';
import { makeTrainable } from '../../src/pipelines/fine-tune/trainable';
import { Philox } from '../../src/random/philox';
import { startEngine } from '../engine-helpers';
import { goldenFolder, relativeError } from '../models/golden';

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine({ precision: 'f32' });
});
afterAll(() => engine?.dispose());

const normal = (rng: Philox, shape: number[], scale = 1) => tf.tensor(rng.normal(shape.reduce((a, b) => a * b, 1)).map((v) => v * scale), shape);

describe('checkpointed', () => {
  it('recomputes inside the gradient and matches plain autodiff for inputs and variables', async () => {
    const rng = new Philox(1);
    const w1 = tf.variable(normal(rng, [6, 12], 0.4));
    const w2 = tf.variable(normal(rng, [12, 6], 0.4));
    const unused = tf.variable(normal(rng, [3]));
    const frozen = normal(rng, [6]);
    const x = normal(rng, [5, 6]);
    let calls = 0;
    const block = ([h]: tf.Tensor[]) => {
      calls++;
      return tf.tidy(() => tf.add(tf.matMul(tf.sigmoid(tf.matMul(h as tf.Tensor2D, w1)), w2), frozen));
    };
    const loss = (y: tf.Tensor) => tf.sum(tf.mul(tf.square(y), tf.linspace(0.1, 1, 6)));

    const y = checkpointed(block, [x], [w1, w2]);
    expect(calls).toBe(1);
    y.dispose();

    const tensors = tf.memory().numTensors;
    const plain = tf.grads((xi: tf.Tensor) => loss(block([xi])))([x])[0];
    const { value: plainValue, grads: plainVars } = tf.variableGrads(() => loss(block([x])) as tf.Scalar, [w1, w2]);
    calls = 0;
    const ours = tf.grads((xi: tf.Tensor) => loss(checkpointed(block, [xi], [w1, w2, unused])))([x])[0];
    expect(calls).toBe(2); // the forward, then the recompute inside the gradient
    const { value, grads } = tf.variableGrads(() => loss(checkpointed(block, [x], [w1, w2, unused])) as tf.Scalar, [w1, w2]);
    expect(relativeError(await engine.read(ours), await engine.read(plain))).toBeLessThan(1e-6);
    for (const w of [w1, w2]) expect(relativeError(await engine.read(grads[w.name]), await engine.read(plainVars[w.name]))).toBeLessThan(1e-6);
    // Nested gradient passes leave the outer tape intact: a second pass works and nothing leaks.
    tf.dispose([plain, ours, value, plainValue, ...Object.values(grads), ...Object.values(plainVars)]);
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose([w1, w2, unused, frozen, x]);
  });

  it('works over ops with their own customGrad (the kernel-op convention of ops/autodiff)', async () => {
    const rng = new Philox(2);
    const w = tf.variable(normal(rng, [6, 6], 0.4));
    const frozen = normal(rng, [6, 6], 0.4);
    const x = normal(rng, [4, 6]);
    const calls = { backward: 0 };
    // y = x · w with a hand-written backward, as the kernel wrappers define theirs.
    const matmul = (a: tf.Tensor, b: tf.Tensor) =>
      differentiable([a], [b], ([ai], [bi]) => tf.matMul(ai as tf.Tensor2D, bi as tf.Tensor2D), (dy, [ai], [bi], trainable) => {
        calls.backward++;
        return {
          inputs: [tf.matMul(dy as tf.Tensor2D, bi as tf.Tensor2D, false, true)],
          weights: [trainable[0] ? tf.matMul(ai as tf.Tensor2D, dy as tf.Tensor2D, true, false) : undefined],
        };
      });
    const block = ([h]: tf.Tensor[]) => tf.tidy(() => matmul(tf.tanh(matmul(h, w)), frozen));
    const loss = (y: tf.Tensor) => tf.sum(tf.square(y)) as tf.Scalar;
    const tensors = tf.memory().numTensors;
    const plain = tf.variableGrads(() => loss(block([x])), [w]);
    const ours = tf.variableGrads(() => loss(checkpointed(block, [x], [w])), [w]);
    // Two backward ops per gradient pass: the recompute differentiates through the ops' own gradients.
    expect(calls.backward).toBe(4);
    expect(relativeError(await engine.read(ours.grads[w.name]), await engine.read(plain.grads[w.name]))).toBeLessThan(1e-6);
    tf.dispose([plain.value, ours.value, plain.grads[w.name], ours.grads[w.name]]);
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose([w, frozen, x]);
  });
});

describe('gradient checkpointing in the UNet', () => {
  it('gives the same gradients for a whole tiny UNet loss with less peak memory', async () => {
    const unet = await loadUNet2DConditionModel(await (await goldenFolder('tiny-sd15')).component('unet'), 'unet', { precision: 'f32', ops: referenceOps });
    const full = makeTrainable(unet);
    const lora = attachLora(unet, { rank: 4, targets: { attention: true, feedForward: true, convs: true }, seed: 1 });
    const rng = new Philox(3);
    for (const v of lora.variables) {
      const t = normal(rng, v.shape, 0.05);
      v.assign(t);
      t.dispose();
    }
    const variables = [...full.variables, ...lora.variables];
    const sample = normal(rng, [2, 16, 16, 4]) as tf.Tensor4D;
    const context = normal(rng, [2, 8, 32]) as tf.Tensor3D;
    const target = normal(rng, [2, 16, 16, 4]);
    const lossFn = () => tf.mean(tf.square(tf.sub(unet.forward(sample, [250, 750], context), target))) as tf.Scalar;

    const run = async (on: boolean) => {
      // ResnetBlock2D ×12 and BasicTransformerBlock ×6 in the tiny SD 1.5 UNet.
      expect(setGradientCheckpointing(unet, on)).toBe(18);
      await engine.sync();
      const tensors = tf.memory().numTensors;
      engine.resetPeakMemory();
      const { value, grads } = tf.variableGrads(lossFn, variables);
      await engine.sync();
      const peak = engine.memory().peakLiveBytes;
      const loss = (await engine.read(value))[0];
      const data = await Promise.all(variables.map(async (v) => Float32Array.from(await engine.read(grads[v.name]))));
      tf.dispose([value, ...Object.values(grads)]);
      expect(tf.memory().numTensors).toBe(tensors);
      return { peak, loss, data };
    };
    const plain = await run(false);
    const ckpt = await run(true);
    expect(ckpt.loss).toBe(plain.loss);
    // Some gradients are zero in exact arithmetic (a conv bias followed by a GroupNorm with one channel per
    // group): both runs give rounding noise there, so those are held to an absolute bound instead.
    const norm = (a: Float32Array) => Math.sqrt(a.reduce((sum, v) => sum + v * v, 0));
    const norms = plain.data.map(norm);
    const largest = Math.max(...norms);
    const names = [...full.names, ...lora.names];
    let worst = 0;
    let worstName = '';
    let zero = 0;
    let num = 0;
    let den = 0;
    variables.forEach((_, i) => {
      const diff = norm(ckpt.data[i].map((v, j) => v - plain.data[i][j]));
      num += diff ** 2;
      den += norms[i] ** 2;
      if (norms[i] < 1e-4 * largest) {
        zero++;
        expect(diff, names[i]).toBeLessThan(1e-6 * largest);
      } else if (diff / norms[i] > worst) [worst, worstName] = [diff / norms[i], names[i]];
    });
    const all = Math.sqrt(num / den);
    const mib = (b: number) => (b / 2 ** 20).toFixed(2);
    console.log(
      `checkpointed vs plain gradients of ${variables.length} variables: ${all.toExponential(2)} relative overall, worst ` +
        `${worst.toExponential(2)} (${worstName}), ${zero} zero in exact arithmetic; peak live memory during the gradient ` +
        `${mib(plain.peak)} MiB plain, ${mib(ckpt.peak)} MiB checkpointed`,
    );
    expect(all).toBeLessThanOrEqual(1e-5);
    expect(worst).toBeLessThanOrEqual(1e-5);
    expect(ckpt.peak).toBeLessThan(plain.peak);
    tf.dispose([sample, context, target]);
    unet.dispose();
  }, 120_000);
});
