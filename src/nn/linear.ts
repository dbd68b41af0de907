// torch.nn.Linear: weight [out, in] in PyTorch, [in, out] on the GPU.
import type { Activation, Ops } from '../ops/types';
import * as tf from '@tensorflow/tfjs';
import { LoraSlot } from './lora';
import { Module, type Parameter } from './module';

export interface LinearOptions {
  bias?: boolean;
  /** A 1×1 nn.Conv2d used on NHWC activations: the same product over channels, stored [out, in, 1, 1]. */
  conv1x1?: boolean;
}

export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias?: Parameter;
  /** LoRA adapters (not parameters: the base model's names stay diffusers'). */
  readonly lora: LoraSlot;

  constructor(
    private readonly ops: Ops,
    readonly inFeatures: number,
    readonly outFeatures: number,
    { bias = true, conv1x1 = false }: LinearOptions = {},
  ) {
    super();
    this.weight = this.param('weight', conv1x1 ? [outFeatures, inFeatures, 1, 1] : [outFeatures, inFeatures], 'linear');
    if (bias) this.bias = this.param('bias', [outFeatures], 'as-is');
    this.lora = new LoraSlot('linear', this.weight);
  }

  forward(x: tf.Tensor, activation: Activation = 'none'): tf.Tensor {
    const { ops } = this;
    if (this.lora.empty) return ops.linear(x, this.weight.weight, this.bias?.weight, activation);
    return tf.tidy(() => {
      // The activation applies to the sum, so it cannot stay fused into the base product.
      const y = this.lora.addLinear(ops, x, ops.linear(x, this.weight.weight, this.bias?.weight));
      return activation === 'none' ? y : ops.activation(y, activation);
    });
  }

  dispose(): void {
    super.dispose();
    this.lora.dispose();
  }
}
