// torch.nn.GroupNorm (affine) over the channel axis of NHWC or [B, L, C] activations.
import type * as tf from '@tensorflow/tfjs';
import type { Ops } from '../ops/types';
import { Module, type Parameter } from './module';

export class GroupNorm extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;

  constructor(
    private readonly ops: Ops,
    readonly numGroups: number,
    readonly numChannels: number,
    readonly eps: number,
  ) {
    super();
    if (numChannels % numGroups !== 0) {
      throw new Error(`GroupNorm: ${numChannels} channels cannot be split into ${numGroups} groups`);
    }
    this.weight = this.param('weight', [numChannels], 'as-is');
    this.bias = this.param('bias', [numChannels], 'as-is');
  }

  /** `silu` fuses the activation that follows almost every GroupNorm in these models. */
  forward<T extends tf.Tensor>(x: T, silu = false): T {
    return this.ops.groupNorm(x, this.weight.weight, this.bias.weight, this.numGroups, this.eps, silu) as T;
  }
}
