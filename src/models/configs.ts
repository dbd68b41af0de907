// Typed model configs parsed from config.json with diffusers' / transformers' defaults, lists expanded per
// block, and clear errors for what we cannot build. Field names are the config.json keys.
import { UnsupportedModelError } from '../weights/architecture';

export class ModelConfigError extends Error {
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'ModelConfigError';
  }
}

type Json = Record<string, unknown>;

export const UNET_DOWN_BLOCKS = ['CrossAttnDownBlock2D', 'DownBlock2D'] as const;
export const UNET_UP_BLOCKS = ['CrossAttnUpBlock2D', 'UpBlock2D'] as const;
export type UNetDownBlockType = (typeof UNET_DOWN_BLOCKS)[number];
export type UNetUpBlockType = (typeof UNET_UP_BLOCKS)[number];

export interface UNet2DConditionConfig {
  sample_size: number | null;
  in_channels: number;
  out_channels: number;
  center_input_sample: boolean;
  flip_sin_to_cos: boolean;
  freq_shift: number;
  down_block_types: UNetDownBlockType[];
  mid_block_type: 'UNetMidBlock2DCrossAttn' | null;
  up_block_types: UNetUpBlockType[];
  /** Per down block (up blocks read it reversed, as diffusers does). */
  only_cross_attention: boolean[];
  block_out_channels: number[];
  layers_per_block: number[];
  downsample_padding: number;
  mid_block_scale_factor: number;
  norm_num_groups: number;
  norm_eps: number;
  cross_attention_dim: number[];
  transformer_layers_per_block: number[];
  /** Heads per down block. diffusers' legacy naming: `attention_head_dim` in config.json means this. */
  num_attention_heads: number[];
  use_linear_projection: boolean;
  upcast_attention: boolean;
  /** Width of the time embedding (time_embedding_dim, default 4 × block_out_channels[0]). */
  time_embed_dim: number;
  conv_in_kernel: number;
  conv_out_kernel: number;
}

export interface AutoencoderKLConfig {
  in_channels: number;
  out_channels: number;
  down_block_types: 'DownEncoderBlock2D'[];
  up_block_types: 'UpDecoderBlock2D'[];
  block_out_channels: number[];
  layers_per_block: number;
  latent_channels: number;
  norm_num_groups: number;
  sample_size: number;
  scaling_factor: number;
  shift_factor: number | null;
  use_quant_conv: boolean;
  use_post_quant_conv: boolean;
  mid_block_add_attention: boolean;
}

export type ClipActivation = 'quick-gelu' | 'gelu' | 'gelu-tanh';

export interface CLIPTextConfig {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  max_position_embeddings: number;
  hidden_act: ClipActivation;
  layer_norm_eps: number;
  bos_token_id: number;
  eos_token_id: number;
  pad_token_id: number;
}

/** Reads typed values with defaults; every bad value is an error naming the key and the file. */
class Reader {
  constructor(
    readonly json: Json,
    readonly path: string,
  ) {}

  fail(message: string): never {
    throw new ModelConfigError(this.path, message);
  }

  value(key: string, fallback: unknown): unknown {
    return this.json[key] ?? fallback;
  }

