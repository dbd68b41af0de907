// LoRA files applied at generation by merging them into the weights: W' = W + Σ scale·(alpha/rank)·up·down,
// several files at once, on the UNet and the text encoder. The original weights are kept aside and put back
// by restore(), so removing a LoRA is exact on the f16 path too (re-merging with −scale would not be).
// A merged f16 weight is computed in f32 on the GPU and re-packed to f16 (round to nearest even).
import { detachLora, loadLoraLayers, mergeLora, type LoraAdapter } from '../nn/lora';
import type { Module } from '../nn/module';
import { modulePaths, type LoraComponent, type LoraFile } from '../weights/lora-file';
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

/**
 * Attaches every file's layers as frozen adapters (nn/lora.ts) and folds them into the weights, so generation
 * pays nothing per step; restore() detaches them, which puts the exact original weights back.
 */
export async function mergeLoras(models: Partial<Record<LoraComponent, Module>>, loras: readonly LoraToApply[]): Promise<MergedLoras> {
  const adapters: LoraAdapter[] = [];
  try {
    for (const { name, lora, scale } of loras) {
      if (!Number.isFinite(scale)) throw new LoraApplyError(`LoRA ${name}: scale must be a finite number, got ${scale}`);
      for (const component of new Set(lora.layers.map((l) => l.component))) {
        const model = models[component];
        if (!model) throw new LoraApplyError(`LoRA ${name} has ${component} layers, but no ${component} was given`);
        try {
          adapters.push(...loadLoraLayers(model, lora.layers, scale, component));
        } catch (e) {
          throw new LoraApplyError(`LoRA ${name}: ${(e as Error).message}`);
        }
      }
    }
    await mergeLora(adapters);
  } catch (e) {
    detachLora(adapters);
    throw e;
  }
  return { applied: loras.map(({ name, scale }) => ({ name, scale })), restore: () => detachLora(adapters) };
}
