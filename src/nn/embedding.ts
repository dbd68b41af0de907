// torch.nn.Embedding: a [num, dim] table looked up by integer ids.
import type * as tf from '@tensorflow/tfjs';
import type { Ops } from '../ops/types';
import { Module, type Parameter } from './module';

export class Embedding extends Module {
  readonly weight: Parameter;

  constructor(
    private readonly ops: Ops,
    readonly num: number,
    readonly dim: number,
  ) {
    super();
    this.weight = this.param('weight', [num, dim], 'as-is');
  }

  forward(ids: tf.Tensor2D): tf.Tensor3D {
    return this.ops.embedding(ids, this.weight.weight);
  }
}
