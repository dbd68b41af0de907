// torch.nn.LayerNorm over the last axis.
import type * as tf from '@tensorflow/tfjs';
import type { Ops } from '../ops/types';
import { Module, type Parameter } from './module';

export class LayerNorm extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;

  constructor(
    private readonly ops: Ops,
    readonly dim: number,
    readonly eps: number,
  ) {
    super();
    this.weight = this.param('weight', [dim], 'as-is');
    this.bias = this.param('bias', [dim], 'as-is');
  }

  forward<T extends tf.Tensor>(x: T): T {
    return this.ops.layerNorm(x, this.weight.weight, this.bias.weight, this.eps) as T;
  }
}
