// diffusers' Downsample2D with use_conv: a 3×3 stride-2 conv named `conv`. padding 0 (the VAE encoder's
// downsample_padding) means torch's asymmetric F.pad(x, (0, 1, 0, 1)) before an unpadded conv.
import * as tf from '@tensorflow/tfjs';
import type { Ops } from '../ops/types';
import { Conv2d } from './conv2d';
import { Module } from './module';

export class Downsample2D extends Module {
  readonly conv: Conv2d;

  constructor(
    ops: Ops,
    channels: number,
    private readonly padding: number,
  ) {
    super();
    this.conv = this.module('conv', new Conv2d(ops, channels, channels, { kernel: 3, stride: 2, padding }));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (this.padding !== 0) return this.conv.forward(x);
    return tf.tidy(() => this.conv.forward(tf.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]])));
  }
}
