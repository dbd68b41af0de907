import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { readText } from '../../src/io/file-source';
import { loadDiffusersPipeline } from '../../src/models/load';
import { buildTinyPipeline, tinyPipelineDirectory } from '../../src/models/tiny-model-builder';
import { ClipTokenizer } from '../../src/tokenizer/clip-tokenizer';
import { startEngine } from '../engine-helpers';

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine({ precision: 'f32' });
});
afterAll(() => engine?.dispose());

async function bytes(blob: Blob | undefined): Promise<Buffer> {
  return Buffer.from(await blob!.arrayBuffer());
}

describe('tiny-model builder', () => {
  test('same seed, same files; another seed, other weights', async () => {
    const a = buildTinyPipeline('sd15', { seed: 1 });
    const b = buildTinyPipeline('sd15', { seed: 1 });
    const c = buildTinyPipeline('sd15', { seed: 2 });
    const path = 'unet/diffusion_pytorch_model.safetensors';
    // Buffer.equals: vitest's deep equality walks megabytes element by element.
    expect((await bytes(a.get(path))).equals(await bytes(b.get(path)))).toBe(true);
    expect((await bytes(a.get(path))).equals(await bytes(c.get(path)))).toBe(false);
  });

  test.each(['sd15', 'sd2'] as const)('%s: the real readers load it and the pipeline runs text -> unet -> vae', async (family) => {
    const dir = tinyPipelineDirectory(family, { seed: 3 });
    const files = new Map((await dir.files()).map((f) => [f.path, f]));
    const tokenizer = ClipTokenizer.fromFiles(await readText(files.get('tokenizer/vocab.json')!), await readText(files.get('tokenizer/merges.txt')!), {
      padToken: family === 'sd2' ? '!' : undefined,
    });
    const encoded = tokenizer.encode('a photo of a cat');
    // bos, five whole-word tokens, eos.
    expect(encoded.length).toBe(7);

    const models = await loadDiffusersPipeline(dir);
    const ids = tf.tensor2d(encoded.ids, [1, 77], 'int32');
    const text = models.textEncoder.forward(ids);
    const latents = tf.randomNormal([1, 8, 8, 4], 0, 1, 'float32', 5) as tf.Tensor4D;
    const eps = models.unet.forward(latents, 999, text.lastHiddenState);
    const image = models.vae.decode(eps);
    const pixels = (await engine.read(image)) as Float32Array;
    expect(image.shape).toEqual([1, 16, 16, 3]);
    expect(pixels.every(Number.isFinite)).toBe(true);
    tf.dispose([ids, text.lastHiddenState, text.penultimateHiddenState, latents, eps, image]);
    models.dispose();
  });
});
