// A Stable Diffusion pipeline in memory: tokenizer, text encoder, UNet, VAE, the scheduler config and what
// the weights say about themselves (fine-tuned marker, caption template, base model, prediction type).
// From a diffusers folder, or a CompVis single-file checkpoint plus a tokenizer; either one optionally with
// a fine-tuned UNet checkpoint that replaces the base UNet.
import type { Precision } from '../engine/engine';
import type { DirectorySource, FileLike } from '../io/file-source';
import type { AutoencoderKL } from '../models/autoencoder-kl';
import type { CLIPTextModel } from '../models/clip-text-model';
import { loadAutoencoderKL, loadCLIPTextModel, loadUNet2DConditionModel, type ComponentSource, type LoadOptions } from '../models/load';
import type { UNet2DConditionModel } from '../models/unet-2d-condition';
import type { Module } from '../nn/module';
import type { Ops } from '../ops/types';
import { schedulerKindOf, type SchedulerKind } from '../schedulers';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer';
import { openDiffusersComponent, openDiffusersFolder, ModelFolderError } from '../weights/diffusers-folder';
import type { Family } from '../weights/infer-config';
import { openSingleFile, type PredictionType } from '../weights/single-file';
import type { MergedLoras } from './lora-apply';

export interface ModelMetadata {
  /** The base model's folder or file name (recorded in the PNG). */
  name: string;
  /** The fine-tuned UNet checkpoint's name, when one replaced the base UNet. */
  checkpoint?: string;
  /** "fine_tuned": "true" in the weights' metadata: the sketch prompt style is the default. */
  fineTuned: boolean;
  captionTemplate?: string;
  baseModel?: string;
  predictionType: PredictionType;
}

export interface StableDiffusionPipeline {
  readonly tokenizer: ClipTokenizer;
  readonly textEncoder: CLIPTextModel;
  /** The base UNet, or a fine-tuned one that replaceUnet put in its place. */
  unet: UNet2DConditionModel;
  readonly vae: AutoencoderKL;
  /** scheduler_config.json, with the prediction type the weights ask for. */
  schedulerConfig: Record<string, unknown>;
  /** The model's own scheduler (its scheduler_config.json class). */
  readonly defaultScheduler: SchedulerKind;
  /** Follows the UNet: a fine-tuned one brings its own marker, caption template and prediction type. */
  metadata: ModelMetadata;
  /** LoRA files merged into the weights right now (see lora-apply.ts). */
  loras?: MergedLoras;
  /**
   * Frees the current UNet, then loads `source` in its place with the same ops and precision (one UNet on the
   * GPU at a time: two rarely fit). `checkpoint` names the fine-tune, undefined for the base weights. If the
   * load fails, the pipeline has no usable UNet until a later replaceUnet succeeds.
   */
  replaceUnet(source: ComponentSource, checkpoint: string | undefined, onProgress?: (done: number, total: number) => void): Promise<void>;
  dispose(): void;
}

/** A fine-tuned UNet: a diffusers unet folder (or a folder holding unet/, or a whole pipeline), or a single file. */
export type CheckpointSource = { kind: 'folder'; dir: DirectorySource } | { kind: 'file'; file: FileLike };

export interface LoadPipelineOptions {
  /** The op implementation the models call (default: the WGSL kernels). */
  ops?: Ops;
  /** Weight storage precision (default: the engine's). */
  precision?: Precision;
  /** diffusers weight variants in order of preference (default ['', 'fp16']). */
  variants?: string[];
  checkpoint?: CheckpointSource;
  onProgress?: (component: string, done: number, total: number) => void;
}

/** Metadata keys our exporter and trainer write into safetensors (CLI.md "Files"). */
export const METADATA_KEYS = {
  fineTuned: 'fine_tuned',
  captionTemplate: 'caption_template',
  baseModel: 'base_model',
  predictionType: 'prediction_type',
} as const;

// The scheduler configs of the SD 1.5 and SD 2.1 hub repos, for single files that carry none.
const SD15_SCHEDULER = {
  _class_name: 'PNDMScheduler', num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear',
  skip_prk_steps: true, set_alpha_to_one: false, steps_offset: 1, clip_sample: false, trained_betas: null,
};
const SD21_SCHEDULER = {
  _class_name: 'DDIMScheduler', num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear',
  clip_sample: false, set_alpha_to_one: false, steps_offset: 1, skip_prk_steps: true, trained_betas: null,
};

export async function loadPipelineFromFolder(dir: DirectorySource, options: LoadPipelineOptions = {}): Promise<StableDiffusionPipeline> {
  const folder = await openDiffusersFolder(dir, { variants: options.variants });
  const tokenizer = await ClipTokenizer.fromFolder(dir);
  const schedulerJson = await folder.config('scheduler');
  const base = await folder.component('unet');
  return assemble({
    name: dir.name,
    tokenizer,
    schedulerJson,
    basePrediction: predictionOf(schedulerJson['prediction_type']) ?? 'epsilon',
    textEncoder: () => folder.component('text_encoder'),
    unet: base,
    vae: () => folder.component('vae'),
    options,
  });
}

