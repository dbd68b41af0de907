// diffusers' Attention as UNetMidBlock2D builds it for the VAE: group_norm inside, one head of width C over
// the H*W positions, biased projections, residual connection. Old checkpoints stored to_q/to_k/to_v/to_out
// as 1×1 convolutions; the loader takes either shape.
import * as tf from '@tensorflow/tfjs';
import type { Ops } from '../ops/types';
import { Attention } from './attention';
import { GroupNorm } from './group-norm';

export class SpatialAttention extends Attention {
  readonly group_norm: GroupNorm;

  constructor(
    ops: Ops,
    channels: number,
    { heads, groups, eps }: { heads: number; groups: number; eps: number },
  ) {
    super(ops, channels, { heads, dimHead: channels / heads, bias: true });
    this.group_norm = this.module('group_norm', new GroupNorm(ops, groups, channels, eps));
  }

  forwardSpatial(x: tf.Tensor4D): tf.Tensor4D {
    const [b, h, w, c] = x.shape;
    return tf.tidy(() => {
      const tokens = tf.reshape(this.group_norm.forward(x), [b, h * w, c]) as tf.Tensor3D;
      return this.ops.add(tf.reshape(this.forward(tokens), [b, h, w, c]), x) as tf.Tensor4D;
    });
  }
}
