// diffusers' FeedForward with activation_fn "geglu": net.0 = GEGLU (its `proj` makes hidden and gate),
// net.1 = Dropout, net.2 = Linear back to dim.
import * as tf from '@tensorflow/tfjs';
import type { Ops } from '../ops/types';
import { Linear } from './linear';
import { Module } from './module';

class GEGLU extends Module {
  readonly proj: Linear;

  constructor(
    private readonly ops: Ops,
    dimIn: number,
    dimOut: number,
  ) {
    super();
    this.proj = this.module('proj', new Linear(ops, dimIn, dimOut * 2));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.ops.geglu(this.proj.forward(x)));
  }
}

export class FeedForward extends Module {
  private readonly geglu: GEGLU;
  private readonly out: Linear;

  constructor(ops: Ops, dim: number, mult = 4) {
    super();
    const inner = dim * mult;
    // net.1 is a Dropout: no parameters, nothing to do at inference.
    this.geglu = this.module('net.0', new GEGLU(ops, dim, inner));
    this.out = this.module('net.2', new Linear(ops, inner, dim));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.out.forward(this.geglu.forward(x)));
  }
}
