// torch.nn.Conv2d with symmetric padding: weight OIHW in PyTorch, HWIO on the GPU; activations NHWC.
import type * as tf from '@tensorflow/tfjs';
import type { Ops } from '../ops/types';
import { Module, type Parameter } from './module';

export interface Conv2dOptions {
  kernel?: number;
  stride?: 1 | 2;
  padding?: number;
}

export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  readonly stride: 1 | 2;
  readonly padding: number;

  constructor(
    private readonly ops: Ops,
    readonly inChannels: number,
    readonly outChannels: number,
    { kernel = 3, stride = 1, padding = 0 }: Conv2dOptions = {},
  ) {
    super();
    this.stride = stride;
    this.padding = padding;
    this.weight = this.param('weight', [outChannels, inChannels, kernel, kernel], 'conv');
    this.bias = this.param('bias', [outChannels], 'as-is');
  }

  /** `residual` is added after the bias (fused into the conv where the kernel can). */
  forward(x: tf.Tensor4D, residual?: tf.Tensor4D): tf.Tensor4D {
    return this.ops.conv2d(x, this.weight.weight, this.bias.weight, { stride: this.stride, padding: this.padding, residual });
  }
}
