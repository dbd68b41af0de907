// diffusers' Transformer2DModel for continuous (image) input: GroupNorm, proj_in, BasicTransformerBlocks on
// the H*W tokens, proj_out, plus the input. NHWC makes [B, H*W, C] a reshape, so the 1×1-conv projections of
// SD 1.x and the linear ones of SD 2.x (use_linear_projection) are the same product; only storage differs.
import * as tf from '@tensorflow/tfjs';
import type { Ops } from '../ops/types';
import { BasicTransformerBlock } from './basic-transformer-block';
import { GroupNorm } from './group-norm';
import { Linear } from './linear';
import { Module } from './module';

export interface Transformer2DOptions {
  heads: number;
  dimHead: number;
  numLayers: number;
  crossAttentionDim: number;
  normNumGroups: number;
  useLinearProjection: boolean;
  onlyCrossAttention?: boolean;
}

export class Transformer2DModel extends Module {
  readonly norm: GroupNorm;
  readonly proj_in: Linear;
  readonly transformer_blocks: BasicTransformerBlock[];
  readonly proj_out: Linear;

  constructor(
    private readonly ops: Ops,
    inChannels: number,
    o: Transformer2DOptions,
  ) {
    super();
    const inner = o.heads * o.dimHead;
    const conv1x1 = !o.useLinearProjection;
    this.norm = this.module('norm', new GroupNorm(ops, o.normNumGroups, inChannels, 1e-6));
    this.proj_in = this.module('proj_in', new Linear(ops, inChannels, inner, { conv1x1 }));
    this.transformer_blocks = this.list(
      'transformer_blocks',
      Array.from({ length: o.numLayers }, () => new BasicTransformerBlock(ops, inner, o)),
    );
    this.proj_out = this.module('proj_out', new Linear(ops, inner, inChannels, { conv1x1 }));
  }

  forward(x: tf.Tensor4D, context: tf.Tensor3D): tf.Tensor4D {
    const [b, hgt, wid, c] = x.shape;
    return tf.tidy(() => {
      const tokens = tf.reshape(this.norm.forward(x), [b, hgt * wid, c]) as tf.Tensor3D;
      let h = this.proj_in.forward(tokens) as tf.Tensor3D;
      for (const block of this.transformer_blocks) {
        const next = block.forward(h, context);
        h.dispose();
        h = next;
      }
      const out = tf.reshape(this.proj_out.forward(h), [b, hgt, wid, c]) as tf.Tensor4D;
      return this.ops.add(out, x) as tf.Tensor4D;
    });
  }
}
