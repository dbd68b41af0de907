// LoRA files applied at generation by merging them into the weights: W' = W + Σ scale·(alpha/rank)·up·down,
// several files at once, on the UNet and the text encoder. The original weights are kept aside and put back
// by restore(), so removing a LoRA is exact on the f16 path too (re-merging with −scale would not be).
// A merged f16 weight is computed in f32 on the GPU and re-packed to f16 (round to nearest even).
import * as tf from '@tensorflow/tfjs';
import { packF16 } from '../engine/f16-tensor';
import type { Module, Parameter } from '../nn/module';
import { asTensor } from '../ops/reference';
import type { Weight } from '../ops/types';
import { modulePaths, type LoraComponent, type LoraFile, type LoraLayer } from '../weights/lora-file';
import type { StableDiffusionPipeline } from './load-pipeline';

export interface LoraToApply {
  /** Shown in the PNG record: usually the file name without extension. */
  name: string;
  lora: LoraFile;
  scale: number;
}

export interface MergedLoras {
  readonly applied: readonly { name: string; scale: number }[];
  /** Puts the original weights back and frees the merged ones. */
  restore(): void;
}

export class LoraApplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoraApplyError';
  }
}

/** The module paths readLora needs to resolve kohya names against this pipeline. */
export function loraModules(pipeline: StableDiffusionPipeline): Record<LoraComponent, string[]> {
  const names = (m: Module) => modulePaths([...m.namedParameters()].map(([n]) => n));
  return { unet: names(pipeline.unet), text_encoder: names(pipeline.textEncoder) };
}

/** Replaces whatever LoRAs the pipeline has merged with `loras` (none: back to the plain weights). */
export async function setLoras(pipeline: StableDiffusionPipeline, loras: readonly LoraToApply[]): Promise<void> {
  pipeline.loras?.restore();
  pipeline.loras = undefined;
  if (loras.length) pipeline.loras = await mergeLoras({ unet: pipeline.unet, text_encoder: pipeline.textEncoder }, loras);
}

interface Term {
  layer: LoraLayer;
  factor: number;
}

export async function mergeLoras(models: Partial<Record<LoraComponent, Module>>, loras: readonly LoraToApply[]): Promise<MergedLoras> {
  const targets = new Map<Parameter, { name: string; terms: Term[] }>();
  const params = new Map<LoraComponent, Map<string, Parameter>>();
  const parameter = (component: LoraComponent, model: Module, name: string) => {
    if (!params.has(component)) params.set(component, new Map(model.namedParameters()));
    return params.get(component)!.get(name);
  };
  for (const { name, lora, scale } of loras) {
    if (!Number.isFinite(scale)) throw new LoraApplyError(`LoRA ${name}: scale must be a finite number, got ${scale}`);
    for (const layer of lora.layers) {
      const model = models[layer.component] ?? fail(`LoRA ${name} has ${layer.component} layers, but no ${layer.component} was given`);
      const paramName = `${layer.module}.weight`;
      const param = parameter(layer.component, model, paramName) ?? fail(`LoRA ${name}: the ${layer.component} has no weight "${paramName}"`);
      const delta = deltaTorchShape(layer);
      if (!sameShape(squeeze(delta), squeeze(param.torchShape))) {
        fail(`LoRA ${name}: ${layer.module} gives an update of shape [${delta}], the weight is [${param.torchShape}]`);
      }
      const rank = layer.down.shape[0];
      const target = targets.get(param) ?? { name: paramName, terms: [] };
      target.terms.push({ layer, factor: (scale * layer.alpha) / rank });
      targets.set(param, target);
    }
  }

  const originals: [Parameter, Weight][] = [];
  const restore = () => {
    for (const [param, original] of originals.splice(0)) {
      param.dispose();
      param.value = original;
    }
  };
  try {
    for (const [param, { terms }] of targets) {
      const original = param.weight;
      const merged = tf.tidy(() => {
        let w = asTensor(original);
        for (const { layer, factor } of terms) w = tf.add(w, tf.mul(deltaInOurLayout(layer, param), factor));
        return w;
      });
      let value: Weight = merged;
      if (!(original instanceof tf.Tensor)) {
        value = packF16((await merged.data()) as Float32Array, original.shape);
        merged.dispose();
      }
      originals.push([param, original]);
      param.value = value;
    }
  } catch (e) {
    restore();
    throw e;
  }
  return { applied: loras.map(({ name, scale }) => ({ name, scale })), restore };
}

function fail(message: string): never {
  throw new LoraApplyError(message);
}

/** up [out, rank(, 1, 1)] · down [rank, in(, kh, kw)] in PyTorch layout: [out, in(, kh, kw)]. */
function deltaTorchShape(layer: LoraLayer): number[] {
  return [layer.up.shape[0], ...layer.down.shape.slice(1)];
}

function squeeze(shape: readonly number[]): number[] {
  return shape.length === 4 && shape[2] === 1 && shape[3] === 1 ? shape.slice(0, 2) : [...shape];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The update in the layout the parameter is stored in: linear [in, out], conv HWIO [kh, kw, in, out]. */
function deltaInOurLayout(layer: LoraLayer, param: Parameter): tf.Tensor {
  const rank = layer.down.shape[0];
  const out = layer.up.shape[0];
  const rest = layer.down.data.length / rank;
  const down = tf.tensor2d(layer.down.data, [rank, rest]);
  const up = tf.tensor2d(layer.up.data, [out, rank]);
  // (up · down)ᵀ = downᵀ · upᵀ: rows follow the PyTorch order of the input axes (in, kh, kw).
  const product = tf.matMul(down, up, true, true);
  if (param.layout !== 'conv') return product;
  const [, inChannels, kh, kw] = param.torchShape;
  return tf.transpose(tf.reshape(product, [inChannels, kh, kw, out]), [1, 2, 0, 3]);
}
