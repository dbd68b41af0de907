// A fine-tuned UNet swapped into a loaded pipeline and back (the app's "generate with a checkpoint" and the
// base-vs-checkpoint comparison): the metadata follows the weights, the images change with them, and putting
// the base UNet back gives the base model's images bit for bit without leaking GPU memory. A training
// checkpoint loads straight from its store (small chunks, so tensors straddle them) to the same images as
// its diffusers export.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { blobDirectory } from '../../src/io/file-source';
import { nodeDirectory } from '../../src/io/node-file-source';
import type { ComponentSource } from '../../src/models/load';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toF16Bits } from '../../src/engine/f16';
import { checkpointMetadata, exportDiffusersUnet } from '../../src/pipelines/fine-tune/export';
import { checkpointWeightSource } from '../../src/pipelines/fine-tune/run-checkpoint';
import { FileCheckpointStore } from '../../src/storage/file-checkpoint-store';
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

const META = { baseModel: 'tiny-sd15', captionTemplate: 'pencil sketch of {name}', predictionType: 'epsilon' as const, step: 4, mode: 'full' as const };

/** The base UNet's weights in PyTorch layout, in parameter order, with conv_in's scaled. */
async function tunedWeights(): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const source = await base();
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name] of pipeline.unet.namedParameters()) {
    const data = await source.weights.readF32(name);
    weights.set(name, { shape: source.weights.shape(name), data: name === 'conv_in.weight' ? data.map((v) => v * 1.5) : data });
  }
  return weights;
}

/** The fine-tuned UNet exported as our fine-tunes are (f16, with metadata). */
async function fineTuned(): Promise<ComponentSource> {
  const files = exportDiffusersUnet(await tunedWeights(), (await base()).config, META, 'f16');
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

  test('a training checkpoint loads from its store to the same images as its export', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replace-unet-'));
    try {
      const store = await FileCheckpointStore.open(dir, { chunkBytes: 1000 });
      const tensors = Object.fromEntries(
        [...(await tunedWeights())].map(([name, t]) => {
          const bits = toF16Bits(t.data);
          return [name, { dtype: 'f16' as const, shape: t.shape, bytes: new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength) }];
        }),
      );
      const manifest = await store.save({ runId: 'run-1', step: 4, mode: 'full', baseModel: 'tiny-sd15', captionTemplate: META.captionTemplate, tensors });
      const config = (await base()).config;

      await pipeline.replaceUnet(await fineTuned(), 'export');
      const exported = await pixels();
      await pipeline.replaceUnet({ config, weights: checkpointWeightSource(store, manifest, checkpointMetadata(META)) }, 'store');
      expect(pipeline.metadata).toMatchObject({ fineTuned: true, captionTemplate: META.captionTemplate });
      expect(await pixels()).toEqual(exported);

      // Out of stored order too: a later tensor, then an earlier one (a new pass over the chunks).
      const source = checkpointWeightSource(store, manifest, {});
      const tuned = await tunedWeights();
      expect(await source.readF16Bits('conv_out.bias')).toEqual(toF16Bits(tuned.get('conv_out.bias')!.data));
      expect(await source.readF16Bits('conv_in.weight')).toEqual(toF16Bits(tuned.get('conv_in.weight')!.data));
      await expect(source.readF16Bits('nope')).rejects.toThrow(/has no weight "nope"/);
    } finally {
      await pipeline.replaceUnet(await base(), undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a UNet that does not fit fails with the parameter named', async () => {
    const source = await base();
    const broken: ComponentSource = { config: { ...source.config, block_out_channels: [64, 64] }, weights: source.weights };
    await expect(pipeline.replaceUnet(broken, 'wrong')).rejects.toThrow(/shape|conv_in/);
    await pipeline.replaceUnet(source, undefined);
    expect((await pixels()).length).toBe(32 * 32 * 3);
  });
});
