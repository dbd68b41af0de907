// A fine-tuning run's settings. Defaults are the reference recipe (diffusers' train_text_to_image.py on
// SD 1.5): batch 1 × accumulation 8, 1 epoch, AdamW lr 1e-6 (1e-4 for LoRA), 512 px, fp16 mixed precision,
// gradient checkpointing, a checkpoint every 500 steps, seed 42.
export type TrainMode = 'full' | 'lora';
export type LrScheduleKind = 'constant' | 'constant-warmup' | 'cosine';

export interface TrainConfig {
  mode: TrainMode;
  /** LoRA rank and alpha (the update is scaled by alpha / rank). */
  rank: number;
  alpha: number;
  /** LoRA targets: attention projections by default; feed-forward and convs optionally. */
  loraTargets: { attention: boolean; feedForward: boolean; convs: boolean };
  /** Optimizer steps; when absent, `epochs` over the dataset decides. */
  steps?: number;
  epochs: number;
  batch: number;
  accum: number;
  lr: number;
  lrSchedule: LrScheduleKind;
  warmup: number;
  adam: { beta1: number; beta2: number; eps: number; weightDecay: number };
  maxGradNorm: number;
  resolution: number;
  flip: boolean;
  seed: number;
  checkpointEvery: number;
  keep: number;
  mixedPrecision: boolean;
  gradCheckpointing: boolean;
  /** Min-SNR-γ loss weighting (0 = off; 5 is the paper's choice). */
  minSnrGamma: number;
  noiseOffset: number;
  captionTemplate: string;
  validationEvery: number;
  validationPrompts: string[];
  /** Denoising steps of each validation image. */
  validationSteps: number;
}

export function defaultTrainConfig(mode: TrainMode = 'full'): TrainConfig {
  return {
    mode,
    rank: 4,
    alpha: 4,
    loraTargets: { attention: true, feedForward: false, convs: false },
    epochs: 1,
    batch: 1,
    accum: 8,
    lr: mode === 'lora' ? 1e-4 : 1e-6,
    lrSchedule: 'constant',
    warmup: 0,
    adam: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2 },
    maxGradNorm: 1,
    resolution: 512,
    flip: false,
    seed: 42,
    checkpointEvery: 500,
    keep: 3,
    mixedPrecision: true,
    gradCheckpointing: true,
    minSnrGamma: 0,
    noiseOffset: 0,
    captionTemplate: 'sketch of {name}',
    validationEvery: 0,
    validationPrompts: ['sketch of a cat', 'sketch of a house'],
    validationSteps: 20,
  };
}

/** Every setting checked, with an error naming the one that is wrong. */
export function validateTrainConfig(c: TrainConfig): void {
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  };
  positiveInt('batch', c.batch);
  positiveInt('accum', c.accum);
  positiveInt('epochs', c.epochs);
  positiveInt('checkpoint-every', c.checkpointEvery);
  positiveInt('keep', c.keep);
  if (c.steps !== undefined) positiveInt('steps', c.steps);
  if (c.mode === 'lora') {
    positiveInt('rank', c.rank);
    if (!Object.values(c.loraTargets).some(Boolean)) throw new RangeError('LoRA needs at least one target: attention, feed-forward or convolutions');
  }
  if (!(c.lr > 0 && c.lr < 1)) throw new RangeError(`lr must be in (0, 1), got ${c.lr}`);
  if (!Number.isInteger(c.warmup) || c.warmup < 0) throw new RangeError(`warmup must be a non-negative integer, got ${c.warmup}`);
  if (c.resolution % 8 !== 0 || c.resolution < 32) throw new RangeError(`resolution must be a multiple of 8 and at least 32, got ${c.resolution}`);
  if (c.minSnrGamma < 0) throw new RangeError(`min-snr must be ≥ 0, got ${c.minSnrGamma}`);
  if (!Number.isInteger(c.validationEvery) || c.validationEvery < 0) throw new RangeError(`validation-every must be a non-negative integer, got ${c.validationEvery}`);
  if (c.validationEvery > 0) {
    positiveInt('validation-steps', c.validationSteps);
    if (c.validationPrompts.length === 0) throw new RangeError('validation images need at least one prompt');
  }
  if (!c.captionTemplate.includes('{name}')) throw new RangeError(`caption template "${c.captionTemplate}" has no {name}`);
}
