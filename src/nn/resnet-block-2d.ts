// diffusers' ResnetBlock2D (time_embedding_norm "default", pre-norm): GroupNorm+SiLU, conv1, plus the
// projected time embedding, GroupNorm+SiLU, conv2, plus the (1×1-projected when widths differ) input.
import * as tf from '@tensorflow/tfjs';
import type { Ops } from '../ops/types';
import { checkpointed, trainableVariables, type Checkpointable } from './checkpoint';
import { Conv2d } from './conv2d';
import { GroupNorm } from './group-norm';
import { Linear } from './linear';
import { Module } from './module';

export interface ResnetBlock2DOptions {
  inChannels: number;
  outChannels: number;
  /** Width of the time embedding; the VAE's blocks have none. */
  tembChannels: number | null;
  groups: number;
  eps: number;
  outputScaleFactor?: number;
}

export class ResnetBlock2D extends Module implements Checkpointable {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly time_emb_proj?: Linear;
  readonly norm2: GroupNorm;
  readonly conv2: Conv2d;
  readonly conv_shortcut?: Conv2d;
  private readonly outputScaleFactor: number;
  /** Recompute this block in the backward pass instead of keeping its intermediates (setGradientCheckpointing). */
  gradientCheckpointing = false;

  constructor(
    private readonly ops: Ops,
    { inChannels, outChannels, tembChannels, groups, eps, outputScaleFactor = 1 }: ResnetBlock2DOptions,
  ) {
    super();
    this.outputScaleFactor = outputScaleFactor;
    this.norm1 = this.module('norm1', new GroupNorm(ops, groups, inChannels, eps));
    this.conv1 = this.module('conv1', new Conv2d(ops, inChannels, outChannels, { kernel: 3, padding: 1 }));
    if (tembChannels !== null) this.time_emb_proj = this.module('time_emb_proj', new Linear(ops, tembChannels, outChannels));
    this.norm2 = this.module('norm2', new GroupNorm(ops, groups, outChannels, eps));
    this.conv2 = this.module('conv2', new Conv2d(ops, outChannels, outChannels, { kernel: 3, padding: 1 }));
    if (inChannels !== outChannels) {
      this.conv_shortcut = this.module('conv_shortcut', new Conv2d(ops, inChannels, outChannels, { kernel: 1 }));
    }
  }

  /**
   * x [B, H, W, in]; `tembAct` is SiLU(time embedding) [B, temb] — diffusers applies that SiLU inside every
   * block; the UNet computes it once for all of them.
   */
  forward(x: tf.Tensor4D, tembAct?: tf.Tensor2D): tf.Tensor4D {
    if (!this.gradientCheckpointing) return this.compute(x, tembAct);
    const inputs = tembAct ? [x, tembAct] : [x];
    return checkpointed(([xi, ti]) => this.compute(xi as tf.Tensor4D, ti as tf.Tensor2D | undefined), inputs, trainableVariables(this));
  }

  private compute(x: tf.Tensor4D, tembAct?: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = this.conv1.forward(this.norm1.forward(x, true));
      if (this.time_emb_proj) {
        if (!tembAct) throw new Error('ResnetBlock2D with time_emb_proj needs a time embedding');
        const [b, , , c] = h.shape;
        h = this.ops.add(h, tf.reshape(this.time_emb_proj.forward(tembAct), [b, 1, 1, c])) as tf.Tensor4D;
      }
      const shortcut = this.conv_shortcut ? this.conv_shortcut.forward(x) : x;
      const out = this.conv2.forward(this.norm2.forward(h, true), shortcut);
      // Every SD config has 1; kept because diffusers' mid_block_scale_factor is a config value.
      return this.outputScaleFactor === 1 ? out : tf.div(out, this.outputScaleFactor);
    });
  }
}
