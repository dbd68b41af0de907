// `eval <component>`: one model component on .npy inputs, .npy outputs (see shared CLI.md). Files are in
// diffusers' layout (NCHW images and latents); the engine is NHWC inside, so we transpose at the boundary.
import { readFile, stat, writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { Flags, parseArgs, UsageError } from '../args';
import type { Command } from '../command';
import { createNodeEngine } from '../../engine/node';
import type { Engine } from '../../engine/engine';
import { nodeDirectory, nodeFile } from '../../io/node-file-source';
import { readNpy, toFloat32, toInt32, writeNpy, type NpyArray } from '../../io/npy';
import { ModelConfigError } from '../../models/configs';
import { loadAutoencoderKL, loadCLIPTextModel, loadUNet2DConditionModel, WeightLoadError, type ComponentSource } from '../../models/load';
import { UnsupportedModelError } from '../../weights/architecture';
import { ModelFolderError, openDiffusersFolder } from '../../weights/diffusers-folder';
import { SafetensorsError } from '../../weights/safetensors';
import { openSingleFile } from '../../weights/single-file';

const COMPONENTS = ['text-encoder', 'unet', 'vae-encode', 'vae-decode'] as const;
type EvalComponent = (typeof COMPONENTS)[number];
const FLAGS = ['model', 'precision', 'ids', 'out', 'out-penultimate', 'sample', 'timestep', 'timesteps', 'context', 'image', 'out-mean', 'out-std', 'latents', 'tile'];

async function readArray(path: string, flag: string): Promise<NpyArray> {
  return readNpy(new Uint8Array(await readFile(path)), `--${flag} ${path}`);
}

function shape4(a: NpyArray, flag: string, channels?: number): [number, number, number, number] {
  if (a.shape.length !== 4) throw new UsageError(`--${flag}: expected an NCHW array, got shape (${a.shape.join(', ')})`);
  if (channels !== undefined && a.shape[1] !== channels) {
    throw new UsageError(`--${flag}: expected ${channels} channels (NCHW), got shape (${a.shape.join(', ')})`);
  }
  return a.shape as [number, number, number, number];
}

/** NCHW file data -> NHWC tensor. */
function nhwc(a: NpyArray, flag: string, channels?: number): tf.Tensor4D {
  const s = shape4(a, flag, channels);
  return tf.tidy(() => tf.transpose(tf.tensor4d(toFloat32(a), s), [0, 2, 3, 1]));
}

async function writeNchw(engine: Engine, t: tf.Tensor4D, path: string): Promise<void> {
  const nchw = tf.transpose(t, [0, 3, 1, 2]);
  const data = (await engine.read(nchw)) as Float32Array;
  nchw.dispose();
  await writeFile(path, writeNpy(data, nchw.shape));
}

/** A diffusers folder or a single-file .safetensors checkpoint. */
async function openComponent(model: string, name: 'text_encoder' | 'unet' | 'vae', precision: string): Promise<ComponentSource & { describe: string }> {
  const info = await stat(model);
  if (info.isDirectory()) {
    const folder = await openDiffusersFolder(await nodeDirectory(model), { variants: precision === 'f16' ? ['fp16', ''] : ['', 'fp16'] });
    return { ...(await folder.component(name)), describe: `${model}/${name}` };
  }
  if (!model.endsWith('.safetensors')) throw new UsageError(`--model ${model}: expected a diffusers folder or a .safetensors checkpoint`);
  const checkpoint = await openSingleFile(await nodeFile(model, model));
  return { ...checkpoint.components[name], describe: `${model} (${name})` };
}

async function run(component: EvalComponent, flags: Flags, engine: Engine): Promise<void> {
  const model = flags.require('model');
  const p = engine.precision;
  const tile = flags.integer('tile');
  const tiling = tile === undefined ? {} : { tiled: true, tileSize: tile };
  switch (component) {
    case 'text-encoder': {
      const ids = await readArray(flags.require('ids'), 'ids');
      if (ids.shape.length !== 2) throw new UsageError(`--ids: expected [B, L] token ids, got shape (${ids.shape.join(', ')})`);
      const c = await openComponent(model, 'text_encoder', p);
      const encoder = await loadCLIPTextModel(c, c.describe);
      const input = tf.tensor2d(toInt32(ids), ids.shape as [number, number], 'int32');
      const out = encoder.forward(input);
      await writeFile(flags.require('out'), writeNpy((await engine.read(out.lastHiddenState)) as Float32Array, out.lastHiddenState.shape));
      const pen = flags.string('out-penultimate');
      if (pen) await writeFile(pen, writeNpy((await engine.read(out.penultimateHiddenState)) as Float32Array, out.penultimateHiddenState.shape));
      tf.dispose([input, out.lastHiddenState, out.penultimateHiddenState]);
      encoder.dispose();
      return;
    }
    case 'unet': {
      const sample = await readArray(flags.require('sample'), 'sample');
      const context = await readArray(flags.require('context'), 'context');
      if (context.shape.length !== 3) throw new UsageError(`--context: expected [B, L, D], got shape (${context.shape.join(', ')})`);
      let timestep: number | number[];
      if (flags.has('timesteps')) timestep = [...toFloat32(await readArray(flags.require('timesteps'), 'timesteps'))];
      else if (flags.has('timestep')) timestep = flags.number('timestep')!;
      else throw new UsageError('--timestep or --timesteps is required');
      const c = await openComponent(model, 'unet', p);
      const unet = await loadUNet2DConditionModel(c, c.describe);
      const x = nhwc(sample, 'sample', unet.config.in_channels);
      const ctx = tf.tensor3d(toFloat32(context), context.shape as [number, number, number]);
      const out = unet.forward(x, timestep, ctx);
      await writeNchw(engine, out, flags.require('out'));
      tf.dispose([x, ctx, out]);
      unet.dispose();
      return;
    }
    case 'vae-encode': {
      const image = await readArray(flags.require('image'), 'image');
      const c = await openComponent(model, 'vae', p);
      const vae = await loadAutoencoderKL(c, c.describe);
      const x = nhwc(image, 'image', vae.config.in_channels);
      const { mean, std } = vae.encode(x, tiling);
      await writeNchw(engine, mean, flags.require('out-mean'));
      const stdPath = flags.string('out-std');
      if (stdPath) await writeNchw(engine, std, stdPath);
      tf.dispose([x, mean, std]);
      vae.dispose();
      return;
    }
    case 'vae-decode': {
      const latents = await readArray(flags.require('latents'), 'latents');
      const c = await openComponent(model, 'vae', p);
      const vae = await loadAutoencoderKL(c, c.describe);
      const z = nhwc(latents, 'latents', vae.config.latent_channels);
      const out = vae.decode(z, tiling);
      await writeNchw(engine, out, flags.require('out'));
      tf.dispose([z, out]);
      vae.dispose();
      return;
    }
  }
}

const evalCommand: Command = {
  name: 'eval',
  summary: 'run one model component (text encoder, UNet, VAE) on .npy inputs and write .npy outputs',
  help: `usage: npm run stencil -- eval <${COMPONENTS.join('|')}> --model PATH [flags]

Runs one component of a Stable Diffusion model on NumPy arrays. Arrays use diffusers' layout:
images and latents NCHW float32 (images in [-1, 1]), token ids int32 or int64 [B, 77].

  --model PATH          a diffusers folder or a single-file .safetensors checkpoint
  --precision P         auto|f16|f32 (auto = f16 weights where the GPU has shader-f16)

  text-encoder  --ids ids.npy --out hidden.npy [--out-penultimate h.npy]
                last hidden state [B, L, D] (and hidden_states[-2], before the final LayerNorm)
  unet          --sample x.npy (--timestep T | --timesteps t.npy) --context c.npy --out eps.npy
  vae-encode    --image img.npy --out-mean m.npy [--out-std s.npy] [--tile PX]
                the latent distribution (unscaled: multiply by scaling_factor)
  vae-decode    --latents z.npy --out img.npy [--tile PX]
                takes what vae.decode takes (latents already divided by scaling_factor)

  --tile PX             tiled encode/decode with tiles of PX pixels (diffusers' enable_tiling)`,

  async run(argv) {
    const flags = new Flags(parseArgs(argv), FLAGS);
    const component = flags.positional[0] as EvalComponent;
    if (!COMPONENTS.includes(component)) throw new UsageError(`expected a component: ${COMPONENTS.join(', ')}`);
    const precision = flags.choice('precision', ['auto', 'f16', 'f32'] as const, 'auto');
    const engine = await createNodeEngine({ precision });
    try {
      await run(component, flags, engine);
    } catch (e) {
      // Bad model files and mismatched configs are bad input: exit code 2 with the message naming them.
      if (e instanceof UnsupportedModelError || e instanceof ModelConfigError || e instanceof WeightLoadError || e instanceof ModelFolderError || e instanceof SafetensorsError) {
        throw new UsageError(e.message);
      }
      throw e;
    } finally {
      engine.dispose();
    }
    return 0;
  },
};

export default evalCommand;
