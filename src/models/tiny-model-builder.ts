// Tiny Stable Diffusion pipelines with seeded random weights, in the real diffusers folder format
// (model_index.json, per-component config.json + safetensors, a small valid CLIP BPE tokenizer, the real
// scheduler config): the app's built-in demo model and the fixture the tests load through the real readers.
// Parameter names and shapes come from our own modules, which match diffusers' state dicts key for key.
import { blobDirectory, type DirectorySource } from '../io/file-source';
import type { Module } from '../nn/module';
import { referenceOps } from '../ops/reference';
import { Philox } from '../random/philox';
import { BYTE_TO_UNICODE } from '../tokenizer/byte-unicode';
import { toF16Bits } from '../engine/f16';
import { writeSafetensors, type TensorToWrite } from '../weights/safetensors-writer';
import { AutoencoderKL } from './autoencoder-kl';
import { CLIPTextModel } from './clip-text-model';
import { parseAutoencoderKLConfig, parseCLIPTextConfig, parseUNetConfig } from './configs';
import { UNet2DConditionModel } from './unet-2d-condition';

export type TinyFamily = 'sd15' | 'sd2';

export interface TinyModelOptions {
  seed?: number;
  /** Write `.fp16.safetensors` variants beside the f32 files. */
  fp16Variant?: boolean;
}

// Words the tokenizer knows as whole tokens; everything else falls back to byte-level pieces.
const WORDS = ['a', 'an', 'the', 'of', 'and', 'in', 'on', 'with', 'photo', 'sketch', 'stencil', 'drawing', 'black', 'white',
  'cat', 'dog', 'bird', 'tree', 'house', 'flower', 'portrait', 'line', 'art', 'simple', 'bold'];

/** A CLIP byte-level BPE vocabulary (bytes, bytes + </w>, merges spelling WORDS, specials) and its merges. */
export function tinyTokenizerFiles(): { vocab: Record<string, number>; merges: string[] } {
  const tokens = [...BYTE_TO_UNICODE, ...BYTE_TO_UNICODE.map((c) => `${c}</w>`)];
  const known = new Set(tokens);
  const merges: string[] = [];
  for (const word of WORDS) {
    // Left-to-right merges: "p h", "ph o", ..., "phot o</w>" — each joins two tokens already in the vocab.
    const symbols = [...word].map((c, i, all) => (i === all.length - 1 ? `${c}</w>` : c));
    let left = symbols[0];
    for (const right of symbols.slice(1)) {
      const merged = left + right;
      if (!known.has(merged)) {
        merges.push(`${left} ${right}`);
        tokens.push(merged);
        known.add(merged);
      }
      left = merged;
    }
  }
  tokens.push('<|startoftext|>', '<|endoftext|>');
  return { vocab: Object.fromEntries(tokens.map((t, i) => [t, i])), merges };
}

function configs(family: TinyFamily, vocabSize: number) {
  const sd2 = family === 'sd2';
  const unet = {
    _class_name: 'UNet2DConditionModel',
    _diffusers_version: '0.30.3',
    act_fn: 'silu',
    attention_head_dim: sd2 ? [2, 4] : 8,
    block_out_channels: [32, 64],
    center_input_sample: false,
    cross_attention_dim: 32,
    down_block_types: ['CrossAttnDownBlock2D', 'DownBlock2D'],
    downsample_padding: 1,
    flip_sin_to_cos: true,
    freq_shift: 0,
    in_channels: 4,
    layers_per_block: 2,
    mid_block_scale_factor: 1,
    norm_eps: 1e-5,
    norm_num_groups: 32,
    out_channels: 4,
    sample_size: 16,
    up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D'],
    upcast_attention: sd2,
    use_linear_projection: sd2,
  };
  const vae = {
    _class_name: 'AutoencoderKL',
    _diffusers_version: '0.30.3',
    act_fn: 'silu',
    block_out_channels: [32, 64],
    down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D'],
    in_channels: 3,
    latent_channels: 4,
    layers_per_block: 2,
    norm_num_groups: 32,
    out_channels: 3,
    sample_size: 32,
    scaling_factor: 0.18215,
    up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D'],
  };
  const textEncoder = {
    architectures: ['CLIPTextModel'],
    bos_token_id: vocabSize - 2,
    eos_token_id: vocabSize - 1,
    hidden_act: sd2 ? 'gelu' : 'quick_gelu',
    hidden_size: 32,
    intermediate_size: 37,
    layer_norm_eps: 1e-5,
    max_position_embeddings: 77,
    model_type: 'clip_text_model',
    num_attention_heads: 4,
    num_hidden_layers: sd2 ? 3 : 5,
    pad_token_id: 1,
    projection_dim: 32,
    torch_dtype: 'float32',
    vocab_size: vocabSize,
  };
  // The real SD 1.5 (PNDM) and SD 2.1 (DDIM, v-prediction) scheduler configs.
  const scheduler = {
    _class_name: sd2 ? 'DDIMScheduler' : 'PNDMScheduler',
    beta_end: 0.012,
    beta_schedule: 'scaled_linear',
    beta_start: 0.00085,
    clip_sample: false,
    num_train_timesteps: 1000,
    set_alpha_to_one: false,
    skip_prk_steps: true,
    steps_offset: 1,
    trained_betas: null,
    ...(sd2 ? { prediction_type: 'v_prediction' } : {}),
  };
  return { unet, vae, textEncoder, scheduler };
}

