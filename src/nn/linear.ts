// torch.nn.Linear: weight [out, in] in PyTorch, [in, out] on the GPU.
import type { Activation, Ops } from '../ops/types';
import type * as tf from '@tensorflow/tfjs';
import { Module, type Parameter } from './module';

export interface LinearOptions {
  bias?: boolean;
  /** A 1×1 nn.Conv2d used on NHWC activations: the same product over channels, stored [out, in, 1, 1]. */
  conv1x1?: boolean;
}

export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias?: Parameter;

  constructor(
    private readonly ops: Ops,
    readonly inFeatures: number,
    readonly outFeatures: number,
    { bias = true, conv1x1 = false }: LinearOptions = {},
  ) {
    super();
    this.weight = this.param('weight', conv1x1 ? [outFeatures, inFeatures, 1, 1] : [outFeatures, inFeatures], 'linear');
    if (bias) this.bias = this.param('bias', [outFeatures], 'as-is');
  }

  forward(x: tf.Tensor, activation?: Activation): tf.Tensor {
    return this.ops.linear(x, this.weight.weight, this.bias?.weight, activation);
  }
}
