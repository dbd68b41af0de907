// Loads a whole Stable Diffusion pipeline onto the GPU from any source the page offers: a diffusers folder
// (picked, dropped, <input webkitdirectory>, OPFS), a single-file CompVis checkpoint, a Hugging Face repo,
// or the built-in tiny demo model. The worker keeps one loaded pipeline; loading another frees the first.
import { handleDirectory, inputFilesDirectory } from '../data/directory-handles';
import { engine } from '../engine/engine';
import { blobFile, type DirectorySource } from '../io/file-source';
import { tinyPipelineDirectory } from '../models/tiny-model-builder';
import type { Module } from '../nn/module';
import { loadPipelineFromFolder, loadPipelineFromSingleFile, type LoadPipelineOptions, type StableDiffusionPipeline } from '../pipelines/load-pipeline';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer';
import { openDiffusersFolder } from '../weights/diffusers-folder';
import { openSingleFile } from '../weights/single-file';
import type { Family } from '../weights/infer-config';
import type { ComponentSource } from '../models/load';
import type { GeneratorWeights } from './generator-weights';
import type { HandlerContext } from './handler-context';
import { hubDirectory } from './hub-source';
import type { ModelInfo, ModelSource } from './messages';

export interface LoadedModel {
  info: ModelInfo;
  pipeline: StableDiffusionPipeline;
  /** The UNet's config.json as the source gave it: exported fine-tunes carry it unchanged. */
  unetConfig: Record<string, unknown>;
  /** The source's own UNet again, to put back after a fine-tuned one (see generator-weights.ts). */
  baseUnet: () => Promise<ComponentSource>;
  /** What the pipeline's UNet holds now. */
  weights: GeneratorWeights;
}

/** Where a single-file checkpoint's tokenizer comes from: its family's hub repo (cached for offline use). */
const FAMILY_REPOS: Record<Family, string> = {
  sd1: 'stable-diffusion-v1-5/stable-diffusion-v1-5',
  sd2: 'stabilityai/stable-diffusion-2-1-base',
};

const DEMO_NAME = 'Tiny demo model (random weights)';

function parameterCount(model: Module): number {
  let n = 0;
  for (const [, p] of model.namedParameters()) n += p.torchShape.reduce((a, b) => a * b, 1);
  return n;
}

type Opened = Pick<LoadedModel, 'pipeline' | 'unetConfig' | 'baseUnet'>;

async function openPipeline(source: ModelSource, options: LoadPipelineOptions, ctx: HandlerContext): Promise<Opened> {
  // On the f16 path the fp16 files are half the reading and what the GPU stores anyway.
  const variants = engine().precision === 'f16' ? ['fp16', ''] : ['', 'fp16'];
  const fromFolder = async (dir: DirectorySource, v = variants): Promise<Opened> => {
    const pipeline = await loadPipelineFromFolder(dir, { ...options, variants: v });
    const folder = await openDiffusersFolder(dir, { variants: v });
    return { pipeline, unetConfig: await folder.config('unet'), baseUnet: () => folder.component('unet') };
  };
  switch (source.kind) {
    case 'tiny-demo':
      return fromFolder(tinyPipelineDirectory('sd15', { seed: 0 }), ['']);
    case 'folder-handle':
      return fromFolder(handleDirectory(source.handle));
    case 'folder-files':
      return fromFolder(inputFilesDirectory(source.files));
    case 'hub':
      return fromFolder(await hubDirectory(source.repo, source.token, ctx), ['fp16', '']);
    case 'single-file': {
      const tokenizerFor = async (family: Family) => ClipTokenizer.fromFolder(await hubDirectory(FAMILY_REPOS[family], undefined, ctx));
      const file = blobFile(source.file, source.file.name);
      const pipeline = await loadPipelineFromSingleFile(file, tokenizerFor, { ...options, predictionType: source.predictionType });
      const baseUnet = async () => (await openSingleFile(file, { predictionType: source.predictionType })).components.unet;
      return { pipeline, unetConfig: (await baseUnet()).config, baseUnet };
    }
  }
}

function describe(source: ModelSource, pipeline: StableDiffusionPipeline, weightBytes: number): ModelInfo {
  const { metadata } = pipeline;
  const notices: string[] = [];
  if (source.kind === 'tiny-demo') notices.push('The demo model has random weights: it exercises the GPU path end to end and draws nothing meaningful.');
  if (source.kind === 'single-file') notices.push(`Prediction type ${metadata.predictionType}: SD 2.1 base and 768 have identical shapes, so check it.`);
  if (metadata.fineTuned) notices.push(`A fine-tuned checkpoint: prompts use its caption template "${metadata.captionTemplate ?? 'sketch of {name}'}" by default.`);
  return {
    name: source.kind === 'tiny-demo' ? DEMO_NAME : metadata.name,
    source: source.kind,
    // SD 1 uses OpenAI CLIP (quick GELU); SD 2 uses OpenCLIP ViT-H (GELU).
    family: pipeline.textEncoder.config.hidden_act === 'quick-gelu' ? 'SD 1.x' : 'SD 2.x',
    predictionType: metadata.predictionType,
    scheduler: String(pipeline.schedulerConfig._class_name ?? pipeline.defaultScheduler),
    precision: engine().precision,
    components: [
      { name: 'text_encoder', parameters: parameterCount(pipeline.textEncoder) },
      { name: 'unet', parameters: parameterCount(pipeline.unet) },
      { name: 'vae', parameters: parameterCount(pipeline.vae) },
    ],
    weightBytes,
    fineTuned: metadata.fineTuned,
    captionTemplate: metadata.captionTemplate,
    sampleSize: (pipeline.unet.config.sample_size ?? 64) * pipeline.vae.downFactor,
    notices,
  };
}

let loaded: LoadedModel | undefined;

/** The pipeline the generator and trainer use. */
export function loadedModel(): LoadedModel {
  if (!loaded) throw new Error('no model is loaded: load one in the Model view first');
  return loaded;
}

/** Drops a model that can no longer generate (its UNet failed to reload). */
export function forgetModel(): void {
  loaded?.pipeline.dispose();
  loaded = undefined;
}

export async function loadModel(source: ModelSource, ctx: HandlerContext): Promise<ModelInfo> {
  const e = engine();
  // Free the previous model first: two SD models rarely fit a GPU budget side by side.
  loaded?.pipeline.dispose();
  loaded = undefined;
  const before = e.memory().liveBytes;
  const onProgress = (component: string, done: number, total: number) => ctx.progress(done, total, `${component}: ${done} of ${total} tensors`);
  const { pipeline, unetConfig, baseUnet } = await openPipeline(source, { onProgress }, ctx);
  try {
    ctx.checkCancelled();
    await e.sync();
  } catch (error) {
    pipeline.dispose();
    throw error;
  }
  loaded = { info: describe(source, pipeline, e.memory().liveBytes - before), pipeline, unetConfig, baseUnet, weights: { kind: 'base' } };
  return loaded.info;
}
