// Loading on the f16 path (weights packed as halves) and what loading does with bad input.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { toFloat32 } from '../../src/io/npy';
import { loadUNet2DConditionModel, loadWeights, WeightLoadError } from '../../src/models/load';
import { UNet2DConditionModel } from '../../src/models/unet-2d-condition';
import { parseUNetConfig } from '../../src/models/configs';
import { referenceOps } from '../../src/ops/reference';
import type { WeightSource } from '../../src/weights/weight-source';
import { startEngine } from '../engine-helpers';
import { expected, expectedF32, goldenFolder, nhwcTensor, readNchw, relativeError } from './golden';

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine({ precision: 'f16' });
});
afterAll(() => engine?.dispose());

describe('f16 weights', () => {
  test('tiny SD 1.5 UNet from the .fp16 variant matches diffusers with fp16-rounded weights', async () => {
    const folder = await goldenFolder('tiny-sd15', ['fp16']);
    const component = await folder.component('unet');
    expect(component.variant).toBe('fp16');
    const unet = await loadUNet2DConditionModel(component, 'tiny-sd15/unet');
    const [, p] = [...unet.namedParameters()][0];
    expect(p.value).toHaveProperty('kind', 'f16');
    const sample = nhwcTensor('tiny-sd15', 'unet_sample');
    const e = expected('tiny-sd15', 'unet_encoder_hidden_states');
    const context = tf.tensor3d(toFloat32(e), e.shape as [number, number, number]);
    const out = unet.forward(sample, 981, context);
    const err = relativeError(await readNchw(out), expectedF32('tiny-sd15', 'unet_out_t981_fp16weights'));
    await engine.sync();
    tf.dispose([sample, context, out]);
    unet.dispose();
    console.log(`tiny-sd15 unet, f16 weights: t981 ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-2);
  });
});

describe('bad input', () => {
  test('a weight whose shape disagrees with the config names the tensor and both shapes, and uploads nothing', async () => {
    const folder = await goldenFolder('tiny-sd15');
    const { config, weights } = await folder.component('unet');
    const before = tf.memory().numTensors;
    await expect(loadUNet2DConditionModel({ config: { ...config, cross_attention_dim: 48 }, weights }, 'tiny-sd15/unet')).rejects.toThrow(
      'tiny-sd15/unet: weight "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight" has shape [32, 32], but the config needs [32, 48]',
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  test('a missing weight is named', async () => {
    const folder = await goldenFolder('tiny-sd15');
    const { config, weights } = await folder.component('unet');
    const without: WeightSource = { ...weights, has: (n) => n !== 'conv_out.bias' && weights.has(n) };
    await expect(loadUNet2DConditionModel({ config, weights: without }, 'unet')).rejects.toThrow('unet: missing weight "conv_out.bias"');
  });

  test('a read that fails half-way frees everything uploaded before it', async () => {
    const folder = await goldenFolder('tiny-sd15');
    const { config, weights } = await folder.component('unet');
    const model = new UNet2DConditionModel(parseUNetConfig(config), referenceOps);
    const names = [...model.namedParameters()].map(([n]) => n);
    const bad = names[Math.floor(names.length / 2)];
    const failing: WeightSource = {
      ...weights,
      readF16Bits: (n) => (n === bad ? Promise.reject(new Error('bytes 0..10 pass the end of the file')) : weights.readF16Bits(n)),
    };
    await engine.sync();
    const before = { tensors: tf.memory().numTensors, bytes: engine.memory().liveBytes };
    await expect(loadWeights(model, failing, 'unet')).rejects.toThrow(`unet: weight "${bad}": bytes 0..10 pass the end of the file`);
    // tfjs frees buffers that queued GPU work uses once that work is submitted.
    await engine.sync();
    expect(tf.memory().numTensors).toBe(before.tensors);
    expect(engine.memory().liveBytes).toBe(before.bytes);
    expect([...model.namedParameters()].every(([, p]) => p.value === undefined)).toBe(true);
  });

  test('WeightLoadError is what callers can catch', async () => {
    const folder = await goldenFolder('tiny-sd2');
    const { config, weights } = await folder.component('unet');
    const error = await loadUNet2DConditionModel({ config: { ...config, layers_per_block: 3 }, weights }).catch((e) => e);
    expect(error).toBeInstanceOf(WeightLoadError);
    expect(error.message).toContain('missing weight "down_blocks.0.resnets.2.norm1.weight"');
  });
});