/** Seeded values for every parameter, in the module's order: fan-in-scaled weights, norms near identity. */
function randomTensors(model: Module, rng: Philox): TensorToWrite[] {
  return [...model.namedParameters()].map(([name, p]) => {
    const shape = p.torchShape;
    const values = rng.normal(shape.reduce((a, b) => a * b, 1));
    let std = 0.02; // biases, embedding tables
    let mean = 0;
    if (p.layout !== 'as-is') std = 1 / Math.sqrt(shape.slice(1).reduce((a, b) => a * b, 1));
    else if (shape.length === 1 && /norm/.test(name)) [mean, std] = name.endsWith('.weight') ? [1, 0.1] : [0, 0.1];
    for (let i = 0; i < values.length; i++) values[i] = mean + values[i] * std;
    return { name, dtype: 'F32', shape, data: values };
  });
}

function safetensorsFiles(prefix: string, base: string, tensors: TensorToWrite[], fp16: boolean): [string, Blob][] {
  const files: [string, Blob][] = [[`${prefix}/${base}.safetensors`, writeSafetensors(tensors, { format: 'pt' })]];
  if (fp16) {
    const halves = tensors.map((t) => ({ ...t, dtype: 'F16' as const, data: toF16Bits(t.data) }));
    files.push([`${prefix}/${base}.fp16.safetensors`, writeSafetensors(halves, { format: 'pt' })]);
  }
  return files;
}

const json = (v: unknown) => new Blob([JSON.stringify(v, null, 2)]);

/** The files of a tiny pipeline, keyed by path inside the folder. */
export function buildTinyPipeline(family: TinyFamily, { seed = 0, fp16Variant = false }: TinyModelOptions = {}): Map<string, Blob> {
  const { vocab, merges } = tinyTokenizerFiles();
  const vocabSize = Object.keys(vocab).length;
  const c = configs(family, vocabSize);
  const rng = new Philox(seed);
  const textEncoder = new CLIPTextModel(parseCLIPTextConfig(c.textEncoder), referenceOps);
  const unet = new UNet2DConditionModel(parseUNetConfig(c.unet), referenceOps);
  const vae = new AutoencoderKL(parseAutoencoderKLConfig(c.vae), referenceOps);
  const pad = family === 'sd2' ? '!' : '<|endoftext|>';
  return new Map<string, Blob>([
    [
      'model_index.json',
      json({
        _class_name: 'StableDiffusionPipeline',
        _diffusers_version: '0.30.3',
        feature_extractor: [null, null],
        requires_safety_checker: false,
        safety_checker: [null, null],
        scheduler: ['diffusers', c.scheduler._class_name],
        text_encoder: ['transformers', 'CLIPTextModel'],
        tokenizer: ['transformers', 'CLIPTokenizer'],
        unet: ['diffusers', 'UNet2DConditionModel'],
        vae: ['diffusers', 'AutoencoderKL'],
      }),
    ],
    ['scheduler/scheduler_config.json', json(c.scheduler)],
    ['text_encoder/config.json', json(c.textEncoder)],
    ...safetensorsFiles('text_encoder', 'model', randomTensors(textEncoder, rng), fp16Variant),
    ['tokenizer/vocab.json', json(vocab)],
    ['tokenizer/merges.txt', new Blob([`#version: 0.2\n${merges.join('\n')}\n`])],
    [
      'tokenizer/tokenizer_config.json',
      json({
        bos_token: '<|startoftext|>',
        eos_token: '<|endoftext|>',
        model_max_length: 77,
        pad_token: pad,
        tokenizer_class: 'CLIPTokenizer',
        unk_token: '<|endoftext|>',
      }),
    ],
    ['tokenizer/special_tokens_map.json', json({ bos_token: '<|startoftext|>', eos_token: '<|endoftext|>', pad_token: pad, unk_token: '<|endoftext|>' })],
    ['unet/config.json', json(c.unet)],
    ...safetensorsFiles('unet', 'diffusion_pytorch_model', randomTensors(unet, rng), fp16Variant),
    ['vae/config.json', json(c.vae)],
    ...safetensorsFiles('vae', 'diffusion_pytorch_model', randomTensors(vae, rng), fp16Variant),
  ]);
}

/** A tiny pipeline as a folder the diffusers reader opens (in memory). */
export function tinyPipelineDirectory(family: TinyFamily, options: TinyModelOptions = {}): DirectorySource {
  return blobDirectory(`tiny-${family}`, buildTinyPipeline(family, options));
}
