// diffusers' Upsample2D with use_conv: nearest 2× (or to the skip connection's size), then a 3×3 conv.
import * as tf from '@tensorflow/tfjs';
import type { Ops } from '../ops/types';
import { Conv2d } from './conv2d';
import { Module } from './module';

export class Upsample2D extends Module {
  readonly conv: Conv2d;

  constructor(
    private readonly ops: Ops,
    channels: number,
  ) {
    super();
    this.conv = this.module('conv', new Conv2d(ops, channels, channels, { kernel: 3, padding: 1 }));
  }

  /** `size` [H, W]: upsample to it instead of 2× (odd latent sizes, diffusers' forward_upsample_size). */
  forward(x: tf.Tensor4D, size?: [number, number]): tf.Tensor4D {
    return tf.tidy(() => this.conv.forward(this.ops.upsampleNearest(x, size)));
  }
}
