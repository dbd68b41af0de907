// One training step against diffusers on the golden tiny SD 1.5 (f32 path, no loss scaling): the noisy
// latents, the loss, and the gradient of every UNet parameter (named ones elementwise, all by L2 norm).
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { toFloat32 } from '../../src/io/npy';
import { loadUNet2DConditionModel } from '../../src/models/load';
import { kernelOps } from '../../src/ops/kernels';
import { referenceOps } from '../../src/ops/reference';
import { diffusionLoss, noisyLatents } from '../../src/pipelines/fine-tune/diffusion-loss';
import { makeTrainable } from '../../src/pipelines/fine-tune/trainable';
import { createScheduler } from '../../src/schedulers';
import { startEngine } from '../engine-helpers';
import { expected, expectedF32, goldenFolder, nhwcTensor, readNchw, relativeError } from '../models/golden';

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine({ precision: 'f32' });
});
afterAll(() => engine?.dispose());

const index = JSON.parse(readFileSync('test/fixtures/golden/tiny-sd15/expected/index.json', 'utf8'));

describe.each([
  ['the WGSL kernels and their backward passes', kernelOps],
  ['tfjs autodiff of the reference ops', referenceOps],
] as const)('training step on %s', (_name, ops) => {
  it('matches diffusers: noisy latents, loss and every parameter gradient', async () => {
    const folder = await goldenFolder('tiny-sd15');
    const unet = await loadUNet2DConditionModel(await folder.component('unet'), 'unet', { precision: 'f32', ops });
    const trainable = makeTrainable(unet);
    const schedulerConfig = await folder.config('scheduler');
    const alphasCumprod = createScheduler('ddpm', schedulerConfig, 10).alphasCumprod;
    const ctx = expected('tiny-sd15', 'train_encoder_hidden_states');
    const batch = {
      latents: nhwcTensor('tiny-sd15', 'train_x0'),
      noise: nhwcTensor('tiny-sd15', 'train_noise'),
      timesteps: Array.from(toFloat32(expected('tiny-sd15', 'train_timesteps'))),
      context: tf.tensor3d(toFloat32(ctx), ctx.shape as [number, number, number]),
    };
    const noisy = noisyLatents(batch, alphasCumprod);
    expect(relativeError(await readNchw(noisy), expectedF32('tiny-sd15', 'train_noisy'))).toBeLessThan(1e-6);
    noisy.dispose();

    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => diffusionLoss(unet, batch, { prediction: 'epsilon', alphasCumprod }), trainable.variables);
    const loss = (await engine.read(value))[0];
    const goldenLoss = toFloat32(expected('tiny-sd15', 'train_loss'))[0];
    expect(Math.abs(loss - goldenLoss) / goldenLoss).toBeLessThan(1e-4);

    for (const name of Object.keys(index.train_step.grad_params)) {
      const g = grads[trainable.variables[trainable.names.indexOf(name)].name];
      const want = expectedF32('tiny-sd15', `grad__${name.replace(/\./g, '__')}`);
      // Golden gradients are in PyTorch layout; ours follow the parameter's layout (conv HWIO, linear [in, out]).
      const torchLayout = g.rank === 4 ? tf.transpose(g, [3, 2, 0, 1]) : g.rank === 2 ? tf.transpose(g) : g.clone();
      expect(relativeError(await engine.read(torchLayout), want), name).toBeLessThan(1e-3);
      torchLayout.dispose();
    }
    const norms = index.train_step.grad_l2_norm_all_params as Record<string, number>;
    expect(Object.keys(norms).length).toBe(trainable.names.length);
    for (const [name, want] of Object.entries(norms)) {
      const g = grads[trainable.variables[trainable.names.indexOf(name)].name];
      const sumSq = tf.tidy(() => tf.sum(tf.square(g)));
      const norm = Math.sqrt((await engine.read(sumSq))[0]);
      sumSq.dispose();
      // Biases followed by a GroupNorm of one channel per group get exactly zero gradient in exact arithmetic;
      // both sides hold f32 round-off there (~1e-9), hence the absolute floor.
      expect(Math.abs(norm - want), name).toBeLessThan(1e-3 * want + 1e-7);
    }
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([batch.latents, batch.noise, batch.context]);
    unet.dispose();
  });
});
