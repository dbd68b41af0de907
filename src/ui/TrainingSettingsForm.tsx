// Hyperparameters with the reference recipe as defaults (the advanced ones folded), and what a run
// would cost in steps, checkpoint storage and GPU memory.
import { useId } from 'react';
import { defaultTrainConfig, type TrainConfig } from '../pipelines/fine-tune/train-config';
import type { TrainingPlan } from '../pipelines/fine-tune/training-plan';
import type { ModelInfo, TrainParams } from '../worker/messages';
import { formatBytes, formatCount } from './format';
import { CheckField, NumberField, SelectField } from './NumberField';

export interface TrainingSettings {
  mode: 'full' | 'lora';
  resolution: number;
  batch: number;
  accumulation: number;
  epochs: number;
  /** Optimizer steps; 0 = as many as the epochs take. */
  steps: number;
  lrFull: number;
  lrLora: number;
  loraRank: number;
  loraAlpha: number;
  /** Which UNet modules LoRA adapts. */
  loraTargets: TrainConfig['loraTargets'];
  checkpointEvery: number;
  keepCheckpoints: number;
  seed: number;
  schedule: 'constant' | 'constant-warmup' | 'cosine';
  warmupSteps: number;
  weightDecay: number;
  clipNorm: number;
  mixedPrecision: boolean;
  gradientCheckpointing: boolean;
  noiseOffset: number;
  minSnrGamma: number;
  flip: boolean;
  validateEvery: number;
  validationSteps: number;
  /** One prompt a line, as typed. */
  validationPrompts: string;
}

/** The reference recipe (DEVELOPERS.md): SD 1.5 UNet, batch 1 × 8 accumulation, 1 epoch, lr 1e-6, 512 px. */
export const REFERENCE_RECIPE: TrainingSettings = {
  mode: 'full',
  resolution: 512,
  batch: 1,
  accumulation: 8,
  epochs: 1,
  steps: 0,
  lrFull: 1e-6,
  lrLora: 1e-4,
  loraRank: 4,
  loraAlpha: 4,
  loraTargets: { attention: true, feedForward: false, convs: false },
  checkpointEvery: 500,
  keepCheckpoints: 3,
  seed: 42,
  schedule: 'constant',
  warmupSteps: 0,
  weightDecay: 1e-2,
  clipNorm: 1,
  mixedPrecision: true,
  gradientCheckpointing: false,
  noiseOffset: 0,
  minSnrGamma: 0,
  flip: false,
  validateEvery: 0,
  validationSteps: defaultTrainConfig().validationSteps,
  validationPrompts: defaultTrainConfig().validationPrompts.join('\n'),
};

/** The run's settings as the trainer takes them. */
export function trainConfigOf(t: TrainingSettings, captionTemplate: string): Extract<TrainParams, { kind: 'new' }>['config'] {
  return {
    mode: t.mode,
    rank: t.loraRank,
    alpha: t.loraAlpha,
    loraTargets: t.loraTargets,
    epochs: t.epochs,
    steps: t.steps > 0 ? t.steps : undefined,
    batch: t.batch,
    accum: t.accumulation,
    lr: t.mode === 'full' ? t.lrFull : t.lrLora,
    lrSchedule: t.schedule,
    warmup: t.warmupSteps,
    adam: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: t.weightDecay },
    maxGradNorm: t.clipNorm,
    resolution: t.resolution,
    flip: t.flip,
    seed: t.seed,
    checkpointEvery: t.checkpointEvery,
    keep: t.keepCheckpoints,
    mixedPrecision: t.mixedPrecision,
    gradCheckpointing: t.gradientCheckpointing,
    minSnrGamma: t.minSnrGamma,
    noiseOffset: t.noiseOffset,
    captionTemplate,
    validationEvery: t.validateEvery,
    validationSteps: t.validationSteps,
    validationPrompts: validationPrompts(t),
  };
}