/**
 * A single-file checkpoint holds no tokenizer: `tokenizerFor` gives the family's (SD 1.x: CLIP ViT-L;
 * SD 2.x: OpenCLIP's, pad token "!"), e.g. the tokenizer/ folder of the family's hub repo.
 */
export async function loadPipelineFromSingleFile(
  file: FileLike,
  tokenizerFor: (family: Family) => Promise<ClipTokenizer>,
  options: LoadPipelineOptions & { predictionType?: PredictionType } = {},
): Promise<StableDiffusionPipeline> {
  const ckpt = await openSingleFile(file, { predictionType: options.predictionType });
  const tokenizer = await tokenizerFor(ckpt.family);
  const schedulerJson = { ...(ckpt.family === 'sd2' ? SD21_SCHEDULER : SD15_SCHEDULER), prediction_type: ckpt.predictionType };
  return assemble({
    name: file.name,
    tokenizer,
    schedulerJson,
    basePrediction: ckpt.predictionType,
    textEncoder: async () => ckpt.components.text_encoder,
    unet: ckpt.components.unet,
    vae: async () => ckpt.components.vae,
    options,
  });
}

interface Parts {
  name: string;
  tokenizer: ClipTokenizer;
  schedulerJson: Record<string, unknown>;
  basePrediction: PredictionType;
  textEncoder: () => Promise<ComponentSource>;
  unet: ComponentSource;
  vae: () => Promise<ComponentSource>;
  options: LoadPipelineOptions;
}

function metadataOf(p: Parts, unetSource: ComponentSource, checkpoint: string | undefined): ModelMetadata {
  const meta = unetSource.weights.metadata;
  return {
    name: p.name,
    checkpoint,
    fineTuned: meta[METADATA_KEYS.fineTuned] === 'true' || meta['fine-tuned'] === 'true',
    captionTemplate: meta[METADATA_KEYS.captionTemplate] || undefined,
    baseModel: meta[METADATA_KEYS.baseModel] || undefined,
    predictionType: predictionOf(meta[METADATA_KEYS.predictionType]) ?? p.basePrediction,
  };
}

async function assemble(p: Parts): Promise<StableDiffusionPipeline> {
  const { options } = p;
  const checkpoint = options.checkpoint ? await openCheckpoint(options.checkpoint) : undefined;
  const unetSource = checkpoint?.unet ?? p.unet;
  const loadOptions = (component: string, onProgress = (done: number, total: number) => options.onProgress?.(component, done, total)): LoadOptions => ({
    ops: options.ops,
    precision: options.precision,
    onProgress,
  });
  const loaded: Module[] = [];
  const load = async <M extends Module>(component: string, f: (c: ComponentSource, d: string, o: LoadOptions) => Promise<M>, c: ComponentSource) => {
    const model = await f(c, `${checkpoint && component === 'unet' ? checkpoint.name : p.name}/${component}`, loadOptions(component));
    loaded.push(model);
    return model;
  };
  try {
    const textEncoder = await load('text_encoder', loadCLIPTextModel, await p.textEncoder());
    const unet = await load('unet', loadUNet2DConditionModel, unetSource);
    const vae = await load('vae', loadAutoencoderKL, await p.vae());
    const metadata = metadataOf(p, unetSource, checkpoint?.name);
    const schedulerConfig = { ...p.schedulerJson, prediction_type: metadata.predictionType };
    const pipeline: StableDiffusionPipeline = {
      tokenizer: p.tokenizer,
      textEncoder,
      unet,
      vae,
      schedulerConfig,
      defaultScheduler: schedulerKindOf(schedulerConfig),
      metadata,
      async replaceUnet(source, name, onProgress) {
        pipeline.loras?.restore();
        pipeline.loras = undefined;
        pipeline.unet.dispose();
        pipeline.unet = await loadUNet2DConditionModel(source, `${name ?? p.name}/unet`, loadOptions('unet', onProgress));
        pipeline.metadata = metadataOf(p, source, name);
        pipeline.schedulerConfig = { ...p.schedulerJson, prediction_type: pipeline.metadata.predictionType };
      },
      dispose() {
        pipeline.loras?.restore();
        pipeline.loras = undefined;
        for (const m of [textEncoder, pipeline.unet, vae]) m.dispose();
      },
    };
    return pipeline;
  } catch (e) {
    for (const m of loaded) m.dispose();
    throw e;
  }
}

async function openCheckpoint(c: CheckpointSource): Promise<{ name: string; unet: ComponentSource }> {
  if (c.kind === 'file') return { name: c.file.name, unet: (await openSingleFile(c.file)).components.unet };
  const { dir } = c;
  if (await dir.file('config.json')) return { name: dir.name, unet: await openDiffusersComponent(dir, '') };
  if (await dir.file('unet/config.json')) return { name: dir.name, unet: await openDiffusersComponent(dir, 'unet') };
  const lora = (await dir.files()).find((f) => f.name.endsWith('.safetensors') && /lora/i.test(f.name));
  throw new ModelFolderError(
    `${dir.name} holds no fine-tuned UNet (neither config.json nor unet/config.json)` +
      (lora ? `; ${lora.path} looks like a LoRA file: apply it with --lora` : ''),
  );
}

function predictionOf(v: unknown): PredictionType | undefined {
  return v === 'epsilon' || v === 'v_prediction' ? v : undefined;
}
