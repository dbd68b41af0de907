// A fine-tuned UNet swapped into a loaded pipeline and back (the app's "generate with a checkpoint" and the
// base-vs-checkpoint comparison): the metadata follows the weights, the images change with them, and putting
// the base UNet back gives the base model's images bit for bit without leaking GPU memory.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { blobDirectory } from '../../src/io/file-source';
import { nodeDirectory } from '../../src/io/node-file-source';
import type { ComponentSource } from '../../src/models/load';
import { exportDiffusersUnet } from '../../src/pipelines/fine-tune/export';
import { loadPipelineFromFolder, type StableDiffusionPipeline } from '../../src/pipelines/load-pipeline';
import { generate } from '../../src/pipelines/text-to-image';
import { openDiffusersComponent, openDiffusersFolder } from '../../src/weights/diffusers-folder';
import { startEngine } from '../engine-helpers';
import { modelDir } from '../models/golden';

let engine: Engine;
let pipeline: StableDiffusionPipeline;
let base: () => Promise<ComponentSource>;
beforeAll(async () => {
  engine = await startEngine({ precision: 'f16' });
  const dir = await nodeDirectory(modelDir('tiny-sd15'));
  pipeline = await loadPipelineFromFolder(dir, { variants: ['fp16'] });
  const folder = await openDiffusersFolder(dir, { variants: ['fp16'] });
  base = () => folder.component('unet');
});
afterAll(() => {
  pipeline?.dispose();
  engine?.dispose();
});

const pixels = async () => (await generate(pipeline, { prompt: 'a cat', style: 'none', width: 32, height: 32, steps: 2, seed: 3 })).pixels;

/** The base UNet with conv_in's weights scaled, exported as our fine-tunes are (f16, with metadata). */
async function fineTuned(): Promise<ComponentSource> {
  const source = await base();
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const name of source.weights.names()) {
    const data = await source.weights.readF32(name);
    weights.set(name, { shape: source.weights.shape(name), data: name === 'conv_in.weight' ? data.map((v) => v * 1.5) : data });
  }
  const meta = { baseModel: 'tiny-sd15', captionTemplate: 'pencil sketch of {name}', predictionType: 'epsilon' as const, step: 4, mode: 'full' as const };
  const files = exportDiffusersUnet(weights, source.config, meta, 'f16');
  return openDiffusersComponent(blobDirectory('checkpoint-4', files.map((f) => [f.path, f.blob])), 'unet');
}

describe('replaceUnet', () => {
  test('a fine-tuned UNet changes the images and the metadata; the base UNet puts both back exactly', async () => {
    const before = await pixels();
    const live = engine.memory().liveBytes;
    expect(pipeline.metadata.fineTuned).toBe(false);

    await pipeline.replaceUnet(await fineTuned(), 'checkpoint-4');
    expect(pipeline.metadata).toMatchObject({ checkpoint: 'checkpoint-4', fineTuned: true, captionTemplate: 'pencil sketch of {name}', baseModel: 'tiny-sd15' });
    const tuned = await pixels();
    let diff = 0;
    for (let i = 0; i < tuned.length; i++) diff = Math.max(diff, Math.abs(tuned[i]! - before[i]!));
    expect(diff).toBeGreaterThan(1e-3);

    await pipeline.replaceUnet(await base(), undefined);
    expect(pipeline.metadata.fineTuned).toBe(false);
    expect(pipeline.metadata.checkpoint).toBeUndefined();
    expect(await pixels()).toEqual(before);
    expect(engine.memory().liveBytes).toBe(live);
  });

  test('a UNet that does not fit fails with the parameter named', async () => {
    const source = await base();
    const broken: ComponentSource = { config: { ...source.config, block_out_channels: [64, 64] }, weights: source.weights };
    await expect(pipeline.replaceUnet(broken, 'wrong')).rejects.toThrow(/shape|conv_in/);
    await pipeline.replaceUnet(source, undefined);
    expect((await pixels()).length).toBe(32 * 32 * 3);
  });
});
