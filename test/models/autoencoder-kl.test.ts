import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import type { AutoencoderKL } from '../../src/models/autoencoder-kl';
import { loadAutoencoderKL } from '../../src/models/load';
import { startEngine } from '../engine-helpers';
import { expectedF32, goldenFolder, nhwcTensor, readNchw, relativeError, type Family } from './golden';

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine({ precision: 'f32' });
});
afterAll(() => engine?.dispose());

async function loadVae(family: Family): Promise<AutoencoderKL> {
  const folder = await goldenFolder(family);
  return loadAutoencoderKL(await folder.component('vae'), `${family}/vae`);
}

async function decodeError(vae: AutoencoderKL, family: Family): Promise<number> {
  const z = nhwcTensor(family, 'vae_decode_in');
  const image = vae.decode(z);
  const err = relativeError(await readNchw(image), expectedF32(family, 'vae_decode_out'));
  tf.dispose([z, image]);
  return err;
}

describe('AutoencoderKL against diffusers', () => {
  test('tiny SD 1.5: decode, and encode to mean and std', async () => {
    const vae = await loadVae('tiny-sd15');
    const before = tf.memory().numTensors;
    const errDecode = await decodeError(vae, 'tiny-sd15');
    const x = nhwcTensor('tiny-sd15', 'vae_encode_in');
    const { mean, std } = vae.encode(x);
    const errMean = relativeError(await readNchw(mean), expectedF32('tiny-sd15', 'vae_encode_mean'));
    const errStd = relativeError(await readNchw(std), expectedF32('tiny-sd15', 'vae_encode_std'));
    await engine.sync();
    tf.dispose([x, mean, std]);
    expect(tf.memory().numTensors).toBe(before);
    vae.dispose();
    console.log(`tiny-sd15 vae: decode ${errDecode.toExponential(2)}, mean ${errMean.toExponential(2)}, std ${errStd.toExponential(2)}`);
    expect(errDecode).toBeLessThan(1e-4);
    expect(errMean).toBeLessThan(1e-4);
    expect(errStd).toBeLessThan(1e-4);
  });

  test('tiny SD 2: decode', async () => {
    const vae = await loadVae('tiny-sd2');
    const err = await decodeError(vae, 'tiny-sd2');
    vae.dispose();
    console.log(`tiny-sd2 vae: decode ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-4);
  });

  test('tiled decode: one tile equals the plain decode; away from the seams a tile is its own decode', async () => {
    const vae = await loadVae('tiny-sd15');
    // 24×24 latents (48 px) in tiles of 16 latents / 32 px: step 12 latents, blend 8 px, keep 24 px per tile.
    const z = tf.randomNormal([1, 24, 24, 4], 0, 1, 'float32', 7) as tf.Tensor4D;
    const full = vae.decode(z);
    const single = vae.decode(z, { tiled: true, tileSize: 64 });
    const tiled = vae.decode(z, { tiled: true, tileSize: 32 });
    const corner = vae.decode(tf.slice(z, [0, 0, 0, 0], [1, 16, 16, 4]));
    expect(tiled.shape).toEqual([1, 48, 48, 3]);
    const same = relativeError(await single.data(), await full.data());
    // Rows/columns 0..23 of the first tile are never blended (blending touches only later tiles' edges).
    const cropA = tf.slice(tiled, [0, 0, 0, 0], [1, 24, 24, 3]);
    const cropB = tf.slice(corner, [0, 0, 0, 0], [1, 24, 24, 3]);
    const cornerErr = relativeError(await cropA.data(), await cropB.data());
    // Past the first tile the blend differs from a plain decode, but must stay an image of the same scale.
    const seamRatio = relativeError(await tiled.data(), await full.data());
    await engine.sync();
    tf.dispose([z, full, single, tiled, corner, cropA, cropB]);
    vae.dispose();
    expect(same).toBe(0);
    expect(cornerErr).toBeLessThan(1e-6);
    expect(seamRatio).toBeLessThan(1);
  });
});
