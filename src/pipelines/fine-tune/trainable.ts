// Turns a loaded model's weights into trainable f32 masters (tf.Variables the tape and AdamW both see).
// Each variable owns its storage: the optimizer updates it in place.
import * as tf from '@tensorflow/tfjs';
import { unpackF16 } from '../../engine/f16-tensor';
import type { LayoutOf } from '../../models/weight-layout';
import type { Module } from '../../nn/module';

export interface TrainableWeights {
  /** Checkpoint names (diffusers keys of the UNet, or LoRA keys). */
  names: string[];
  variables: tf.Variable[];
  /** Each variable's PyTorch shape and our layout of it, for checkpoints and exports. */
  layouts: LayoutOf[];
}

/** All of `model`'s parameters (optionally those `select` keeps) as f32 variables, in namedParameters order. */
export function makeTrainable(model: Module, select: (name: string) => boolean = () => true): TrainableWeights {
  const names: string[] = [];
  const variables: tf.Variable[] = [];
  const layouts: LayoutOf[] = [];
  for (const [name, p] of model.namedParameters()) {
    if (!select(name)) continue;
    const current = p.weight;
    const master = tf.tidy(() => (current instanceof tf.Tensor ? tf.add(current, 0) : unpackF16(current)));
    const variable = tf.variable(master, true);
    master.dispose(); // the variable keeps the storage alive with a reference count of one
    p.dispose();
    p.value = variable;
    names.push(name);
    variables.push(variable);
    layouts.push({ torchShape: p.torchShape, layout: p.layout });
  }
  return { names, variables, layouts };
}
