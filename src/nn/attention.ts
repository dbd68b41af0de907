// diffusers' Attention as the UNet's transformer blocks and the VAE's mid block build it: to_q, to_k, to_v,
// to_out.0, multi-head scaled dot-product attention (softmax in f32, so upcast_attention needs nothing more).
import * as tf from '@tensorflow/tfjs';
import type { Ops } from '../ops/types';
import { Linear } from './linear';
import { Module } from './module';

export interface AttentionOptions {
  heads: number;
  dimHead: number;
  /** Width of the context for cross-attention; self-attention when absent. */
  crossAttentionDim?: number;
  /** Bias on to_q/to_k/to_v (false in the UNet, true in the VAE). to_out always has one. */
  bias?: boolean;
}

export class Attention extends Module {
  readonly heads: number;
  readonly to_q: Linear;
  readonly to_k: Linear;
  readonly to_v: Linear;
  readonly to_out: Linear;

  constructor(
    protected readonly ops: Ops,
    queryDim: number,
    { heads, dimHead, crossAttentionDim, bias = false }: AttentionOptions,
  ) {
    super();
    this.heads = heads;
    const inner = heads * dimHead;
    const contextDim = crossAttentionDim ?? queryDim;
    this.to_q = this.module('to_q', new Linear(ops, queryDim, inner, { bias }));
    this.to_k = this.module('to_k', new Linear(ops, contextDim, inner, { bias }));
    this.to_v = this.module('to_v', new Linear(ops, contextDim, inner, { bias }));
    // to_out.1 is a Dropout in diffusers: no parameters.
    this.to_out = this.module('to_out.0', new Linear(ops, inner, queryDim));
  }

  /** hidden [B, L, queryDim], context [B, Lk, contextDim] (self-attention without it). */
  forward(hidden: tf.Tensor3D, context?: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const kv = context ?? hidden;
      const q = this.to_q.forward(hidden) as tf.Tensor3D;
      const k = this.to_k.forward(kv) as tf.Tensor3D;
      const v = this.to_v.forward(kv) as tf.Tensor3D;
      return this.to_out.forward(this.ops.attention(q, k, v, { heads: this.heads })) as tf.Tensor3D;
    });
  }
}
