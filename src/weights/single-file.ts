// CompVis/LDM single-file checkpoints (v1-5-pruned-emaonly.safetensors, v2-1_512-ema-pruned.safetensors and
// fine-tunes saved that way): one safetensors file holding UNet, VAE and text encoder under LDM names, presented
// as three diffusers-named WeightSources with their configs.
import type { FileLike } from '../io/file-source';
import { UnsupportedModelError } from './architecture';
import { inferTextEncoderConfig, inferUnetConfig, inferVaeConfig, type Family } from './infer-config';
import { LDM_PREFIX, ldmToDiffusers, type Component, type LdmLayout } from './ldm-keys';
import { openSafetensors, type SafetensorsFile } from './safetensors';
import {
  SD15_TEXT_ENCODER_CONFIG,
  SD15_UNET_CONFIG,
  SD15_VAE_CONFIG,
  SD21_TEXT_ENCODER_CONFIG,
  SD21_UNET_CONFIG,
  SD21_VAE_CONFIG,
} from './standard-configs';
import { weightSourceFromRefs, type TensorRef, type WeightSource } from './weight-source';

export type PredictionType = 'epsilon' | 'v_prediction';

export interface SingleFileOptions {
  /** Overrides everything else: SD 2.1 base (epsilon) and 768 (v-prediction) have identical shapes. */
  predictionType?: PredictionType;
  /** Use the model_ema.* UNet copy when the file has one (diffusers' extract_ema; off by default, as there). */
  ema?: boolean;
}

export interface SingleFileComponent {
  config: Record<string, unknown>;
  /** metadata: written by our exporter; standard: the SD 1.5 / 2.1 hub config; inferred: read off the shapes. */
  configSource: 'metadata' | 'standard' | 'inferred';
  weights: WeightSource;
}

export interface SingleFileCheckpoint {
  path: string;
  family: Family;
  predictionType: PredictionType;
  predictionTypeSource: 'argument' | 'metadata' | 'file name' | 'default';
  hasEma: boolean;
  usedEma: boolean;
  components: Record<Component, SingleFileComponent>;
  /** Keys that feed no weight: schedule buffers, EMA copies, position_ids, OpenCLIP's unused parts. */
  ignored: string[];
  metadata: Readonly<Record<string, string>>;
}

/** Metadata keys under which our exporter stores each component's config.json. */
export const CONFIG_METADATA_KEY: Record<Component, string> = {
  unet: 'diffusers.unet.config',
  vae: 'diffusers.vae.config',
  text_encoder: 'diffusers.text_encoder.config',
};

// diffusers treats a file as holding EMA weights when it has more than 100 model_ema keys.
const EMA_KEY_THRESHOLD = 100;

export async function openSingleFile(file: FileLike, options: SingleFileOptions = {}): Promise<SingleFileCheckpoint> {
  const st = await openSafetensors(file);
  const keys = [...st.tensors.keys()];
  checkSupported(st, keys);
  const family: Family = keys.some((k) => k.startsWith(LDM_PREFIX.openclip)) ? 'sd2' : 'sd1';
  const layout = layoutOf(keys, family);
  const hasEma = keys.filter((k) => k.startsWith('model_ema.')).length > EMA_KEY_THRESHOLD;
  const usedEma = hasEma && options.ema === true;

  const refs: Record<Component, Map<string, TensorRef>> = { unet: new Map(), vae: new Map(), text_encoder: new Map() };
  const ignored: string[] = [];
  for (const key of keys) {
    const targets = ldmToDiffusers(key, layout);
    if (targets.length === 0) ignored.push(key);
    for (const { component, name, place } of targets) {
      if (refs[component].has(name)) throw new Error(`${file.path}: two keys map to ${component} weight "${name}" (one is "${key}")`);
      const source = component === 'unet' && usedEma ? emaKey(st, key) : key;
      refs[component].set(name, tensorRef(st, source, place.part, place.conv1x1));
    }
  }

  const prediction = predictionTypeOf(file.name, family, st.metadata, options);
  const sampleSize = family === 'sd2' && prediction.predictionType === 'v_prediction' ? 96 : 64;
  const component = (c: Component): SingleFileComponent => {
    if (refs[c].size === 0) throw new Error(`${file.path}: no ${c} weights (expected keys under ${c === 'text_encoder' ? 'cond_stage_model.' : LDM_PREFIX[c]})`);
    const weights = weightSourceFromRefs(refs[c], st.metadata, `${file.path} [${c}]`);
    const stored = st.metadata[CONFIG_METADATA_KEY[c]];
    if (stored) return { config: JSON.parse(stored) as Record<string, unknown>, configSource: 'metadata', weights };
    // The SD 2.1 768 v-model's hub config asks for f32 attention (fp16 overflows there without it): exports
    // of it to diffusers must keep that. Our kernels take the softmax in f32 either way.
    const upcast = (config: Record<string, unknown>) => (c === 'unet' ? { ...config, upcast_attention: family === 'sd2' && sampleSize === 96 } : config);
    const standard = standardConfig(c, family, weights, sampleSize);
    if (standard) return { config: upcast(standard), configSource: 'standard', weights };
    const inferred =
      c === 'unet' ? inferUnetConfig(weights, family, sampleSize) : c === 'vae' ? inferVaeConfig(weights, family) : inferTextEncoderConfig(weights, family);
    return { config: upcast(inferred), configSource: 'inferred', weights };
  };
  return {
    path: file.path,
    family,
    ...prediction,
    hasEma,
    usedEma,
    components: { unet: component('unet'), vae: component('vae'), text_encoder: component('text_encoder') },
    ignored,
    metadata: st.metadata,
  };
}

