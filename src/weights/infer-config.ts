// Component configs read off diffusers-named weight shapes, for checkpoints that carry no config and do not match
// the standard SD 1.5 / 2.1 sizes (tiny and pruned models). Shapes cannot tell head counts, so these follow the
// family's convention: SD 1.x 8 heads per block, SD 2.x 64-wide heads; configs that matter should travel with the
// weights (our exports put them in the safetensors metadata).
import {
  SD15_TEXT_ENCODER_CONFIG,
  SD15_UNET_CONFIG,
  SD15_VAE_CONFIG,
  SD21_TEXT_ENCODER_CONFIG,
  SD21_UNET_CONFIG,
  SD21_VAE_CONFIG,
} from './standard-configs';
import type { WeightSource } from './weight-source';

export type Family = 'sd1' | 'sd2';
type Config = Record<string, unknown>;

function countIndices(weights: WeightSource, pattern: RegExp): number {
  const seen = new Set<string>();
  for (const name of weights.names()) {
    const m = pattern.exec(name);
    if (m) seen.add(m[1]);
  }
  return seen.size;
}

function firstShape(weights: WeightSource, suffix: string): number[] | undefined {
  const name = weights.names().find((n) => n.endsWith(suffix));
  return name === undefined ? undefined : weights.shape(name);
}

export function inferUnetConfig(weights: WeightSource, family: Family, sampleSize: number): Config {
  const blocks = countIndices(weights, /^down_blocks\.(\d+)\./);
  const hasAttention = (path: string, b: number) => weights.has(`${path}.${b}.attentions.0.proj_in.weight`);
  const channels = Array.from({ length: blocks }, (_, b) => weights.shape(`down_blocks.${b}.resnets.0.conv1.weight`)[0]);
  const projIn = firstShape(weights, '.proj_in.weight');
  const linear = projIn?.length === 2;
  const standard = family === 'sd1' ? SD15_UNET_CONFIG : SD21_UNET_CONFIG;
  const config: Config = {
    ...standard,
    attention_head_dim: linear ? channels.map((c) => Math.max(1, Math.round(c / 64))) : 8,
    block_out_channels: channels,
    cross_attention_dim: firstShape(weights, '.attn2.to_k.weight')?.[1] ?? standard.cross_attention_dim,
    down_block_types: channels.map((_, b) => (hasAttention('down_blocks', b) ? 'CrossAttnDownBlock2D' : 'DownBlock2D')),
    in_channels: weights.shape('conv_in.weight')[1],
    layers_per_block: countIndices(weights, /^down_blocks\.0\.resnets\.(\d+)\./),
    out_channels: weights.shape('conv_out.weight')[0],
    sample_size: sampleSize,
    up_block_types: channels.map((_, b) => (hasAttention('up_blocks', b) ? 'CrossAttnUpBlock2D' : 'UpBlock2D')),
    use_linear_projection: linear,
  };
  const depth = countIndices(weights, /^down_blocks\.0\.attentions\.0\.transformer_blocks\.(\d+)\./);
  if (depth > 1) config.transformer_layers_per_block = depth;
  return config;
}

export function inferVaeConfig(weights: WeightSource, family: Family): Config {
  const blocks = countIndices(weights, /^encoder\.down_blocks\.(\d+)\./);
  return {
    ...(family === 'sd1' ? SD15_VAE_CONFIG : SD21_VAE_CONFIG),
    block_out_channels: Array.from({ length: blocks }, (_, i) => weights.shape(`encoder.down_blocks.${i}.resnets.0.conv1.weight`)[0]),
    down_block_types: new Array(blocks).fill('DownEncoderBlock2D'),
    in_channels: weights.shape('encoder.conv_in.weight')[1],
    latent_channels: weights.shape('decoder.conv_in.weight')[1],
    layers_per_block: countIndices(weights, /^encoder\.down_blocks\.0\.resnets\.(\d+)\./),
    out_channels: weights.shape('decoder.conv_out.weight')[0],
    up_block_types: new Array(blocks).fill('UpDecoderBlock2D'),
  };
}

export function inferTextEncoderConfig(weights: WeightSource, family: Family): Config {
  const [vocab, hidden] = weights.shape('text_model.embeddings.token_embedding.weight');
  return {
    ...(family === 'sd1' ? SD15_TEXT_ENCODER_CONFIG : SD21_TEXT_ENCODER_CONFIG),
    hidden_size: hidden,
    intermediate_size: weights.shape('text_model.encoder.layers.0.mlp.fc1.weight')[0],
    max_position_embeddings: weights.shape('text_model.embeddings.position_embedding.weight')[0],
    num_attention_heads: Math.max(1, Math.round(hidden / 64)),
    num_hidden_layers: countIndices(weights, /^text_model\.encoder\.layers\.(\d+)\./),
    vocab_size: vocab,
  };
}
