// diffusers' TimestepEmbedding: linear_1, SiLU, linear_2 on the sinusoidal projection of the timesteps.
import * as tf from '@tensorflow/tfjs';
import type { Ops } from '../ops/types';
import { Linear } from './linear';
import { Module } from './module';

export class TimestepEmbedding extends Module {
  readonly linear_1: Linear;
  readonly linear_2: Linear;

  constructor(ops: Ops, inChannels: number, timeEmbedDim: number) {
    super();
    this.linear_1 = this.module('linear_1', new Linear(ops, inChannels, timeEmbedDim));
    this.linear_2 = this.module('linear_2', new Linear(ops, timeEmbedDim, timeEmbedDim));
  }

  forward(sample: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.linear_2.forward(this.linear_1.forward(sample, 'silu')) as tf.Tensor2D);
  }
}
