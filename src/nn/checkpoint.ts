// Gradient checkpointing (DESIGN decision 4): a whole block's forward as ONE tf.customGrad that keeps only its
// inputs; the gradient recomputes the block under a fresh tape and backpropagates through that. The tape of
// an uncheckpointed block holds every intermediate until the backward pass reaches it; a checkpointed one
// holds its inputs, and one block's intermediates live at a time during the backward pass.
import * as tf from '@tensorflow/tfjs';
import { isTrainable } from '../ops/autodiff';
import { loraAdapters } from './lora';
import type { Module } from './module';

/** A block that can run checkpointed (ResnetBlock2D, BasicTransformerBlock). */
export interface Checkpointable {
  gradientCheckpointing: boolean;
}

function isCheckpointable(m: Module): m is Module & Checkpointable {
  return typeof (m as Partial<Checkpointable>).gradientCheckpointing === 'boolean';
}

/** Switches checkpointing on or off for every checkpointable block under `model`; returns how many there are. */
export function setGradientCheckpointing(model: Module, on: boolean): number {
  let n = 0;
  for (const [, m] of model.namedModules()) {
    if (!isCheckpointable(m)) continue;
    m.gradientCheckpointing = on;
    n++;
  }
  return n;
}

/** The trainable variables a module's forward reads: its trainable parameters and its LoRA adapters. */
export function trainableVariables(model: Module): tf.Variable[] {
  const out: tf.Variable[] = [];
  for (const [, p] of model.namedParameters()) if (isTrainable(p.value)) out.push(p.value);
  for (const a of loraAdapters(model)) {
    if (a.merged) continue;
    for (const t of [a.down, a.up]) if (isTrainable(t)) out.push(t);
  }
  return out;
}

/**
 * `fn(inputs)` with its gradient by recomputation. `params` must list every trainable variable `fn` reads
 * (frozen weights need not be listed: they get no gradient). Outside a gradient tape `fn` runs directly.
 * Works with any Ops: the recomputed forward is differentiated by whatever gradients its ops define.
 */
export function checkpointed<T extends tf.Tensor>(fn: (inputs: tf.Tensor[]) => T, inputs: tf.Tensor[], params: readonly tf.Variable[]): T {
  if (!tf.engine().isTapeOn()) return fn(inputs);
  const trainable = params.filter(isTrainable);
  const n = inputs.length;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const given = args as tf.Tensor[];
    // The inputs and the (long-lived) trainable weights: nothing computed inside the block is kept.
    save(given);
    return {
      // The engine runs this with the tape paused and frees the intermediates when it returns.
      value: fn(given.slice(0, n)),
      gradFunc: (dy: T, saved: tf.Tensor[]) => tf.tidy(() => recomputeGrads(fn, saved.slice(0, n), trainable, dy)),
    };
  });
  return op(...inputs, ...trainable) as T;
}

function recomputeGrads<T extends tf.Tensor>(fn: (inputs: tf.Tensor[]) => T, xs: tf.Tensor[], params: tf.Variable[], dy: T): tf.Tensor[] {
  const wrt = [...xs, ...params];
  // A gradient pass inside a gradient function: tfjs's engine.gradients() starts its tape with
  // `activeTape = []` and ends it with `activeTape = null` when the gradient depth is back to 0, which is
  // where the outer backward pass runs — and the outer pass then cleans up ITS tape through that field.
  // Keep the outer tape aside and put it back, so both passes free what they recorded.
  const state = tf.engine().state;
  const outer = state.activeTape;
  try {
    // The weights are read through the modules (the same Variable objects), the activations are the saved inputs.
    const { value, grads } = tf.engine().gradients(() => fn(xs), wrt, dy, true);
    value.dispose();
    return grads.map((g, i) => g ?? tf.zerosLike(wrt[i]));
  } finally {
    state.activeTape = outer;
  }
}
