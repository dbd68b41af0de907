// diffusers' BasicTransformerBlock (norm_type "layer_norm"): self-attention, cross-attention on the text
// context, GEGLU feed-forward, each pre-normed with a LayerNorm and added to the residual stream.
import * as tf from '@tensorflow/tfjs';
import type { Ops } from '../ops/types';
import { Attention } from './attention';
import { checkpointed, trainableVariables, type Checkpointable } from './checkpoint';
import { FeedForward } from './feed-forward';
import { LayerNorm } from './layer-norm';
import { Module } from './module';

export interface BasicTransformerBlockOptions {
  heads: number;
  dimHead: number;
  crossAttentionDim: number;
  /** attn1 attends to the context too (diffusers' only_cross_attention). */
  onlyCrossAttention?: boolean;
}

export class BasicTransformerBlock extends Module implements Checkpointable {
  readonly norm1: LayerNorm;
  readonly attn1: Attention;
  readonly norm2: LayerNorm;
  readonly attn2: Attention;
  readonly norm3: LayerNorm;
  readonly ff: FeedForward;
  private readonly onlyCrossAttention: boolean;
  /** Recompute this block in the backward pass instead of keeping its intermediates (setGradientCheckpointing). */
  gradientCheckpointing = false;

  constructor(
    private readonly ops: Ops,
    dim: number,
    { heads, dimHead, crossAttentionDim, onlyCrossAttention = false }: BasicTransformerBlockOptions,
  ) {
    super();
    this.onlyCrossAttention = onlyCrossAttention;
    this.norm1 = this.module('norm1', new LayerNorm(ops, dim, 1e-5));
    this.attn1 = this.module(
      'attn1',
      new Attention(ops, dim, { heads, dimHead, crossAttentionDim: onlyCrossAttention ? crossAttentionDim : undefined }),
    );
    this.norm2 = this.module('norm2', new LayerNorm(ops, dim, 1e-5));
    this.attn2 = this.module('attn2', new Attention(ops, dim, { heads, dimHead, crossAttentionDim }));
    this.norm3 = this.module('norm3', new LayerNorm(ops, dim, 1e-5));
    this.ff = this.module('ff', new FeedForward(ops, dim));
  }

  /** hidden [B, L, dim], context [B, Lk, crossAttentionDim]. */
  forward(hidden: tf.Tensor3D, context: tf.Tensor3D): tf.Tensor3D {
    if (!this.gradientCheckpointing) return this.compute(hidden, context);
    return checkpointed(([h, c]) => this.compute(h as tf.Tensor3D, c as tf.Tensor3D), [hidden, context], trainableVariables(this));
  }

  private compute(hidden: tf.Tensor3D, context: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const { ops } = this;
      let h = ops.add(this.attn1.forward(this.norm1.forward(hidden), this.onlyCrossAttention ? context : undefined), hidden) as tf.Tensor3D;
      h = ops.add(this.attn2.forward(this.norm2.forward(h), context), h) as tf.Tensor3D;
      return ops.add(this.ff.forward(this.norm3.forward(h)), h) as tf.Tensor3D;
    });
  }
}
