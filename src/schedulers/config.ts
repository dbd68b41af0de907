// scheduler_config.json -> a resolved config for one of our schedulers, with diffusers' `from_config`
// semantics: keys the file has are used, keys it lacks (or lists in `_use_default_values`) take the target
// class's defaults. So SD 1.5's PNDM file gives Euler `timestep_spacing: "linspace"`, as in diffusers.
import type { BetaSchedule } from './betas';

export type SchedulerKind = 'pndm' | 'ddim' | 'euler' | 'euler-a' | 'dpmpp-2m' | 'ddpm';
export const SCHEDULER_KINDS: readonly SchedulerKind[] = ['pndm', 'ddim', 'euler', 'euler-a', 'dpmpp-2m', 'ddpm'];

export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

export interface SchedulerConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: BetaSchedule;
  trainedBetas: number[] | null;
  rescaleBetasZeroSnr: boolean;
  predictionType: PredictionType;
  timestepSpacing: TimestepSpacing;
  stepsOffset: number;
  /** DDIM, PNDM: ᾱ "before" timestep 0 is 1 (true) or ᾱ_0 (false). */
  setAlphaToOne: boolean;
  /** PNDM: only the PLMS variant (skip_prk_steps) is implemented. */
  skipPrkSteps: boolean;
  /** DDIM, DDPM: clamp the x0 prediction to ±clipSampleRange. */
  clipSample: boolean;
  clipSampleRange: number;
  /** DDIM, DDPM, DPM++: dynamic thresholding of the x0 prediction (Imagen). */
  thresholding: boolean;
  dynamicThresholdingRatio: number;
  sampleMaxValue: number;
  /** DDPM. */
  varianceType: 'fixed_small' | 'fixed_small_log' | 'fixed_large';
  /** Euler, DPM++. */
  useKarrasSigmas: boolean;
  finalSigmasType: 'zero' | 'sigma_min';
  /** Euler: overrides of the Karras endpoints. */
  sigmaMin: number | null;
  sigmaMax: number | null;
  /** DPM++. */
  solverOrder: 1 | 2;
  solverType: 'midpoint' | 'heun';
  lowerOrderFinal: boolean;
  eulerAtFinal: boolean;
  lambdaMinClipped: number;
}

type Defaults = Partial<SchedulerConfig>;

const COMMON: SchedulerConfig = {
  numTrainTimesteps: 1000,
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: 'linear',
  trainedBetas: null,
  rescaleBetasZeroSnr: false,
  predictionType: 'epsilon',
  timestepSpacing: 'leading',
  stepsOffset: 0,
  setAlphaToOne: false,
  skipPrkSteps: false,
  clipSample: false,
  clipSampleRange: 1,
  thresholding: false,
  dynamicThresholdingRatio: 0.995,
  sampleMaxValue: 1,
  varianceType: 'fixed_small',
  useKarrasSigmas: false,
  finalSigmasType: 'zero',
  sigmaMin: null,
  sigmaMax: null,
  solverOrder: 2,
  solverType: 'midpoint',
  lowerOrderFinal: true,
  eulerAtFinal: false,
  lambdaMinClipped: -Infinity,
};

/** diffusers 0.30.3 __init__ defaults that differ from COMMON. */
const CLASS_DEFAULTS: Record<SchedulerKind, Defaults> = {
  pndm: {},
  ddim: { clipSample: true, setAlphaToOne: true },
  ddpm: { clipSample: true },
  euler: { timestepSpacing: 'linspace' },
  'euler-a': { timestepSpacing: 'linspace' },
  'dpmpp-2m': { timestepSpacing: 'linspace' },
};

const CLASS_NAMES: Record<string, SchedulerKind> = {
  PNDMScheduler: 'pndm',
  DDIMScheduler: 'ddim',
  EulerDiscreteScheduler: 'euler',
  EulerAncestralDiscreteScheduler: 'euler-a',
  DPMSolverMultistepScheduler: 'dpmpp-2m',
  DDPMScheduler: 'ddpm',
};

/** The scheduler a model ships with (its `_class_name`). */
export function schedulerKindOf(json: Record<string, unknown>): SchedulerKind {
  const name = json['_class_name'];
  const kind = typeof name === 'string' ? CLASS_NAMES[name] : undefined;
  if (!kind) {
    throw new Error(
      `scheduler_config.json: _class_name ${JSON.stringify(name)} is not supported (one of ${Object.keys(CLASS_NAMES).join(', ')})`,
    );
  }
  return kind;
}

