// Loads a whole Stable Diffusion model onto the GPU from any source the page offers: a diffusers folder
// (picked, dropped, <input webkitdirectory>, OPFS), a single-file CompVis checkpoint, or a Hugging Face repo.
// The worker keeps one loaded model; loading another frees the first.
import { inputFilesDirectory, handleDirectory } from '../data/directory-handles';
import { engine } from '../engine/engine';
import { blobFile, type DirectorySource } from '../io/file-source';
import type { AutoencoderKL } from '../models/autoencoder-kl';
import type { CLIPTextModel } from '../models/clip-text-model';
import { loadAutoencoderKL, loadCLIPTextModel, loadUNet2DConditionModel, type ComponentSource } from '../models/load';
import type { UNet2DConditionModel } from '../models/unet-2d-condition';
import type { Module } from '../nn/module';
import { tinyPipelineDirectory } from '../models/tiny-model-builder';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer';
import { openDiffusersFolder } from '../weights/diffusers-folder';
import { openSingleFile } from '../weights/single-file';
import type { HandlerContext } from './handler-context';
import { hubDirectory } from './hub-source';
import type { ModelComponentInfo, ModelInfo, ModelSource } from './messages';

interface LoadedModel {
  info: ModelInfo;
  textEncoder: CLIPTextModel;
  unet: UNet2DConditionModel;
  vae: AutoencoderKL;
  tokenizer?: ClipTokenizer;
  schedulerConfig?: Record<string, unknown>;
}

const COMPONENTS = ['text_encoder', 'unet', 'vae'] as const;
type ComponentName = (typeof COMPONENTS)[number];

function parameterCount(model: Module): number {
  let n = 0;
  for (const [, p] of model.namedParameters()) n += p.torchShape.reduce((a, b) => a * b, 1);
  return n;
}

function familyOf(textEncoderConfig: Record<string, unknown>): string {
  // SD 1 uses OpenAI CLIP (quick_gelu); SD 2 uses OpenCLIP ViT-H (gelu).
  return textEncoderConfig.hidden_act === 'quick_gelu' ? 'SD 1.x' : 'SD 2.x';
}

interface Sources {
  name: string;
  components: Record<ComponentName, ComponentSource & { detail: string }>;
  predictionType: string;
  scheduler: string;
  schedulerConfig?: Record<string, unknown>;
  tokenizer?: ClipTokenizer;
  notices: string[];
}

async function folderSources(dir: DirectorySource, variants: string[]): Promise<Sources> {
  const folder = await openDiffusersFolder(dir, { variants });
  const components = {} as Sources['components'];
  for (const name of COMPONENTS) {
    const c = await folder.component(name);
    components[name] = { ...c, detail: `${c.files.join(', ')}${c.variant ? ` (${c.variant})` : ''}` };
  }
  const schedulerConfig = folder.components.includes('scheduler') ? await folder.config('scheduler') : undefined;
  const tokenizer = folder.components.includes('tokenizer') ? await ClipTokenizer.fromFolder(dir) : undefined;
  return {
    name: dir.name,
    components,
    predictionType: String(schedulerConfig?.prediction_type ?? 'epsilon'),
    scheduler: String(schedulerConfig?._class_name ?? 'none'),
    schedulerConfig,
    tokenizer,
    notices: tokenizer ? [] : ['The folder has no tokenizer/: prompts cannot be encoded with this model.'],
  };
}

async function singleFileSources(source: Extract<ModelSource, { kind: 'single-file' }>): Promise<Sources> {
  const ckpt = await openSingleFile(blobFile(source.file, source.file.name), { predictionType: source.predictionType });
  const components = {} as Sources['components'];
  for (const name of COMPONENTS) {
    const c = ckpt.components[name];
    components[name] = { ...c, detail: `config: ${c.configSource}` };
  }
  return {
    name: source.file.name,
    components,
    predictionType: ckpt.predictionType,
    scheduler: 'the family default',
    notices: [
      `Prediction type ${ckpt.predictionType} (from ${ckpt.predictionTypeSource}); SD 2.1 base and 768 have identical shapes, so check it.`,
      ...(ckpt.hasEma ? [`The file has EMA weights; ${ckpt.usedEma ? 'using them' : 'using the non-EMA UNet'}.`] : []),
      'A single-file checkpoint has no tokenizer: prompts need the family tokenizer from a diffusers folder or the hub.',
    ],
  };
}

async function sourcesOf(source: ModelSource, ctx: HandlerContext): Promise<Sources> {
  switch (source.kind) {
    case 'tiny-demo': {
      const demo = await folderSources(tinyPipelineDirectory('sd15', { seed: 0 }), ['']);
      return {
        ...demo,
        name: 'Tiny demo model (random weights)',
        notices: ['The demo model has random weights: it exercises the GPU path end to end and draws nothing meaningful.'],
      };
    }
    case 'folder-handle':
      return folderSources(handleDirectory(source.handle), ['', 'fp16']);
    case 'folder-files':
      return folderSources(inputFilesDirectory(source.files), ['', 'fp16']);
    case 'single-file':
      return singleFileSources(source);
    case 'hub':
      // fp16 first: half the download, and what the GPU stores anyway on the f16 path.
      return folderSources(await hubDirectory(source.repo, source.token, ctx), ['fp16', '']);
  }
}

/** The model the generator and trainer will use (they read it from here when they land). */
let loaded: LoadedModel | undefined;

function disposeLoaded(): void {
  if (!loaded) return;
  loaded.textEncoder.dispose();
  loaded.unet.dispose();
  loaded.vae.dispose();
  loaded = undefined;
}

export async function loadModel(source: ModelSource, ctx: HandlerContext): Promise<ModelInfo> {
  const e = engine();
  const s = await sourcesOf(source, ctx);
  ctx.checkCancelled();
  // Free the previous model first: two SD models rarely fit a GPU budget side by side.
  disposeLoaded();
  const before = e.memory().liveBytes;
  const models: Partial<Record<ComponentName, Module>> = {};
  try {
    for (const name of COMPONENTS) {
      const onProgress = (done: number, total: number) => ctx.progress(done, total, `${name}: ${done} of ${total} tensors`);
      const c = s.components[name];
      if (name === 'text_encoder') models[name] = await loadCLIPTextModel(c, name, { onProgress });
      else if (name === 'unet') models[name] = await loadUNet2DConditionModel(c, name, { onProgress });
      else models[name] = await loadAutoencoderKL(c, name, { onProgress });
      ctx.checkCancelled();
    }
    await e.sync();
  } catch (error) {
    for (const m of Object.values(models)) m.dispose();
    throw error;
  }
  const components: ModelComponentInfo[] = COMPONENTS.map((name) => ({
    name,
    parameters: parameterCount(models[name]!),
    detail: s.components[name].detail,
  }));
  const info: ModelInfo = {
    name: s.name,
    source: source.kind,
    family: familyOf(s.components.text_encoder.config),
    predictionType: s.predictionType,
    scheduler: s.scheduler,
    precision: e.precision,
    components,
    weightBytes: e.memory().liveBytes - before,
    hasTokenizer: s.tokenizer !== undefined,
    notices: s.notices,
  };
  loaded = {
    info,
    textEncoder: models.text_encoder as CLIPTextModel,
    unet: models.unet as UNet2DConditionModel,
    vae: models.vae as AutoencoderKL,
    tokenizer: s.tokenizer,
    schedulerConfig: s.schedulerConfig,
  };
  return info;
}
