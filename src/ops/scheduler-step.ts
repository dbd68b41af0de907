// One scheduler step on the GPU: evaluates a StepPlan (src/schedulers/plan.ts) in a single dispatch with
// classifier-free guidance folded in; history slots are updated in place. The CPU twin is
// src/schedulers/cpu-evaluator.ts.
import * as tf from '@tensorflow/tfjs';
import { engine } from '../engine/engine';
import { flatGrid } from '../engine/grid';
import type { Combo, StepPlan } from '../schedulers/plan';

const MAX_SLOTS = 8;

export interface GpuStepInputs {
  sample: tf.Tensor;
  /** The UNet's output: [B, ...] already guided, or the CFG batch [2B, ...] = [uncond; cond] with `guidance`. */
  model: tf.Tensor;
  guidance?: number;
  /** [slots, ...sample.shape], owned by the caller and updated in place. */
  history?: tf.Tensor;
  /** Standard normal noise shaped like the sample, when the plan injects noise. */
  noise?: tf.Tensor;
}

function comboValues(c: Combo): number[] {
  return [c.sample, c.model, ...c.history, c.x0, c.noise];
}

/** The coefficient table the kernel reads (layout in shaders/scheduler-step.wgsl). */
export function stepCoefficients(plan: StepPlan): Float32Array {
  const slots = plan.out.history.length;
  const perSlot = Array.from({ length: slots }, (_, k) => {
    const write = plan.historyWrites.find((w) => w.slot === k);
    return write ? [1, ...comboValues(write.value)] : new Array<number>(slots + 5).fill(0);
  });
  return Float32Array.from([...comboValues(plan.x0), ...comboValues(plan.out), ...perSlot.flat()]);
}

export function schedulerStep(plan: StepPlan, inputs: GpuStepInputs): { sample: tf.Tensor; x0: tf.Tensor } {
  const { sample, model, history, noise } = inputs;
  const n = sample.size;
  const slots = plan.out.history.length;
  const cfg = inputs.guidance !== undefined;
  if (slots > MAX_SLOTS) throw new Error(`scheduler-step supports up to ${MAX_SLOTS} history slots, the plan has ${slots}`);
  if (plan.x0Transform.kind === 'threshold') throw new Error('dynamic thresholding is not supported by the GPU step (use the CPU evaluator)');
  if (model.size !== (cfg ? 2 * n : n)) throw new Error(`model output has ${model.size} elements; expected ${cfg ? 2 * n : n}${cfg ? ' (CFG batch)' : ''}`);
  if (slots > 0 && history?.size !== slots * n) throw new Error(`the plan needs a history tensor of ${slots} × ${n} elements`);
  if (plan.out.noise !== 0 && noise?.size !== n) throw new Error('this step injects noise: give a noise tensor shaped like the sample');
  const e = engine();
  const grid = flatGrid(n, 256, e.limits.maxComputeWorkgroupsPerDimension);
  return tf.tidy(() => {
    const coef = tf.tensor1d(stepCoefficients(plan));
    const noiseIn = plan.out.noise !== 0 ? noise! : tf.zeros([1]);
    const historyOut = history ?? tf.zeros([1]);
    const [next, x0] = e.kernels.run('scheduler-step', {}, {
      inputs: [sample, model, noiseIn, coef],
      outputs: [{ shape: sample.shape }, { shape: sample.shape }, { inPlace: historyOut }],
      uniforms: [
        ['u32', n], ['u32', slots], ['f32', inputs.guidance ?? 0], ['u32', cfg ? 1 : 0],
        ['u32', plan.x0Transform.kind === 'clamp' ? 1 : 0], ['f32', plan.x0Transform.kind === 'clamp' ? plan.x0Transform.range : 0],
        ['u32', grid[0]],
      ],
      workgroups: grid,
    });
    return { sample: next, x0 };
  });
}