function checkSupported(st: SafetensorsFile, keys: string[]): void {
  if (keys.some((k) => k.startsWith('conditioner.embedders.'))) throw new UnsupportedModelError(st.path, 'a Stable Diffusion XL checkpoint');
  if (keys.some((k) => k.startsWith(`${LDM_PREFIX.unet}joint_blocks.`))) throw new UnsupportedModelError(st.path, 'a Stable Diffusion 3 checkpoint');
  const convIn = st.tensors.get(`${LDM_PREFIX.unet}input_blocks.0.0.weight`);
  if (!convIn) {
    const looksDiffusers = keys.some((k) => k.startsWith('down_blocks.') || k.startsWith('text_model.') || k.startsWith('encoder.down_blocks.'));
    const looksLora = keys.some((k) => k.startsWith('lora_') || k.includes('.lora_'));
    const what = looksLora ? 'a LoRA file' : looksDiffusers ? 'a single diffusers component, not a whole-model checkpoint' : 'not a Stable Diffusion checkpoint';
    throw new Error(`${st.path}: no ${LDM_PREFIX.unet}* UNet weights: ${what}`);
  }
  if (convIn.shape[1] === 9) throw new UnsupportedModelError(st.path, 'an inpainting checkpoint (UNet in_channels 9)');
  if (convIn.shape[1] !== 4) throw new UnsupportedModelError(st.path, `a checkpoint whose UNet takes ${convIn.shape[1]} input channels`);
  if (!keys.some((k) => k.startsWith(LDM_PREFIX.text_encoder) || k.startsWith(LDM_PREFIX.openclip))) {
    throw new Error(`${st.path}: no text encoder (neither ${LDM_PREFIX.text_encoder}* nor ${LDM_PREFIX.openclip}* keys)`);
  }
}

function layoutOf(keys: string[], family: Family): LdmLayout {
  const indices = (pattern: RegExp) => keys.map((k) => pattern.exec(k)).filter((m) => m !== null).map((m) => Number(m[1]));
  const downsamplers = indices(/^model\.diffusion_model\.input_blocks\.(\d+)\.0\.op\.weight$/);
  const inputBlocks = Math.max(0, ...indices(/^model\.diffusion_model\.input_blocks\.(\d+)\./));
  // Down block b ends with its downsampler at input_blocks[(b+1)(L+1)]; a one-block UNet has none.
  const layersPerBlock = downsamplers.length ? Math.min(...downsamplers) - 1 : inputBlocks;
  const outputBlocks = Math.max(0, ...indices(/^model\.diffusion_model\.output_blocks\.(\d+)\./)) + 1;
  const upBlocks = Math.ceil(outputBlocks / (layersPerBlock + 1));
  const unetUpBlockHasAttention = Array.from({ length: upBlocks }, (_, b) => {
    const prefix = `${LDM_PREFIX.unet}output_blocks.${b * (layersPerBlock + 1)}.1.`;
    return keys.some((k) => k.startsWith(prefix) && !k.startsWith(`${prefix}conv.`));
  });
  return {
    layersPerBlock,
    vaeUpBlocks: Math.max(-1, ...indices(/^first_stage_model\.decoder\.up\.(\d+)\./)) + 1,
    textEncoder: family === 'sd2' ? 'openclip' : 'clip',
    unetUpBlockHasAttention,
  };
}