function validationPrompts(t: TrainingSettings): string[] {
  return t.validationPrompts
    .split('\n')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/** The plan's settings: the page asks the worker for the plan of these on the loaded model. */
export function planParamsOf(t: TrainingSettings) {
  return { mode: t.mode, rank: t.loraRank, loraTargets: t.loraTargets, resolution: t.resolution, batch: t.batch, gradCheckpointing: t.gradientCheckpointing };
}

/** What the worker planned for the current settings, or why it could not. */
export type PlanState = { plan: TrainingPlan } | { error: string } | undefined;

const LORA_TARGETS: [keyof TrainConfig['loraTargets'], string][] = [
  ['attention', 'attention (to_q, to_k, to_v, to_out)'],
  ['feedForward', 'feed-forward (ff.net)'],
  ['convs', 'convolutions (resnets, proj_in/out)'],
];

function Estimate({ t, images, model, plan }: { t: TrainingSettings; images: number; model: ModelInfo | undefined; plan: PlanState }) {
  const steps = t.steps > 0 ? t.steps : Math.ceil((images * t.epochs) / (t.batch * t.accumulation));
  const unet = model?.components.find((c) => c.name === 'unet')?.parameters;
  const adapters = plan && 'plan' in plan && t.mode === 'lora' ? plan.plan.trainableParams : undefined;
  const checkpoints = Math.min(t.keepCheckpoints, Math.max(1, Math.floor(steps / t.checkpointEvery)));
  return (
    <div className="estimate" data-testid="estimate">
      <p>
        {t.steps > 0
          ? `${t.steps} step${t.steps === 1 ? '' : 's'} as set`
          : `${images} images × ${t.epochs} epoch${t.epochs === 1 ? '' : 's'} ÷ (batch ${t.batch} × accumulation ${t.accumulation})`}{' '}
        = <strong>{steps} optimizer step{steps === 1 ? '' : 's'}</strong>
      </p>
      {t.mode === 'full' && unet !== undefined && (
        <p>
          Storage: {checkpoints} checkpoint{checkpoints === 1 ? '' : 's'} of {formatBytes(unet * 2)} (f16 UNet) + {formatBytes(unet * 12)} of resume
          state (f32 master weights and two AdamW moments) with the newest.
        </p>
      )}
      {adapters !== undefined && (
        <p>
          Storage: {checkpoints} checkpoint{checkpoints === 1 ? '' : 's'} of {formatBytes(adapters * 2)} (f16 adapters, {formatCount(adapters)} parameters at
          rank {t.loraRank}) + {formatBytes(adapters * 12)} of resume state (f32 adapters and two AdamW moments) with the newest.
        </p>
      )}
      {plan && 'plan' in plan && (
        <p>
          GPU memory plan: about {formatBytes(plan.plan.peak)} (frozen weights {formatBytes(plan.plan.frozenWeights)}, trainable state{' '}
          {formatBytes(plan.plan.trainableState)}, activations {formatBytes(plan.plan.activations)}); compare it with the memory budget.
        </p>
      )}
      {plan && 'error' in plan && <p className="hint">No memory plan: {plan.error}</p>}
      {model === undefined && <p className="hint">Load a model to estimate checkpoint storage and GPU memory.</p>}
      <p className="hint">Time: measured on the first step; the ETA follows from it.</p>
    </div>
  );
}

export function TrainingSettingsForm({
  t,
  onChange,
  images,
  model,
  plan,
}: {
  t: TrainingSettings;
  onChange: (t: TrainingSettings) => void;
  images: number;
  model: ModelInfo | undefined;
  plan: PlanState;
}) {
  const set = <K extends keyof TrainingSettings>(key: K) => (value: TrainingSettings[K]) => onChange({ ...t, [key]: value });
  const promptsId = useId();
  return (
    <fieldset>
      <legend>Training</legend>
      <div className="grid2">
        <SelectField
          label="Mode"
          value={t.mode}
          options={[
            ['full', 'full UNet (the reference recipe)'],
            ['lora', 'LoRA (small, fits smaller GPUs)'],
          ]}
          onChange={set('mode')}
        />
        <NumberField label="Resolution (px; 512, 384 or 256 for SD)" min={32} max={1024} step={8} value={t.resolution} onChange={set('resolution')} />
        {t.mode === 'full' ? (
          <NumberField label="Learning rate" min={0} step={1e-7} value={t.lrFull} onChange={set('lrFull')} />
        ) : (
          <NumberField label="Learning rate" min={0} step={1e-5} value={t.lrLora} onChange={set('lrLora')} />
        )}
        <NumberField label="Epochs" min={1} value={t.epochs} onChange={set('epochs')} />
        <NumberField label="Steps (0 = by epochs)" min={0} value={t.steps} onChange={set('steps')} />
        <NumberField label="Batch size" min={1} max={16} value={t.batch} onChange={set('batch')} />
        <NumberField label="Gradient accumulation" min={1} max={64} value={t.accumulation} onChange={set('accumulation')} />
        <NumberField label="Checkpoint every (steps)" min={1} value={t.checkpointEvery} onChange={set('checkpointEvery')} />
        <NumberField label="Seed" min={0} value={t.seed} onChange={set('seed')} />
        {t.mode === 'lora' && (
          <>
            <NumberField label="LoRA rank" min={1} max={256} value={t.loraRank} onChange={set('loraRank')} />
            <NumberField label="LoRA alpha" min={1} max={256} value={t.loraAlpha} onChange={set('loraAlpha')} />
            <fieldset className="lora-targets">
              <legend>LoRA adapts</legend>
              {LORA_TARGETS.map(([key, label]) => (
                <CheckField
                  key={key}
                  label={label}
                  checked={t.loraTargets[key]}
                  onChange={(on) => set('loraTargets')({ ...t.loraTargets, [key]: on })}
                />
              ))}
              {!Object.values(t.loraTargets).some(Boolean) && <p className="hint">Choose at least one kind of module.</p>}
            </fieldset>
          </>
        )}
      </div>
      <details>
        <summary>Advanced</summary>
        <div className="grid2">
          <SelectField
            label="Learning-rate schedule"
            value={t.schedule}
            options={[
              ['constant', 'constant'],
              ['constant-warmup', 'constant with warmup'],
              ['cosine', 'cosine with warmup'],
            ]}
            onChange={set('schedule')}
          />
          <NumberField label="Warmup steps" min={0} value={t.warmupSteps} onChange={set('warmupSteps')} />
          <NumberField label="Weight decay" min={0} step={1e-3} value={t.weightDecay} onChange={set('weightDecay')} />
          <NumberField label="Gradient clipping (global norm)" min={0} step={0.1} value={t.clipNorm} onChange={set('clipNorm')} />
          <NumberField label="Noise offset" min={0} max={1} step={0.01} value={t.noiseOffset} onChange={set('noiseOffset')} />
          <NumberField label="Min-SNR γ (0 = off)" min={0} step={0.5} value={t.minSnrGamma} onChange={set('minSnrGamma')} />
          <NumberField label="Keep last checkpoints" min={1} max={20} value={t.keepCheckpoints} onChange={set('keepCheckpoints')} />
          <NumberField label="Validation images every (steps, 0 = off)" min={0} value={t.validateEvery} onChange={set('validateEvery')} />
          <NumberField
            label="Validation denoising steps"
            min={1}
            max={150}
            value={t.validationSteps}
            onChange={set('validationSteps')}
            disabled={t.validateEvery === 0}
          />
        </div>
        <div className="field">
          <label htmlFor={promptsId}>Validation prompts (one a line; a fixed seed, at the training resolution)</label>
          <textarea
            id={promptsId}
            rows={2}
            value={t.validationPrompts}
            disabled={t.validateEvery === 0}
            onChange={(e) => set('validationPrompts')(e.target.value)}
          />
        </div>
        <CheckField label="Mixed precision (f16 compute, f32 masters)" checked={t.mixedPrecision} onChange={set('mixedPrecision')} />
        <CheckField label="Gradient checkpointing (less memory, slower)" checked={t.gradientCheckpointing} onChange={set('gradientCheckpointing')} />
        <CheckField label="Random horizontal flip" checked={t.flip} onChange={set('flip')} />
      </details>
      <Estimate t={t} images={images} model={model} plan={plan} />
    </fieldset>
  );
}
