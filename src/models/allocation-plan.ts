// GPU memory plan for a generation, from the configs alone (nothing is dispatched): resident weights counted
// exactly from the modules' parameters in the storage precision, and the activation peak of each model's
// forward estimated by walking its blocks with the lifetimes our code gives tensors (skip connections live
// until their up block; each block holds its own intermediates until it returns). Activations are f32.
// Attention is counted either with its score matrix materialised (the tfjs reference ops) or fused (the
// flash-attention kernel, no L×L scores).
import type { Precision } from '../engine/engine';
import type { Module } from '../nn/module';
import { referenceOps } from '../ops/reference';
import { AutoencoderKL } from './autoencoder-kl';
import { CLIPTextModel } from './clip-text-model';
import type { AutoencoderKLConfig, CLIPTextConfig, UNet2DConditionConfig } from './configs';
import { UNet2DConditionModel } from './unet-2d-condition';

export type AttentionMemory = 'materialized' | 'fused';

export interface PlanOptions {
  precision: Precision;
  /** Image size in pixels (square). */
  size: number;
  /** UNet batch: 2 with classifier-free guidance. */
  batch: number;
  attention: AttentionMemory;
  /** VAE decode tile in pixels, when tiling. */
  vaeTile?: number;
}

export interface AllocationPlan {
  weights: { textEncoder: number; unet: number; vae: number; total: number };
  /** Activation peaks of each forward (bytes above the weights). */
  activations: { textEncoder: number; unet: number; vaeDecode: number };
  /** Weights plus the largest activation peak: the models stay resident for the whole generation. */
  peak: number;
}

const F32 = 4;

export function weightBytes(model: Module, precision: Precision): number {
  let bytes = 0;
  for (const [, p] of model.namedParameters()) {
    const n = p.torchShape.reduce((a, b) => a * b, 1);
    // f16: two halves per int32 element (packedF16FromBits).
    bytes += precision === 'f16' ? Math.ceil(n / 2) * 4 : n * F32;
  }
  return bytes;
}

/** Scores, scaled scores and softmax of the reference attention: three B×heads×Lq×Lk f32 tensors. */
function attentionScores(b: number, heads: number, lq: number, lk: number, mode: AttentionMemory): number {
  return mode === 'fused' ? 0 : 3 * b * heads * lq * lk * F32;
}

/** ResnetBlock2D: norm1, conv1, +temb, norm2, shortcut, conv2 held by its tidy, plus the input. */
function resnetPeak(b: number, hw: number, cin: number, cout: number): number {
  return b * hw * (2 * cin + (cin !== cout ? 5 : 4) * cout) * F32;
}

/** Transformer2DModel on L = hw tokens of width c: norm, proj_in, per block LayerNorms, residuals, the larger of attention and GEGLU. */
function transformerPeak(b: number, hw: number, c: number, heads: number, lk: number, mode: AttentionMemory): number {
  const act = b * hw * c * F32;
  const attn = 4 * act + Math.max(attentionScores(b, heads, hw, hw, mode), attentionScores(b, heads, hw, lk, mode));
  const ff = 13 * act;
  return 9 * act + Math.max(attn, ff);
}

