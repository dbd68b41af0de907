// diffusers' UNet2DConditionModel for SD 1.x / 2.x configs: conv_in, sinusoidal time projection and
// time_embedding, down blocks, mid block, up blocks fed by the skip connections, GroupNorm+SiLU, conv_out.
// Activations NHWC: sample [B, H, W, in_channels] -> noise prediction [B, H, W, out_channels].
import * as tf from '@tensorflow/tfjs';
import { Conv2d } from '../nn/conv2d';
import { GroupNorm } from '../nn/group-norm';
import { Module } from '../nn/module';
import { TimestepEmbedding } from '../nn/timestep-embedding';
import type { Ops } from '../ops/types';
import type { UNet2DConditionConfig } from './configs';
import { DownBlock2D, UNetMidBlock2DCrossAttn, UpBlock2D, type BlockOptions } from './unet-2d-blocks';

export type Timesteps = number | readonly number[] | tf.Tensor1D;

export class UNet2DConditionModel extends Module {
  readonly conv_in: Conv2d;
  readonly time_embedding: TimestepEmbedding;
  readonly down_blocks: DownBlock2D[];
  readonly mid_block?: UNetMidBlock2DCrossAttn;
  readonly up_blocks: UpBlock2D[];
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv2d;
  /** Latent sizes must be multiples of this, or the up path upsamples to the skips' sizes. */
  readonly overallUpFactor: number;

  constructor(
    readonly config: UNet2DConditionConfig,
    readonly ops: Ops,
  ) {
    super();
    const c = config;
    const boc = c.block_out_channels;
    const n = boc.length;
    const block = (i: number, numLayers: number, reversed: boolean): BlockOptions => {
      const k = reversed ? n - 1 - i : i;
      return {
        tembChannels: c.time_embed_dim,
        eps: c.norm_eps,
        groups: c.norm_num_groups,
        numLayers,
        transformerLayers: c.transformer_layers_per_block[k],
        heads: c.num_attention_heads[k],
        crossAttentionDim: c.cross_attention_dim[k],
        useLinearProjection: c.use_linear_projection,
        onlyCrossAttention: c.only_cross_attention[k],
      };
    };

    this.conv_in = this.module('conv_in', new Conv2d(ops, c.in_channels, boc[0], { kernel: c.conv_in_kernel, padding: (c.conv_in_kernel - 1) / 2 }));
    // time_proj (Timesteps) has no parameters: ops.timestepEmbedding.
    this.time_embedding = this.module('time_embedding', new TimestepEmbedding(ops, boc[0], c.time_embed_dim));

    this.down_blocks = this.list(
      'down_blocks',
      c.down_block_types.map((type, i) => {
        const input = i === 0 ? boc[0] : boc[i - 1];
        return new DownBlock2D(ops, input, boc[i], {
          ...block(i, c.layers_per_block[i], false),
          crossAttention: type === 'CrossAttnDownBlock2D',
          addDownsample: i < n - 1,
          downsamplePadding: c.downsample_padding,
        });
      }),
    );

    if (c.mid_block_type) {
      this.mid_block = this.module(
        'mid_block',
        new UNetMidBlock2DCrossAttn(ops, boc[n - 1], { ...block(n - 1, 1, false), outputScaleFactor: c.mid_block_scale_factor }),
      );
    }

    const rev = [...boc].reverse();
    this.up_blocks = this.list(
      'up_blocks',
      c.up_block_types.map((type, i) => {
        const prevOutput = rev[Math.max(i - 1, 0)];
        const input = rev[Math.min(i + 1, n - 1)];
        return new UpBlock2D(ops, input, rev[i], prevOutput, {
          ...block(i, c.layers_per_block[n - 1 - i] + 1, true),
          crossAttention: type === 'CrossAttnUpBlock2D',
          addUpsample: i < n - 1,
        });
      }),
    );
    this.overallUpFactor = 2 ** (n - 1);

    this.conv_norm_out = this.module('conv_norm_out', new GroupNorm(ops, c.norm_num_groups, boc[0], c.norm_eps));
    this.conv_out = this.module(
      'conv_out',
      new Conv2d(ops, boc[0], c.out_channels, { kernel: c.conv_out_kernel, padding: (c.conv_out_kernel - 1) / 2 }),
    );
  }

  /**
   * sample [B, H, W, in_channels]; timestep: one for the batch or one per sample; context (the text encoder's
   * hidden states) [B, L, cross_attention_dim].
   */
  forward(sample: tf.Tensor4D, timestep: Timesteps, context: tf.Tensor3D): tf.Tensor4D {
    const c = this.config;
    const [b, height, width] = sample.shape;
    const boc = c.block_out_channels;
    if (sample.shape[3] !== c.in_channels) throw new Error(`UNet: sample has ${sample.shape[3]} channels, the config says ${c.in_channels}`);
    if (context.shape[0] !== b) throw new Error(`UNet: ${b} samples but ${context.shape[0]} context rows`);

    const tembAct = tf.tidy(() => {
      const t = timestepsFor(timestep, b);
      const proj = this.ops.timestepEmbedding(t, boc[0], { flipSinToCos: c.flip_sin_to_cos, downscaleFreqShift: c.freq_shift });
      // Every resnet applies SiLU to the embedding before its time_emb_proj; once is enough.
      return this.ops.activation(this.time_embedding.forward(proj), 'silu') as tf.Tensor2D;
    });

    const input = c.center_input_sample ? tf.tidy(() => tf.sub(tf.mul(sample, 2), 1) as tf.Tensor4D) : sample;
    let h = this.conv_in.forward(input);
    if (input !== sample) input.dispose();
    const skips: tf.Tensor4D[] = [h];
    for (const down of this.down_blocks) {
      const r = down.forward(h, tembAct, context);
      skips.push(...r.states);
      h = r.hidden;
    }
    if (this.mid_block) h = this.mid_block.forward(h, tembAct, context);

    // diffusers' forward_upsample_size: when H or W is not a multiple of the total downsampling, each
    // upsampler goes to the size of the skip it will be concatenated with instead of 2×.
    const forwardUpsampleSize = height % this.overallUpFactor !== 0 || width % this.overallUpFactor !== 0;
    this.up_blocks.forEach((up, i) => {
      const res = skips.splice(skips.length - up.resnets.length);
      const next = skips[skips.length - 1];
      const size: [number, number] | undefined = forwardUpsampleSize && i < this.up_blocks.length - 1 ? [next.shape[1], next.shape[2]] : undefined;
      const out = up.forward(h, res, tembAct, context, size);
      if (!res.includes(h)) h.dispose();
      for (const s of res) s.dispose();
      h = out;
    });
    tembAct.dispose();
    const out = tf.tidy(() => this.conv_out.forward(this.conv_norm_out.forward(h, true)));
    h.dispose();
    return out;
  }
}

function timestepsFor(timestep: Timesteps, batch: number): tf.Tensor1D {
  if (timestep instanceof tf.Tensor) {
    if (timestep.size === batch) return tf.cast(timestep.reshape([batch]), 'float32') as tf.Tensor1D;
    if (timestep.size === 1) return tf.broadcastTo(tf.cast(timestep.reshape([1]), 'float32'), [batch]) as tf.Tensor1D;
    throw new Error(`UNet: ${timestep.size} timesteps for a batch of ${batch}`);
  }
  const list = typeof timestep === 'number' ? [timestep] : timestep;
  if (list.length !== batch && list.length !== 1) throw new Error(`UNet: ${list.length} timesteps for a batch of ${batch}`);
  return tf.tensor1d(list.length === 1 ? Array<number>(batch).fill(list[0]) : [...list], 'float32');
}
