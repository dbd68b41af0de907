import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blobDirectory, type DirectorySource } from '../../src/io/file-source';
import { nodeDirectory } from '../../src/io/node-file-source';
import { UnsupportedModelError } from '../../src/weights/architecture';
import { ModelFolderError, openDiffusersComponent, openDiffusersFolder } from '../../src/weights/diffusers-folder';
import { writeSafetensors } from '../../src/weights/safetensors-writer';

const GOLDEN = join(__dirname, '../fixtures/golden');

async function entries(dir: DirectorySource): Promise<[string, Blob][]> {
  return Promise.all((await dir.files()).map(async (f) => [f.path, await f.blob()] as [string, Blob]));
}

const json = (value: unknown) => new Blob([JSON.stringify(value)]);

describe('diffusers folder', () => {
  it('opens the golden SD 1.5 pipeline: components, configs, plain and fp16 variants', async () => {
    const folder = await openDiffusersFolder(await nodeDirectory(join(GOLDEN, 'tiny-sd15/model')));
    expect(folder.components.sort()).toEqual(['scheduler', 'text_encoder', 'tokenizer', 'unet', 'vae']);
    expect((await folder.config('scheduler'))._class_name).toBe('PNDMScheduler');
    const unet = await folder.component('unet');
    expect(unet.variant).toBe('');
    expect(unet.files).toEqual(['unet/diffusion_pytorch_model.safetensors']);
    expect(unet.config.block_out_channels).toEqual([32, 64]);
    expect(unet.weights.shape('conv_in.weight')).toEqual([32, 4, 3, 3]);
    expect(unet.weights.dtype('conv_in.weight')).toBe('F32');
    const text = await folder.component('text_encoder');
    expect(text.files).toEqual(['text_encoder/model.safetensors']);
    expect(text.weights.has('text_model.final_layer_norm.weight')).toBe(true);

    const fp16 = await openDiffusersComponent(folder.source, 'unet', { variants: ['fp16', ''] });
    expect(fp16.variant).toBe('fp16');
    expect(fp16.weights.dtype('conv_in.weight')).toBe('F16');
    expect(await fp16.weights.readF16Bits('conv_in.weight')).toEqual(await unet.weights.readF16Bits('conv_in.weight'));
  });

  it('falls back to the next variant and reads sharded weights through the index', async () => {
    const source = await nodeDirectory(join(GOLDEN, 'tiny-sd2/model'));
    const plain = await openDiffusersComponent(source, 'vae');
    const names = plain.weights.names();
    const half = Math.floor(names.length / 2);
    const shard = async (list: string[]) =>
      writeSafetensors(await Promise.all(list.map(async (name) => ({ name, dtype: 'F32' as const, shape: plain.weights.shape(name), data: await plain.weights.readF32(name) }))));
    const weightMap = Object.fromEntries(names.map((n, i) => [n, i < half ? 'diffusion_pytorch_model.fp16-00001-of-00002.safetensors' : 'diffusion_pytorch_model.fp16-00002-of-00002.safetensors']));
    const dir = blobDirectory('sharded', [
      ['vae/config.json', await (await source.file('vae/config.json'))!.blob()],
      ['vae/diffusion_pytorch_model.safetensors.index.fp16.json', json({ metadata: {}, weight_map: weightMap })],
      ['vae/diffusion_pytorch_model.fp16-00001-of-00002.safetensors', await shard(names.slice(0, half))],
      ['vae/diffusion_pytorch_model.fp16-00002-of-00002.safetensors', await shard(names.slice(half))],
    ]);
    const sharded = await openDiffusersComponent(dir, 'vae');
    expect(sharded.variant).toBe('fp16');
    expect(sharded.files).toHaveLength(2);
    expect(sharded.weights.names().sort()).toEqual([...names].sort());
    for (const name of [names[0], names[names.length - 1]]) {
      expect(await sharded.weights.readF32(name)).toEqual(await plain.weights.readF32(name));
    }
  });

  it('names the missing config, weight file or shard', async () => {
    const golden = await entries(await nodeDirectory(join(GOLDEN, 'tiny-sd15/model')));
    const without = (drop: (p: string) => boolean) => blobDirectory('m', golden.filter(([p]) => !drop(p)));
    await expect(openDiffusersFolder(without((p) => p === 'vae/config.json')).then((f) => f.component('vae'))).rejects.toThrow(
      /m\/vae\/config\.json is missing/,
    );
    await expect(openDiffusersComponent(without((p) => p.startsWith('unet/diffusion_pytorch_model')), 'unet')).rejects.toThrow(
      /missing weight file: m\/unet\/diffusion_pytorch_model\.safetensors or m\/unet\/diffusion_pytorch_model\.fp16\.safetensors/,
    );
    const shardless = blobDirectory('s', [
      ['unet/config.json', json({ _class_name: 'UNet2DConditionModel', in_channels: 4 })],
      ['unet/diffusion_pytorch_model.safetensors.index.json', json({ weight_map: { a: 'diffusion_pytorch_model-00001-of-00001.safetensors' } })],
    ]);
    await expect(openDiffusersComponent(shardless, 'unet')).rejects.toThrow(/s\/unet\/diffusion_pytorch_model-00001-of-00001\.safetensors is missing/);
  });

  it('says when a folder is not a model', async () => {
    await expect(openDiffusersFolder(blobDirectory('photos', [['cat.png', new Blob([])]]))).rejects.toThrow(
      new ModelFolderError('photos is not a diffusers model folder: no model_index.json'),
    );
    await expect(openDiffusersFolder(blobDirectory('dl', [['v1-5.safetensors', new Blob([])]]))).rejects.toThrow(/open that file as a single-file checkpoint/);
  });

  it.each([
    ['SDXL pipeline', { _class_name: 'StableDiffusionXLPipeline', unet: ['diffusers', 'UNet2DConditionModel'] }, {}, /Stable Diffusion XL/],
    ['SD3 pipeline', { _class_name: 'StableDiffusion3Pipeline', transformer: ['diffusers', 'SD3Transformer2DModel'] }, {}, /Stable Diffusion 3/],
    ['SDXL UNet', { _class_name: 'StableDiffusionPipeline', unet: ['diffusers', 'UNet2DConditionModel'] }, { _class_name: 'UNet2DConditionModel', in_channels: 4, addition_embed_type: 'text_time' }, /Stable Diffusion XL UNet/],
    ['inpainting UNet', { _class_name: 'StableDiffusionPipeline', unet: ['diffusers', 'UNet2DConditionModel'] }, { _class_name: 'UNet2DConditionModel', in_channels: 9 }, /inpainting UNet \(in_channels 9/],
  ])('rejects an unsupported architecture: %s', async (_, index, unetConfig, message) => {
    const dir = blobDirectory('x', [
      ['model_index.json', json(index)],
      ['unet/config.json', json(unetConfig)],
      ['unet/diffusion_pytorch_model.safetensors', writeSafetensors([])],
    ]);
    const error = await openDiffusersFolder(dir)
      .then((f) => f.component('unet'))
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedModelError);
    expect((error as Error).message).toMatch(message);
  });
});
