// Weights from a WeightSource (diffusers folder, single file, tiny builder) into a model's parameters:
// every name and shape checked against the config before anything is uploaded, PyTorch layouts converted on
// the CPU one tensor at a time (conv OIHW -> HWIO, linear [out, in] -> [in, out]), stored as packed f16 or f32,
// and everything uploaded so far freed if any tensor fails.
import * as tf from '@tensorflow/tfjs';
import { engine, type Precision } from '../engine/engine';
import { packedF16FromBits } from '../engine/f16-tensor';
import type { Module, Parameter } from '../nn/module';
import type { Ops } from '../ops/types';
import { kernelOps } from '../ops/kernels';
import type { DirectorySource } from '../io/file-source';
import { openDiffusersFolder } from '../weights/diffusers-folder';
import type { WeightSource } from '../weights/weight-source';
import { AutoencoderKL } from './autoencoder-kl';
import { CLIPTextModel } from './clip-text-model';
import { parseAutoencoderKLConfig, parseCLIPTextConfig, parseUNetConfig } from './configs';
import { UNet2DConditionModel } from './unet-2d-condition';
import { toOurLayout } from './weight-layout';

export class WeightLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WeightLoadError';
  }
}

export interface LoadOptions {
  /** Storage precision of the weights; default: the engine's. */
  precision?: Precision;
  /** The op implementation the model calls; default: the WGSL kernels (referenceOps: the tfjs oracle). */
  ops?: Ops;
  onProgress?: (done: number, total: number) => void;
}

/** A component as the weights readers give it (diffusers folder or single-file checkpoint). */
export interface ComponentSource {
  config: Record<string, unknown>;
  weights: WeightSource;
}

export interface LoadReport {
  /** Tensors in the source that no parameter reads (position_ids buffers and the like). */
  unused: string[];
}

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Does a stored PyTorch shape hold this parameter? A 1×1 conv and a linear layer are interchangeable. */
function shapeFits(p: Parameter, stored: readonly number[]): boolean {
  const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  if (same(p.torchShape, stored)) return true;
  if (p.layout !== 'linear') return false;
  const squeeze = (s: readonly number[]) => (s.length === 4 && s[2] === 1 && s[3] === 1 ? s.slice(0, 2) : s);
  return same(squeeze(p.torchShape), squeeze(stored));
}

/** Fills `model`'s parameters from `source`. `describe` names the source in errors (a path, 'unet'). */
export async function loadWeights(model: Module, source: WeightSource, describe: string, options: LoadOptions = {}): Promise<LoadReport> {
  const precision = options.precision ?? engine().precision;
  const params = [...model.namedParameters()];
  const missing = params.filter(([name]) => !source.has(name)).map(([name]) => name);
  if (missing.length) {
    const list = missing.slice(0, 5).map((n) => `"${n}"`).join(', ');
    throw new WeightLoadError(`${describe}: missing weight ${list}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`);
  }
  for (const [name, p] of params) {
    const stored = source.shape(name);
    if (!shapeFits(p, stored)) {
      throw new WeightLoadError(`${describe}: weight "${name}" has shape ${fmt(stored)}, but the config needs ${fmt(p.torchShape)}`);
    }
  }
  const bridge = engine().bridge;
  try {
    for (let i = 0; i < params.length; i++) {
      const [name, p] = params[i];
      try {
        if (precision === 'f16') {
          const { data, shape } = toOurLayout(p, await source.readF16Bits(name));
          p.value = packedF16FromBits(data, shape);
          bridge.bufferOf(p.value.packed);
        } else {
          const { data, shape } = toOurLayout(p, await source.readF32(name));
          p.value = tf.tensor(data, shape, 'float32');
          bridge.bufferOf(p.value);
        }
      } catch (e) {
        throw new WeightLoadError(`${describe}: weight "${name}": ${(e as Error).message}`);
      }
      options.onProgress?.(i + 1, params.length);
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  const used = new Set(params.map(([name]) => name));
  return { unused: source.names().filter((n) => !used.has(n)) };
}

export async function loadCLIPTextModel(c: ComponentSource, describe = 'text_encoder', options: LoadOptions = {}): Promise<CLIPTextModel> {
  const model = new CLIPTextModel(parseCLIPTextConfig(c.config, `${describe}/config.json`), options.ops ?? kernelOps);
  await loadWeights(model, c.weights, describe, options);
  return model;
}

export async function loadUNet2DConditionModel(c: ComponentSource, describe = 'unet', options: LoadOptions = {}): Promise<UNet2DConditionModel> {
  const model = new UNet2DConditionModel(parseUNetConfig(c.config, `${describe}/config.json`), options.ops ?? kernelOps);
  await loadWeights(model, c.weights, describe, options);
  return model;
}

export async function loadAutoencoderKL(c: ComponentSource, describe = 'vae', options: LoadOptions = {}): Promise<AutoencoderKL> {
  const model = new AutoencoderKL(parseAutoencoderKLConfig(c.config, `${describe}/config.json`), options.ops ?? kernelOps);
  await loadWeights(model, c.weights, describe, options);
  return model;
}

export interface PipelineModels {
  textEncoder: CLIPTextModel;
  unet: UNet2DConditionModel;
  vae: AutoencoderKL;
  dispose(): void;
}

/** The three models of a diffusers pipeline folder; the fp16 variant files are preferred on the f16 path. */
export async function loadDiffusersPipeline(dir: DirectorySource, options: LoadOptions = {}): Promise<PipelineModels> {
  const precision = options.precision ?? engine().precision;
  const folder = await openDiffusersFolder(dir, { variants: precision === 'f16' ? ['fp16', ''] : ['', 'fp16'] });
  const loaded: Module[] = [];
  const describe = (name: string) => `${dir.name}/${name}`;
  try {
    const textEncoder = await loadCLIPTextModel(await folder.component('text_encoder'), describe('text_encoder'), { ...options, precision });
    loaded.push(textEncoder);
    const unet = await loadUNet2DConditionModel(await folder.component('unet'), describe('unet'), { ...options, precision });
    loaded.push(unet);
    const vae = await loadAutoencoderKL(await folder.component('vae'), describe('vae'), { ...options, precision });
    return { textEncoder, unet, vae, dispose: () => [textEncoder, unet, vae].forEach((m) => m.dispose()) };
  } catch (e) {
    for (const m of loaded) m.dispose();
    throw e;
  }
}
