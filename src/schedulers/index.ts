// Scheduler factory and img2img's start point. See plan.ts for the step contract.
import { resolveSchedulerConfig, type SchedulerKind } from './config';
import { DdimScheduler } from './ddim';
import { DdpmScheduler } from './ddpm';
import { DpmSolverMultistepScheduler } from './dpm-solver-multistep';
import { EulerScheduler } from './euler';
import { EulerAncestralScheduler } from './euler-ancestral';
import type { Scheduler } from './plan';
import { PndmScheduler } from './pndm';

export { addNoiseCoefficients, velocityCoefficients } from './betas';
export type { NoiseCoefficients } from './betas';
export { resolveSchedulerConfig, schedulerKindOf, SCHEDULER_KINDS } from './config';
export type { SchedulerConfig, SchedulerKind } from './config';
export type { Combo, Scheduler, SchedulerState, StepPlan, X0Transform } from './plan';
export { evaluateStepPlan } from './cpu-evaluator';

export interface CreateSchedulerOptions {
  /** snake_case overrides of the config file, e.g. { use_karras_sigmas: true } for --karras. */
  overrides?: Record<string, unknown>;
  /** DDIM only. */
  eta?: number;
}

/** Builds scheduler `kind` from a parsed scheduler_config.json (of any class) for `numInferenceSteps` steps. */
export function createScheduler(
  kind: SchedulerKind,
  configJson: Record<string, unknown>,
  numInferenceSteps: number,
  options: CreateSchedulerOptions = {},
): Scheduler {
  const config = resolveSchedulerConfig(kind, configJson, options.overrides);
  if (options.eta !== undefined && options.eta !== 0 && kind !== 'ddim') throw new Error(`eta applies to DDIM only, not ${kind}`);
  switch (kind) {
    case 'pndm':
      return new PndmScheduler(config, numInferenceSteps);
    case 'ddim':
      return new DdimScheduler(config, numInferenceSteps, { eta: options.eta ?? 0 });
    case 'ddpm':
      return new DdpmScheduler(config, numInferenceSteps);
    case 'euler':
      return new EulerScheduler(config, numInferenceSteps);
    case 'euler-a':
      return new EulerAncestralScheduler(config, numInferenceSteps);
    case 'dpmpp-2m':
      return new DpmSolverMultistepScheduler(config, numInferenceSteps);
  }
}

/**
 * img2img's start (diffusers' StableDiffusionImg2ImgPipeline.get_timesteps): skip the first
 * numInferenceSteps − int(numInferenceSteps · strength) steps. Start latents are
 * addNoiseCoefficients(beginIndex) applied to the encoded image and fresh noise; the loop then runs from
 * `scheduler.initialState(beginIndex)`, `steps` UNet calls.
 */
export function img2imgStart(scheduler: Scheduler, strength: number): { beginIndex: number; steps: number } {
  if (!(strength > 0 && strength <= 1)) throw new RangeError(`strength must be in (0, 1], got ${strength}`);
  const n = scheduler.numInferenceSteps;
  const initSteps = Math.min(Math.floor(n * strength), n);
  if (initSteps < 1) {
    throw new RangeError(`strength ${strength} with ${n} steps leaves no denoising step (needs steps · strength >= 1)`);
  }
  const beginIndex = n - initSteps; // × scheduler.order, which is 1 for all of ours
  return { beginIndex, steps: scheduler.timesteps.length - beginIndex };
}
