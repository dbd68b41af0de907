// `export`: a fine-tuned checkpoint to the formats other tools load: a diffusers unet/ folder, one
// CompVis single-file .safetensors (A1111, ComfyUI; VAE and text encoder from --model), or a LoRA in
// kohya or diffusers/PEFT keys.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Flags, parseArgs, UsageError } from '../args';
import type { Command } from '../command';
import { isDirectory } from '../model-args';
import { toF16Bits } from '../../engine/f16';
import { nodeDirectory, nodeFile } from '../../io/node-file-source';
import { openDiffusersComponent, openDiffusersFolder, type DiffusersComponent } from '../../weights/diffusers-folder';
import { modulePaths, readLora, writeLora } from '../../weights/lora-file';
import { writeSafetensors, type TensorToWrite } from '../../weights/safetensors-writer';
import { exportSingleFile } from '../../weights/single-file-export';
import { openSingleFile } from '../../weights/single-file';

const TARGETS = ['diffusers', 'single-file', 'kohya-lora', 'peft-lora'] as const;

async function save(path: string, blob: Blob): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, new Uint8Array(await blob.arrayBuffer()));
}

/** The fine-tuned UNet of a checkpoint folder (checkpoint-N/ holding unet/, or a unet folder itself). */
async function checkpointUnet(path: string): Promise<DiffusersComponent> {
  const dir = await nodeDirectory(path);
  if (await dir.file('unet/config.json')) return openDiffusersComponent(dir, 'unet');
  if (await dir.file('config.json')) return openDiffusersComponent(dir, '');
  throw new UsageError(`--checkpoint ${path}: no unet/config.json or config.json (a checkpoint folder written by train, or a diffusers unet folder)`);
}

async function unetModules(model: string): Promise<string[]> {
  if (await isDirectory(model, '--model')) return modulePaths((await (await openDiffusersFolder(await nodeDirectory(model))).component('unet')).weights.names());
  return modulePaths((await openSingleFile(await nodeFile(model, model))).components.unet.weights.names());
}

const exportCommand: Command = {
  name: 'export',
  summary: 'convert a fine-tuned checkpoint to a diffusers unet/ folder, a single file, or a kohya/PEFT LoRA',
  help: `usage: npm run stencil -- export --checkpoint PATH --to diffusers|single-file|kohya-lora|peft-lora --out PATH [flags]

  --checkpoint PATH   checkpoint-N/ folder written by train (or a diffusers unet folder); a LoRA .safetensors for the LoRA targets
  --to diffusers      OUT/unet/ (config.json + diffusion_pytorch_model.safetensors)
  --to single-file    OUT.safetensors in CompVis keys (needs --model for the VAE and text encoder)
  --to kohya-lora | peft-lora   the LoRA in the other key convention (needs --model for module names)
  --model DIR|FILE    the base model
  --dtype f16|f32     (default f16)`,
  async run(argv) {
    const flags = new Flags(parseArgs(argv), ['checkpoint', 'to', 'out', 'model', 'dtype']);
    const to = flags.choice('to', TARGETS, 'diffusers');
    const checkpoint = flags.require('checkpoint');
    const out = flags.require('out');
    const dtype = flags.choice('dtype', ['f16', 'f32'] as const, 'f16');
    if (to === 'kohya-lora' || to === 'peft-lora') {
      const lora = await readLora(await nodeFile(checkpoint, checkpoint), { unet: await unetModules(flags.require('model')) });
      await save(out, writeLora(lora.layers, to === 'kohya-lora' ? 'kohya' : 'peft', lora.metadata));
      console.log(`${out}: ${lora.layers.length} LoRA layers in ${to === 'kohya-lora' ? 'kohya' : 'PEFT'} keys`);
      return 0;
    }
    const unet = await checkpointUnet(checkpoint);
    if (to === 'diffusers') {
      const tensors: TensorToWrite[] = [];
      for (const name of unet.weights.names()) {
        const data = await unet.weights.readF32(name);
        tensors.push(dtype === 'f16' ? { name, dtype: 'F16', shape: unet.weights.shape(name), data: toF16Bits(data) } : { name, dtype: 'F32', shape: unet.weights.shape(name), data });
      }
      await save(join(out, 'unet', 'config.json'), new Blob([JSON.stringify(unet.config, null, 2)]));
      await save(join(out, 'unet', 'diffusion_pytorch_model.safetensors'), writeSafetensors(tensors, { ...unet.weights.metadata }));
      console.log(`${join(out, 'unet')}: ${tensors.length} tensors (${dtype})`);
      return 0;
    }
    const model = flags.require('model');
    const base = (await isDirectory(model, '--model'))
      ? await openDiffusersFolder(await nodeDirectory(model)).then(async (f) => ({ vae: await f.component('vae'), text_encoder: await f.component('text_encoder') }))
      : await openSingleFile(await nodeFile(model, model)).then((c) => ({ vae: c.components.vae, text_encoder: c.components.text_encoder }));
    const blob = await exportSingleFile({ unet, vae: base.vae, text_encoder: base.text_encoder }, {
      dtype: dtype === 'f16' ? 'F16' : 'F32',
      metadata: { ...unet.weights.metadata },
    });
    await save(out, blob);
    console.log(`${out}: single-file checkpoint (${dtype}, ${(blob.size / 2 ** 20).toFixed(1)} MiB)`);
    return 0;
  },
};

export default exportCommand;