/** model.diffusion_model.a.b.c -> model_ema.diffusion_modelabc (the EMA module flattens names). */
function emaKey(st: SafetensorsFile, key: string): string {
  const ema = `model_ema.${key.slice('model.'.length).replaceAll('.', '')}`;
  if (!st.tensors.has(ema)) throw new Error(`${st.path}: EMA weights requested but "${ema}" (EMA of "${key}") is missing`);
  return ema;
}

function tensorRef(st: SafetensorsFile, key: string, part: 0 | 1 | 2 | undefined, conv1x1: boolean | undefined): TensorRef {
  const shape = st.tensor(key).shape;
  if (part !== undefined) {
    if (shape[0] % 3 !== 0) throw new Error(`${st.path}: fused q/k/v tensor "${key}" has ${shape[0]} rows, not a multiple of 3`);
    const rows = shape[0] / 3;
    const rowSize = shape.slice(1).reduce((a, b) => a * b, 1);
    return { file: st, tensor: key, range: { start: part * rows * rowSize, count: rows * rowSize }, shape: [rows, ...shape.slice(1)] };
  }
  if (conv1x1) {
    if (shape.length === 2) return { file: st, tensor: key };
    if (shape.length !== 4 || shape[2] !== 1 || shape[3] !== 1) throw new Error(`${st.path}: "${key}" should be a 1×1 conv, has shape [${shape.join(', ')}]`);
    return { file: st, tensor: key, shape: shape.slice(0, 2) };
  }
  return { file: st, tensor: key };
}

function predictionTypeOf(
  fileName: string,
  family: Family,
  metadata: Readonly<Record<string, string>>,
  options: SingleFileOptions,
): Pick<SingleFileCheckpoint, 'predictionType' | 'predictionTypeSource'> {
  if (options.predictionType) return { predictionType: options.predictionType, predictionTypeSource: 'argument' };
  const stored = metadata.prediction_type;
  if (stored === 'epsilon' || stored === 'v_prediction') return { predictionType: stored, predictionTypeSource: 'metadata' };
  const base = fileName.replace(/\.[^.]*$/, '');
  // v2-1_768-ema-pruned, sd21-v, model-vpred: the SD 2.x 768 models predict v.
  if (family === 'sd2' && /768|(^|[^a-z0-9])v([^a-z0-9]|$)|v[-_]?pred/i.test(base)) {
    return { predictionType: 'v_prediction', predictionTypeSource: 'file name' };
  }
  return { predictionType: 'epsilon', predictionTypeSource: 'default' };
}

function standardConfig(c: Component, family: Family, weights: WeightSource, sampleSize: number): Record<string, unknown> | undefined {
  const shape = (name: string) => (weights.has(name) ? weights.shape(name).join(',') : '');
  const sd1 = family === 'sd1';
  if (c === 'unet') {
    const context = sd1 ? 768 : 1024;
    const standard = shape('conv_in.weight') === '320,4,3,3' && shape('down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight') === `320,${context}`;
    return standard ? { ...(sd1 ? SD15_UNET_CONFIG : SD21_UNET_CONFIG), sample_size: sampleSize } : undefined;
  }
  if (c === 'vae') {
    return shape('encoder.conv_in.weight') === '128,3,3,3' && shape('decoder.up_blocks.0.resnets.0.conv1.weight') === '512,512,3,3'
      ? { ...(sd1 ? SD15_VAE_CONFIG : SD21_VAE_CONFIG) }
      : undefined;
  }
  const config = sd1 ? SD15_TEXT_ENCODER_CONFIG : SD21_TEXT_ENCODER_CONFIG;
  const layers = weights.names().filter((n) => n.endsWith('.layer_norm1.weight')).length;
  return shape('text_model.embeddings.token_embedding.weight') === `49408,${config.hidden_size}` && layers === config.num_hidden_layers
    ? { ...config }
    : undefined;
}
