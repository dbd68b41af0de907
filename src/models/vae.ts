// diffusers' Encoder and Decoder of AutoencoderKL (autoencoders/vae.py). NHWC: images [B, H, W, 3] in
// [-1, 1], latents [B, H/f, W/f, latent_channels] with f = 2^(len(block_out_channels) - 1).
import * as tf from '@tensorflow/tfjs';
import { Conv2d } from '../nn/conv2d';
import { GroupNorm } from '../nn/group-norm';
import { Module } from '../nn/module';
import type { Ops } from '../ops/types';
import type { AutoencoderKLConfig } from './configs';
import { DownEncoderBlock2D, UNetMidBlock2D, UpDecoderBlock2D, VAE_EPS } from './vae-blocks';

export class Encoder extends Module {
  readonly conv_in: Conv2d;
  readonly down_blocks: DownEncoderBlock2D[];
  readonly mid_block: UNetMidBlock2D;
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv2d;

  constructor(ops: Ops, c: AutoencoderKLConfig) {
    super();
    const boc = c.block_out_channels;
    const groups = c.norm_num_groups;
    this.conv_in = this.module('conv_in', new Conv2d(ops, c.in_channels, boc[0], { padding: 1 }));
    this.down_blocks = this.list(
      'down_blocks',
      boc.map((out, i) => new DownEncoderBlock2D(ops, i === 0 ? boc[0] : boc[i - 1], out, { numLayers: c.layers_per_block, groups, addDownsample: i < boc.length - 1 })),
    );
    this.mid_block = this.module('mid_block', new UNetMidBlock2D(ops, boc[boc.length - 1], { groups, addAttention: c.mid_block_add_attention }));
    this.conv_norm_out = this.module('conv_norm_out', new GroupNorm(ops, groups, boc[boc.length - 1], VAE_EPS));
    // double_z: mean and logvar.
    this.conv_out = this.module('conv_out', new Conv2d(ops, boc[boc.length - 1], 2 * c.latent_channels, { padding: 1 }));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = this.conv_in.forward(x);
      for (const d of this.down_blocks) h = d.forward(h);
      h = this.mid_block.forward(h);
      return this.conv_out.forward(this.conv_norm_out.forward(h, true));
    });
  }
}

export class Decoder extends Module {
  readonly conv_in: Conv2d;
  readonly mid_block: UNetMidBlock2D;
  readonly up_blocks: UpDecoderBlock2D[];
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv2d;

  constructor(ops: Ops, c: AutoencoderKLConfig) {
    super();
    const rev = [...c.block_out_channels].reverse();
    const groups = c.norm_num_groups;
    this.conv_in = this.module('conv_in', new Conv2d(ops, c.latent_channels, rev[0], { padding: 1 }));
    this.mid_block = this.module('mid_block', new UNetMidBlock2D(ops, rev[0], { groups, addAttention: c.mid_block_add_attention }));
    this.up_blocks = this.list(
      'up_blocks',
      rev.map((out, i) => new UpDecoderBlock2D(ops, i === 0 ? rev[0] : rev[i - 1], out, { numLayers: c.layers_per_block + 1, groups, addUpsample: i < rev.length - 1 })),
    );
    this.conv_norm_out = this.module('conv_norm_out', new GroupNorm(ops, groups, rev[rev.length - 1], VAE_EPS));
    this.conv_out = this.module('conv_out', new Conv2d(ops, rev[rev.length - 1], c.out_channels, { padding: 1 }));
  }

  forward(z: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = this.mid_block.forward(this.conv_in.forward(z));
      for (const u of this.up_blocks) h = u.forward(h);
      return this.conv_out.forward(this.conv_norm_out.forward(h, true));
    });
  }
}
