// The VAE's blocks from diffusers' unet_2d_blocks.py: DownEncoderBlock2D, UpDecoderBlock2D and UNetMidBlock2D
// (resnets without time embedding, one single-head spatial attention in the middle).
import * as tf from '@tensorflow/tfjs';
import { Downsample2D } from '../nn/downsample-2d';
import { Module } from '../nn/module';
import { ResnetBlock2D } from '../nn/resnet-block-2d';
import { SpatialAttention } from '../nn/spatial-attention';
import { Upsample2D } from '../nn/upsample-2d';
import type { Ops } from '../ops/types';

// The VAE's GroupNorms all use eps 1e-6 (diffusers' Encoder/Decoder pass resnet_eps=1e-6).
export const VAE_EPS = 1e-6;

function resnets(ops: Ops, count: number, inChannels: number, outChannels: number, groups: number): ResnetBlock2D[] {
  return Array.from(
    { length: count },
    (_, i) => new ResnetBlock2D(ops, { inChannels: i === 0 ? inChannels : outChannels, outChannels, tembChannels: null, groups, eps: VAE_EPS }),
  );
}

export class DownEncoderBlock2D extends Module {
  readonly resnets: ResnetBlock2D[];
  readonly downsamplers: Downsample2D[];

  constructor(ops: Ops, inChannels: number, outChannels: number, o: { numLayers: number; groups: number; addDownsample: boolean }) {
    super();
    this.resnets = this.list('resnets', resnets(ops, o.numLayers, inChannels, outChannels, o.groups));
    // The encoder's downsample_padding is 0: torch pads right and bottom only.
    this.downsamplers = this.list('downsamplers', o.addDownsample ? [new Downsample2D(ops, outChannels, 0)] : []);
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = x;
      for (const r of this.resnets) h = r.forward(h);
      for (const d of this.downsamplers) h = d.forward(h);
      return h;
    });
  }
}

export class UpDecoderBlock2D extends Module {
  readonly resnets: ResnetBlock2D[];
  readonly upsamplers: Upsample2D[];

  constructor(ops: Ops, inChannels: number, outChannels: number, o: { numLayers: number; groups: number; addUpsample: boolean }) {
    super();
    this.resnets = this.list('resnets', resnets(ops, o.numLayers, inChannels, outChannels, o.groups));
    this.upsamplers = this.list('upsamplers', o.addUpsample ? [new Upsample2D(ops, outChannels)] : []);
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = x;
      for (const r of this.resnets) h = r.forward(h);
      for (const u of this.upsamplers) h = u.forward(h);
      return h;
    });
  }
}

export class UNetMidBlock2D extends Module {
  readonly resnets: ResnetBlock2D[];
  readonly attentions: SpatialAttention[];

  constructor(ops: Ops, channels: number, o: { groups: number; addAttention: boolean }) {
    super();
    this.resnets = this.list('resnets', resnets(ops, 2, channels, channels, o.groups));
    // attention_head_dim = channels: one head.
    this.attentions = this.list('attentions', o.addAttention ? [new SpatialAttention(ops, channels, { heads: 1, groups: o.groups, eps: VAE_EPS })] : []);
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = this.resnets[0].forward(x);
      for (const a of this.attentions) h = a.forwardSpatial(h);
      return this.resnets[1].forward(h);
    });
  }
}
