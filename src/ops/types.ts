// The op interface the models call. Activations are NHWC ([B, H, W, C]); sequences are [B, L, C].
// Weights arrive already converted to the layouts below (see weights/ for the PyTorch -> ours mapping).
// Two implementations share this interface: the tfjs reference ops (oracles, benchmark baselines) and
// the WGSL kernels.
import type * as tf from '@tensorflow/tfjs';

/** A weight on the GPU: f32 tensor, or f16 halves packed two per int32 element with its logical shape. */
export type Weight = tf.Tensor | PackedF16;

export interface PackedF16 {
  readonly kind: 'f16';
  /** int32 tensor of ceil(size / 2) elements; element i holds halves 2i (low 16 bits) and 2i+1. */
  readonly packed: tf.Tensor;
  readonly shape: number[];
}

export interface Conv2dOptions {
  stride?: 1 | 2;
  /** Symmetric zero padding (diffusers uses 1 for 3×3 and 0 for 1×1). */
  padding?: number;
  /** Added to the output after the bias (fused residual). Same shape as the output. */
  residual?: tf.Tensor4D;
}

export type Activation = 'none' | 'silu' | 'gelu' | 'gelu-tanh' | 'quick-gelu';

export interface AttentionOptions {
  heads: number;
  /** Default 1 / sqrt(head_dim). */
  scale?: number;
  /** CLIP's causal mask: query i sees keys 0..i. */
  causal?: boolean;
}

export interface TimestepEmbeddingOptions {
  flipSinToCos: boolean;
  downscaleFreqShift: number;
  scale?: number;
  maxPeriod?: number;
}

export interface Ops {
  /** x [B,H,W,Cin], w [kh,kw,Cin,Cout] (HWIO), bias [Cout]. */
  conv2d(x: tf.Tensor4D, w: Weight, bias: Weight | undefined, opts?: Conv2dOptions): tf.Tensor4D;
  /** x [..., in], w [in, out], bias [out]; optional activation fused after the bias. */
  linear(x: tf.Tensor, w: Weight, bias?: Weight, activation?: Activation): tf.Tensor;
  /** q [B, Lq, heads*D], k/v [B, Lk, heads*D] -> [B, Lq, heads*D]; softmax in f32 (upcast semantics always). */
  attention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, opts: AttentionOptions): tf.Tensor3D;
  /** x [B,H,W,C] (or [B,L,C]), per-channel gamma/beta, optional SiLU fused after. */
  groupNorm(x: tf.Tensor, gamma: Weight, beta: Weight, groups: number, eps: number, silu?: boolean): tf.Tensor;
  /** Normalises the last axis. */
  layerNorm(x: tf.Tensor, gamma: Weight, beta: Weight, eps: number): tf.Tensor;
  activation(x: tf.Tensor, kind: Activation): tf.Tensor;
  /** x [..., 2F] -> hidden * gelu(gate) [..., F], the halves split as diffusers' GEGLU (hidden first). */
  geglu(x: tf.Tensor): tf.Tensor;
  /** Nearest upsampling of [B,H,W,C] by 2, or to an explicit [H, W] size (as F.interpolate(size=...)). */
  upsampleNearest(x: tf.Tensor4D, size?: [number, number]): tf.Tensor4D;
  /** Concatenate along the channel (last) axis: the UNet skip connections. */
  concatChannels(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D;
  /** Sinusoidal embedding of timesteps [B] -> [B, dim], as diffusers' get_timestep_embedding. */
  timestepEmbedding(t: tf.Tensor1D, dim: number, opts: TimestepEmbeddingOptions): tf.Tensor2D;
  /** ids [B, L] int32 -> table rows [B, L, D]; table [V, D]. */
  embedding(ids: tf.Tensor2D, table: Weight): tf.Tensor3D;
  add(a: tf.Tensor, b: tf.Tensor): tf.Tensor;
}