  int(key: string, fallback: number | null, min = 1): number {
    const v = this.value(key, fallback);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) this.fail(`"${key}" must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    return v;
  }

  number(key: string, fallback: number): number {
    const v = this.value(key, fallback);
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`"${key}" must be a number, got ${JSON.stringify(v)}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.value(key, fallback);
    if (typeof v !== 'boolean') this.fail(`"${key}" must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  strings(key: string, fallback: string[]): string[] {
    const v = this.value(key, fallback);
    if (!Array.isArray(v) || v.length === 0 || !v.every((s) => typeof s === 'string')) this.fail(`"${key}" must be a list of names`);
    return v as string[];
  }

  ints(key: string, fallback: number[]): number[] {
    const v = this.value(key, fallback);
    if (!Array.isArray(v) || v.length === 0 || !v.every((n) => typeof n === 'number' && Number.isInteger(n) && n > 0)) {
      this.fail(`"${key}" must be a list of positive integers, got ${JSON.stringify(v)}`);
    }
    return v as number[];
  }

  /** An int or a list of ints, expanded to `count` entries (diffusers' per-block options). */
  perBlock(key: string, fallback: number, count: number): number[] {
    const v = this.value(key, fallback);
    const list = typeof v === 'number' ? Array<number>(count).fill(v) : v;
    if (!Array.isArray(list) || !list.every((n) => typeof n === 'number' && Number.isInteger(n) && n > 0)) {
      this.fail(`"${key}" must be a positive integer or a list of them, got ${JSON.stringify(v)}`);
    }
    if (list.length !== count) this.fail(`"${key}" has ${list.length} entries but there are ${count} down blocks`);
    return list as number[];
  }

  /** Keys that must keep their default: anything else is a model we do not build. */
  requireDefault(key: string, expected: unknown, what: (v: unknown) => string): void {
    const v = this.json[key];
    if (v !== undefined && v !== null && v !== expected) throw new UnsupportedModelError(this.path, what(v));
  }
}

export function parseUNetConfig(json: Json, path = 'unet/config.json'): UNet2DConditionConfig {
  const r = new Reader(json, path);
  if (json._class_name !== undefined && json._class_name !== 'UNet2DConditionModel') {
    throw new UnsupportedModelError(path, `the class ${String(json._class_name)} (expected UNet2DConditionModel)`);
  }
  r.requireDefault('addition_embed_type', null, (v) =>
    v === 'text_time' ? 'a Stable Diffusion XL UNet (addition_embed_type "text_time")' : `a UNet with addition_embed_type "${v}"`,
  );
  r.requireDefault('class_embed_type', null, (v) => `a class-conditioned UNet (class_embed_type "${v}": an upscaler or unCLIP model)`);
  r.requireDefault('num_class_embeds', null, () => 'a class-conditioned UNet (num_class_embeds)');
  r.requireDefault('encoder_hid_dim_type', null, (v) => `a UNet with an encoder_hid_dim_type "${v}" projection`);
  r.requireDefault('time_cond_proj_dim', null, () => 'a UNet with a time_cond_proj_dim (an LCM-distilled guidance embedding)');
  r.requireDefault('time_embedding_type', 'positional', (v) => `a UNet with time_embedding_type "${v}"`);
  r.requireDefault('time_embedding_act_fn', null, (v) => `a UNet with time_embedding_act_fn "${v}"`);
  r.requireDefault('timestep_post_act', null, (v) => `a UNet with timestep_post_act "${v}"`);
  r.requireDefault('resnet_time_scale_shift', 'default', (v) => `a UNet with resnet_time_scale_shift "${v}"`);
  r.requireDefault('dual_cross_attention', false, () => 'a UNet with dual_cross_attention');
  r.requireDefault('attention_type', 'default', (v) => `a UNet with attention_type "${v}" (GLIGEN)`);
  r.requireDefault('cross_attention_norm', null, (v) => `a UNet with cross_attention_norm "${v}"`);
  r.requireDefault('reverse_transformer_layers_per_block', null, () => 'a UNet with reverse_transformer_layers_per_block');
  if (json.num_attention_heads != null) {
    // diffusers refuses it too: attention_head_dim carries the head count (huggingface/diffusers#2011).
    r.fail('"num_attention_heads" cannot be set for UNet2DConditionModel; diffusers reads the head count from "attention_head_dim"');
  }
  const act = r.value('act_fn', 'silu');
  if (act !== 'silu' && act !== 'swish') throw new UnsupportedModelError(path, `a UNet with act_fn "${String(act)}" (only silu)`);

  const in_channels = r.int('in_channels', 4);
  if (in_channels === 9) throw new UnsupportedModelError(path, 'an inpainting UNet (in_channels 9: latents + mask + masked image)');
  const down_block_types = r.strings('down_block_types', ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D']);
  const up_block_types = r.strings('up_block_types', ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D']);
  for (const t of down_block_types) {
    if (!(UNET_DOWN_BLOCKS as readonly string[]).includes(t)) {
      throw new UnsupportedModelError(path, `the down block type "${t}" (supported: ${UNET_DOWN_BLOCKS.join(', ')})`);
    }
  }
  for (const t of up_block_types) {
    if (!(UNET_UP_BLOCKS as readonly string[]).includes(t)) {
      throw new UnsupportedModelError(path, `the up block type "${t}" (supported: ${UNET_UP_BLOCKS.join(', ')})`);
    }
  }
  const midType = r.value('mid_block_type', 'UNetMidBlock2DCrossAttn');
  if (midType !== 'UNetMidBlock2DCrossAttn' && midType !== null) {
    throw new UnsupportedModelError(path, `the mid block type "${String(midType)}" (supported: UNetMidBlock2DCrossAttn)`);
  }
  const n = down_block_types.length;
  if (up_block_types.length !== n) r.fail(`${n} down_block_types but ${up_block_types.length} up_block_types`);
  const block_out_channels = r.ints('block_out_channels', [320, 640, 1280, 1280]);
  if (block_out_channels.length !== n) r.fail(`${n} down_block_types but ${block_out_channels.length} block_out_channels`);
  const norm_num_groups = r.int('norm_num_groups', 32);
  for (const c of block_out_channels) {
    if (c % norm_num_groups !== 0) r.fail(`block_out_channels entry ${c} is not divisible by norm_num_groups ${norm_num_groups}`);
  }
  const num_attention_heads = r.perBlock('attention_head_dim', 8, n);
  block_out_channels.forEach((c, i) => {
    if (c % num_attention_heads[i] !== 0) r.fail(`block ${i}: ${c} channels cannot be split into ${num_attention_heads[i]} heads`);
  });
  const onlyCross = r.value('only_cross_attention', false);
  const only_cross_attention = typeof onlyCross === 'boolean' ? Array<boolean>(n).fill(onlyCross) : onlyCross;
  if (!Array.isArray(only_cross_attention) || only_cross_attention.length !== n || !only_cross_attention.every((b) => typeof b === 'boolean')) {
    r.fail(`"only_cross_attention" must be true/false or a list of ${n} of them`);
  }
  const odd = (key: string) => {
    const k = r.int(key, 3);
    if (k % 2 === 0) r.fail(`"${key}" must be odd, got ${k}`);
    return k;
  };
  const sampleSize = json.sample_size;
  return {
    sample_size: typeof sampleSize === 'number' ? sampleSize : null,
    in_channels,
    out_channels: r.int('out_channels', 4),
    center_input_sample: r.bool('center_input_sample', false),
    flip_sin_to_cos: r.bool('flip_sin_to_cos', true),
    freq_shift: r.number('freq_shift', 0),
    down_block_types: down_block_types as UNetDownBlockType[],
    mid_block_type: midType,
    up_block_types: up_block_types as UNetUpBlockType[],
    only_cross_attention: only_cross_attention as boolean[],
    block_out_channels,
    layers_per_block: r.perBlock('layers_per_block', 2, n),
    downsample_padding: r.int('downsample_padding', 1, 0),
    mid_block_scale_factor: r.number('mid_block_scale_factor', 1),
    norm_num_groups,
    norm_eps: r.number('norm_eps', 1e-5),
    cross_attention_dim: r.perBlock('cross_attention_dim', 1280, n),
    transformer_layers_per_block: r.perBlock('transformer_layers_per_block', 1, n),
    num_attention_heads,
    use_linear_projection: r.bool('use_linear_projection', false),
    upcast_attention: r.bool('upcast_attention', false),
    time_embed_dim: r.int('time_embedding_dim', block_out_channels[0] * 4),
    conv_in_kernel: odd('conv_in_kernel'),
    conv_out_kernel: odd('conv_out_kernel'),
  };
}

export function parseAutoencoderKLConfig(json: Json, path = 'vae/config.json'): AutoencoderKLConfig {
  const r = new Reader(json, path);
  if (json._class_name !== undefined && json._class_name !== 'AutoencoderKL') {
    throw new UnsupportedModelError(path, `the class ${String(json._class_name)} (expected AutoencoderKL)`);
  }
  const act = r.value('act_fn', 'silu');
  if (act !== 'silu' && act !== 'swish') throw new UnsupportedModelError(path, `a VAE with act_fn "${String(act)}" (only silu)`);
  const down = r.strings('down_block_types', ['DownEncoderBlock2D']);
  const up = r.strings('up_block_types', ['UpDecoderBlock2D']);
  for (const t of down) if (t !== 'DownEncoderBlock2D') throw new UnsupportedModelError(path, `the VAE down block type "${t}"`);
  for (const t of up) if (t !== 'UpDecoderBlock2D') throw new UnsupportedModelError(path, `the VAE up block type "${t}"`);
  const block_out_channels = r.ints('block_out_channels', [64]);
  if (down.length !== block_out_channels.length || up.length !== block_out_channels.length) {
    r.fail(`${block_out_channels.length} block_out_channels but ${down.length} down and ${up.length} up block types`);
  }
  const norm_num_groups = r.int('norm_num_groups', 32);
  for (const c of block_out_channels) {
    if (c % norm_num_groups !== 0) r.fail(`block_out_channels entry ${c} is not divisible by norm_num_groups ${norm_num_groups}`);
  }
  const shift = json.shift_factor;
  return {
    in_channels: r.int('in_channels', 3),
    out_channels: r.int('out_channels', 3),
    down_block_types: down as 'DownEncoderBlock2D'[],
    up_block_types: up as 'UpDecoderBlock2D'[],
    block_out_channels,
    layers_per_block: r.int('layers_per_block', 1),
    latent_channels: r.int('latent_channels', 4),
    norm_num_groups,
    sample_size: r.int('sample_size', 32),
    scaling_factor: r.number('scaling_factor', 0.18215),
    shift_factor: typeof shift === 'number' ? shift : null,
    use_quant_conv: r.bool('use_quant_conv', true),
    use_post_quant_conv: r.bool('use_post_quant_conv', true),
    mid_block_add_attention: r.bool('mid_block_add_attention', true),
  };
}

const CLIP_ACTIVATIONS: Record<string, ClipActivation> = {
  quick_gelu: 'quick-gelu',
  gelu: 'gelu',
  gelu_new: 'gelu-tanh',
  gelu_pytorch_tanh: 'gelu-tanh',
};

export function parseCLIPTextConfig(json: Json, path = 'text_encoder/config.json'): CLIPTextConfig {
  const r = new Reader(json, path);
  const arch = (json.architectures as unknown[] | undefined)?.[0];
  if (arch !== undefined && arch !== 'CLIPTextModel') {
    throw new UnsupportedModelError(
      path,
      arch === 'CLIPTextModelWithProjection' ? 'a projected CLIP text encoder (SDXL\'s second text encoder)' : `the text encoder class ${String(arch)}`,
    );
  }
  const act = String(r.value('hidden_act', 'quick_gelu'));
  const hidden_act = CLIP_ACTIVATIONS[act];
  if (!hidden_act) throw new UnsupportedModelError(path, `a text encoder with hidden_act "${act}"`);
  const hidden_size = r.int('hidden_size', 512);
  const num_attention_heads = r.int('num_attention_heads', 8);
  if (hidden_size % num_attention_heads !== 0) r.fail(`hidden_size ${hidden_size} cannot be split into ${num_attention_heads} heads`);
  return {
    vocab_size: r.int('vocab_size', 49408),
    hidden_size,
    intermediate_size: r.int('intermediate_size', 2048),
    num_hidden_layers: r.int('num_hidden_layers', 12),
    num_attention_heads,
    max_position_embeddings: r.int('max_position_embeddings', 77),
    hidden_act,
    layer_norm_eps: r.number('layer_norm_eps', 1e-5),
    bos_token_id: r.int('bos_token_id', 49406, 0),
    eos_token_id: r.int('eos_token_id', 49407, 0),
    pad_token_id: r.int('pad_token_id', 1, 0),
  };
}