export function unetActivationPeak(c: UNet2DConditionConfig, b: number, latent: number, mode: AttentionMemory, contextLen = 77): number {
  const boc = c.block_out_channels;
  const n = boc.length;
  const skips: number[] = [];
  let peak = 0;
  let size = latent;
  let ch = boc[0];
  skips.push(b * size * size * ch * F32);
  const at = (held: number, work: number) => (peak = Math.max(peak, held + work));
  const sum = () => skips.reduce((a, v) => a + v, 0);
  c.down_block_types.forEach((type, i) => {
    for (let l = 0; l < c.layers_per_block[i]; l++) {
      at(sum(), resnetPeak(b, size * size, ch, boc[i]));
      ch = boc[i];
      if (type === 'CrossAttnDownBlock2D') at(sum(), transformerPeak(b, size * size, ch, c.num_attention_heads[i], contextLen, mode));
      skips.push(b * size * size * ch * F32);
    }
    if (i < n - 1) {
      size = Math.ceil(size / 2);
      skips.push(b * size * size * ch * F32);
    }
  });
  if (c.mid_block_type) {
    at(sum(), 2 * resnetPeak(b, size * size, ch, ch) + transformerPeak(b, size * size, ch, c.num_attention_heads[n - 1], contextLen, mode));
  }
  const rev = [...boc].reverse();
  c.up_block_types.forEach((type, i) => {
    const k = n - 1 - i;
    const layers = c.layers_per_block[k] + 1;
    let held = 0;
    for (let l = 0; l < layers; l++) {
      const skip = skips.pop()!;
      const skipCh = skip / (b * size * size * F32);
      at(sum() + skip + held, resnetPeak(b, size * size, ch + skipCh, rev[i]) + b * size * size * (ch + skipCh) * F32);
      ch = rev[i];
      if (type === 'CrossAttnUpBlock2D') at(sum() + held, transformerPeak(b, size * size, ch, c.num_attention_heads[k], contextLen, mode));
      // The block's tidy keeps each layer's output until the block returns.
      held += (type === 'CrossAttnUpBlock2D' ? 2 : 1) * b * size * size * ch * F32;
    }
    if (i < n - 1) {
      size *= 2;
      at(sum() + held, 2 * b * size * size * ch * F32);
    }
  });
  return peak;
}

export function vaeDecodeActivationPeak(c: AutoencoderKLConfig, b: number, pixels: number, mode: AttentionMemory): number {
  const rev = [...c.block_out_channels].reverse();
  let size = pixels / 2 ** (rev.length - 1);
  let peak = 0;
  const mid = rev[0];
  const midAct = b * size * size * mid * F32;
  peak = Math.max(peak, 2 * resnetPeak(b, size * size, mid, mid) + 5 * midAct + attentionScores(b, 1, size * size, size * size, mode));
  let ch = mid;
  rev.forEach((out, i) => {
    let held = b * size * size * ch * F32;
    for (let l = 0; l < c.layers_per_block + 1; l++) {
      peak = Math.max(peak, held + resnetPeak(b, size * size, ch, out));
      ch = out;
      held += b * size * size * ch * F32;
    }
    if (i < rev.length - 1) {
      size *= 2;
      peak = Math.max(peak, held + 2 * b * size * size * ch * F32);
    }
  });
  return peak;
}

export function textEncoderActivationPeak(c: CLIPTextConfig, b: number, mode: AttentionMemory): number {
  const l = c.max_position_embeddings;
  const act = b * l * c.hidden_size * F32;
  return 8 * act + b * l * c.intermediate_size * F32 * 2 + attentionScores(b, c.num_attention_heads, l, l, mode);
}

export function allocationPlan(
  configs: { textEncoder: CLIPTextConfig; unet: UNet2DConditionConfig; vae: AutoencoderKLConfig },
  o: PlanOptions,
): AllocationPlan {
  const weights = {
    textEncoder: weightBytes(new CLIPTextModel(configs.textEncoder, referenceOps), o.precision),
    unet: weightBytes(new UNet2DConditionModel(configs.unet, referenceOps), o.precision),
    vae: weightBytes(new AutoencoderKL(configs.vae, referenceOps), o.precision),
    total: 0,
  };
  weights.total = weights.textEncoder + weights.unet + weights.vae;
  const f = 2 ** (configs.vae.block_out_channels.length - 1);
  // A tiled decode runs tile by tile; the decoded tiles themselves (3 channels) are small beside its peak.
  const vaePixels = o.vaeTile && o.vaeTile < o.size ? o.vaeTile : o.size;
  const activations = {
    textEncoder: textEncoderActivationPeak(configs.textEncoder, o.batch, o.attention),
    unet: unetActivationPeak(configs.unet, o.batch, Math.ceil(o.size / f), o.attention),
    vaeDecode: vaeDecodeActivationPeak(configs.vae, 1, vaePixels, o.attention),
  };
  return { weights, activations, peak: weights.total + Math.max(activations.textEncoder, activations.unet, activations.vaeDecode) };
}
