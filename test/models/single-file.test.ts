// The single-file (CompVis/LDM) form of a golden model loads to the same outputs as the folder form.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { blobFile } from '../../src/io/file-source';
import { toFloat32 } from '../../src/io/npy';
import { loadAutoencoderKL, loadCLIPTextModel, loadUNet2DConditionModel } from '../../src/models/load';
import { exportSingleFile } from '../../src/weights/single-file-export';
import { openSingleFile } from '../../src/weights/single-file';
import { startEngine } from '../engine-helpers';
import { expected, expectedF32, goldenFolder, idsTensor, nhwcTensor, readNchw, relativeError } from './golden';

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine({ precision: 'f32' });
});
afterAll(() => engine?.dispose());

test('tiny SD 2 as one .safetensors (fused OpenCLIP qkv, 1×1-conv VAE attention): text encoder, UNet and VAE match', async () => {
  const folder = await goldenFolder('tiny-sd2');
  const [text_encoder, unet, vae] = await Promise.all(['text_encoder', 'unet', 'vae'].map((c) => folder.component(c)));
  const blob = await exportSingleFile({ text_encoder, unet, vae }, { dtype: 'F32' });
  const checkpoint = await openSingleFile(blobFile(blob, 'tiny-sd2.safetensors'));
  const c = checkpoint.components;

  const textModel = await loadCLIPTextModel(c.text_encoder, 'tiny-sd2.safetensors (text_encoder)');
  const ids = idsTensor('tiny-sd2', 'text_input_ids');
  const text = textModel.forward(ids);
  const errText = relativeError((await text.lastHiddenState.data()) as Float32Array, expectedF32('tiny-sd2', 'text_last_hidden_state'));
  tf.dispose([ids, text.lastHiddenState, text.penultimateHiddenState]);
  textModel.dispose();

  const unetModel = await loadUNet2DConditionModel(c.unet, 'tiny-sd2.safetensors (unet)');
  const sample = nhwcTensor('tiny-sd2', 'unet_sample');
  const e = expected('tiny-sd2', 'unet_encoder_hidden_states');
  const context = tf.tensor3d(toFloat32(e), e.shape as [number, number, number]);
  const eps = unetModel.forward(sample, 981, context);
  const errUnet = relativeError(await readNchw(eps), expectedF32('tiny-sd2', 'unet_out_t981'));
  tf.dispose([sample, context, eps]);
  unetModel.dispose();

  const vaeModel = await loadAutoencoderKL(c.vae, 'tiny-sd2.safetensors (vae)');
  const z = nhwcTensor('tiny-sd2', 'vae_decode_in');
  const image = vaeModel.decode(z);
  const errVae = relativeError(await readNchw(image), expectedF32('tiny-sd2', 'vae_decode_out'));
  await engine.sync();
  tf.dispose([z, image]);
  vaeModel.dispose();

  console.log(`tiny-sd2 single file: text ${errText.toExponential(2)}, unet ${errUnet.toExponential(2)}, vae ${errVae.toExponential(2)}`);
  expect(errText).toBeLessThan(1e-4);
  expect(errUnet).toBeLessThan(1e-4);
  expect(errVae).toBeLessThan(1e-4);
});
