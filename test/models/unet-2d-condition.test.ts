import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { toFloat32 } from '../../src/io/npy';
import { loadUNet2DConditionModel } from '../../src/models/load';
import type { UNet2DConditionModel } from '../../src/models/unet-2d-condition';
import { startEngine } from '../engine-helpers';
import { expected, expectedF32, goldenFolder, nhwcTensor, readNchw, relativeError, type Family } from './golden';

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine({ precision: 'f32' });
});
afterAll(() => engine?.dispose());

async function loadUnet(family: Family, variants?: string[]): Promise<UNet2DConditionModel> {
  const folder = await goldenFolder(family, variants);
  return loadUNet2DConditionModel(await folder.component('unet'), `${family}/unet`);
}

async function predict(unet: UNet2DConditionModel, family: Family, timestep: number | tf.Tensor1D): Promise<Float32Array> {
  const sample = nhwcTensor(family, 'unet_sample');
  const e = expected(family, 'unet_encoder_hidden_states');
  const context = tf.tensor3d(toFloat32(e), e.shape as [number, number, number]);
  const out = unet.forward(sample, timestep, context);
  const data = await readNchw(out);
  await engine.sync();
  tf.dispose([sample, context, out]);
  return data;
}

describe('UNet2DConditionModel against diffusers', () => {
  test('tiny SD 1.5 at t=981 and at a per-sample timestep batch', async () => {
    const unet = await loadUnet('tiny-sd15');
    const before = tf.memory().numTensors;
    const t981 = toFloat32(expected('tiny-sd15', 'unet_timestep_scalar'))[0];
    const err981 = relativeError(await predict(unet, 'tiny-sd15', t981), expectedF32('tiny-sd15', 'unet_out_t981'));
    const batch = tf.tensor1d(toFloat32(expected('tiny-sd15', 'unet_timestep_batch')));
    const errBatch = relativeError(await predict(unet, 'tiny-sd15', batch), expectedF32('tiny-sd15', 'unet_out_tbatch'));
    batch.dispose();
    expect(tf.memory().numTensors).toBe(before);
    unet.dispose();
    console.log(`tiny-sd15 unet: t981 ${err981.toExponential(2)}, tbatch ${errBatch.toExponential(2)}`);
    expect(err981).toBeLessThan(1e-4);
    expect(errBatch).toBeLessThan(1e-4);
  });

  test('tiny SD 2 (linear projections, per-block heads, upcast attention) at t=981', async () => {
    const unet = await loadUnet('tiny-sd2');
    const t = toFloat32(expected('tiny-sd2', 'unet_timestep_scalar'))[0];
    const err = relativeError(await predict(unet, 'tiny-sd2', t), expectedF32('tiny-sd2', 'unet_out_t981'));
    unet.dispose();
    console.log(`tiny-sd2 unet: t981 ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-4);
  });

  test("latents not divisible by the downsampling: the up path upsamples to the skips' sizes", async () => {
    const unet = await loadUnet('tiny-sd15');
    const sample = tf.randomNormal([1, 9, 7, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
    const context = tf.randomNormal([1, 77, 32], 0, 1, 'float32', 4) as tf.Tensor3D;
    const out = unet.forward(sample, [500], context);
    const data = (await engine.read(out)) as Float32Array;
    expect(out.shape).toEqual([1, 9, 7, 4]);
    expect(data.every(Number.isFinite)).toBe(true);
    tf.dispose([sample, context, out]);
    unet.dispose();
  });
});