const KEYS: Record<keyof SchedulerConfig, string> = {
  numTrainTimesteps: 'num_train_timesteps',
  betaStart: 'beta_start',
  betaEnd: 'beta_end',
  betaSchedule: 'beta_schedule',
  trainedBetas: 'trained_betas',
  rescaleBetasZeroSnr: 'rescale_betas_zero_snr',
  predictionType: 'prediction_type',
  timestepSpacing: 'timestep_spacing',
  stepsOffset: 'steps_offset',
  setAlphaToOne: 'set_alpha_to_one',
  skipPrkSteps: 'skip_prk_steps',
  clipSample: 'clip_sample',
  clipSampleRange: 'clip_sample_range',
  thresholding: 'thresholding',
  dynamicThresholdingRatio: 'dynamic_thresholding_ratio',
  sampleMaxValue: 'sample_max_value',
  varianceType: 'variance_type',
  useKarrasSigmas: 'use_karras_sigmas',
  finalSigmasType: 'final_sigmas_type',
  sigmaMin: 'sigma_min',
  sigmaMax: 'sigma_max',
  solverOrder: 'solver_order',
  solverType: 'solver_type',
  lowerOrderFinal: 'lower_order_final',
  eulerAtFinal: 'euler_at_final',
  lambdaMinClipped: 'lambda_min_clipped',
};

const CHOICES: Partial<Record<keyof SchedulerConfig, readonly unknown[]>> = {
  betaSchedule: ['linear', 'scaled_linear', 'squaredcos_cap_v2'],
  predictionType: ['epsilon', 'v_prediction', 'sample'],
  timestepSpacing: ['leading', 'trailing', 'linspace'],
  varianceType: ['fixed_small', 'fixed_small_log', 'fixed_large'],
  finalSigmasType: ['zero', 'sigma_min'],
  solverOrder: [1, 2],
  solverType: ['midpoint', 'heun'],
};

/**
 * Resolves `json` (a parsed scheduler_config.json, any class) for scheduler `kind`; `overrides` use the same
 * snake_case keys (e.g. `{ use_karras_sigmas: true }`) and win over the file.
 */
export function resolveSchedulerConfig(
  kind: SchedulerKind,
  json: Record<string, unknown>,
  overrides: Record<string, unknown> = {},
): SchedulerConfig {
  const usedDefaults = new Set(Array.isArray(json['_use_default_values']) ? (json['_use_default_values'] as string[]) : []);
  const merged: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) if (!usedDefaults.has(k)) merged[k] = v;
  Object.assign(merged, overrides);

  const config: SchedulerConfig = { ...COMMON, ...CLASS_DEFAULTS[kind] };
  const target = config as unknown as Record<string, unknown>;
  for (const field of Object.keys(KEYS) as (keyof SchedulerConfig)[]) {
    const key = KEYS[field];
    const value = merged[key];
    // JSON null means "the default" for the nullable fields, as in Python.
    if (value === undefined || value === null) continue;
    const expected = typeof COMMON[field];
    const nullable = COMMON[field] === null;
    const ok = nullable ? (field === 'trainedBetas' ? Array.isArray(value) : typeof value === 'number') : typeof value === expected;
    if (!ok) throw new Error(`scheduler config: ${key} must be ${nullable ? 'a number/array or null' : `a ${expected}`}, got ${JSON.stringify(value)}`);
    const choices = CHOICES[field];
    if (choices && !choices.includes(value)) {
      throw new Error(`scheduler config: ${key} ${JSON.stringify(value)} is not supported (one of ${choices.map((c) => JSON.stringify(c)).join(', ')})`);
    }
    target[field] = value;
  }
  checkUnsupported(kind, merged, config);
  return config;
}

/** Options diffusers has that we do not implement: refuse them rather than silently sampling differently. */
function checkUnsupported(kind: SchedulerKind, json: Record<string, unknown>, c: SchedulerConfig): void {
  const refuse = (why: string): never => {
    throw new Error(`scheduler config (${kind}): ${why} is not supported`);
  };
  if (!Number.isInteger(c.numTrainTimesteps) || c.numTrainTimesteps < 2) refuse(`num_train_timesteps ${c.numTrainTimesteps}`);
  if (c.trainedBetas && c.trainedBetas.length !== c.numTrainTimesteps) refuse('trained_betas of a length other than num_train_timesteps');
  if (kind === 'pndm') {
    if (!c.skipPrkSteps) refuse('skip_prk_steps=false (the Runge-Kutta warm-up)');
    if (c.predictionType === 'sample') refuse('prediction_type "sample"');
  }
  if (kind === 'euler-a' && c.predictionType === 'sample') refuse('prediction_type "sample"');
  if (kind === 'euler') {
    if ((json['interpolation_type'] ?? 'linear') !== 'linear') refuse(`interpolation_type ${JSON.stringify(json['interpolation_type'])}`);
    if ((json['timestep_type'] ?? 'discrete') !== 'discrete') refuse(`timestep_type ${JSON.stringify(json['timestep_type'])}`);
  }
  if (kind === 'dpmpp-2m') {
    const algorithm = json['algorithm_type'] ?? 'dpmsolver++';
    if (algorithm !== 'dpmsolver++') refuse(`algorithm_type ${JSON.stringify(algorithm)} (only "dpmsolver++")`);
    if (json['use_lu_lambdas'] === true) refuse('use_lu_lambdas');
  }
}
