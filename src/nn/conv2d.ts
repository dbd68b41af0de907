// torch.nn.Conv2d with symmetric padding: weight OIHW in PyTorch, HWIO on the GPU; activations NHWC.
import * as tf from '@tensorflow/tfjs';
import type { Ops } from '../ops/types';
import { LoraSlot } from './lora';
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
  /** LoRA adapters (not parameters: the base model's names stay diffusers'). */
  readonly lora: LoraSlot;

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
    this.lora = new LoraSlot('conv', this.weight);
  }

  /** `residual` is added after the bias (fused into the conv where the kernel can). */
  forward(x: tf.Tensor4D, residual?: tf.Tensor4D): tf.Tensor4D {
    const { ops, stride, padding } = this;
    const base = () => ops.conv2d(x, this.weight.weight, this.bias.weight, { stride, padding, residual });
    return this.lora.empty ? base() : tf.tidy(() => this.lora.addConv(ops, x, base(), stride, padding));
  }

  dispose(): void {
    super.dispose();
    this.lora.dispose();
  }
}
