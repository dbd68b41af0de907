// Picks a training setup that fits the user's GPU memory budget (WebGPU does not report the GPU's size):
// the plan of the asked setup first, then, while it does not fit, gradient checkpointing, LoRA instead of
// the full UNet, and lower resolutions — each change said in a message.
import type { Precision } from '../../engine/engine';
import type { AutoencoderKLConfig, CLIPTextConfig, UNet2DConditionConfig } from '../../models/configs';
import type { TrainConfig } from './train-config';
import { trainingPlan } from './training-plan';

/**
 * Training activation peak over the forward's, measured on the tiny UNet (`npm run bench -- train` and
 * test/nn/checkpoint.test.ts): about 20 with every intermediate on the tape, about 4 with checkpointing.
 */
export const ACTIVATION_FACTOR = { plain: 20, checkpointed: 4 } as const;

export interface FittedSetup {
  config: TrainConfig;
  /** Planned peak bytes of the chosen setup. */
  plannedBytes: number;
  /** What was changed to fit, for the user. */
  messages: string[];
}

export function fitToMemory(
  configs: { textEncoder: CLIPTextConfig; unet: UNet2DConditionConfig; vae: AutoencoderKLConfig },
  asked: TrainConfig,
  budgetBytes: number,
  precision: Precision,
): FittedSetup {
  const plan = (c: TrainConfig) =>
    trainingPlan(configs, {
      mode: c.mode,
      precision,
      size: c.resolution,
      batch: c.batch,
      rank: c.rank,
      loraTargets: c.loraTargets,
      activationFactor: c.gradCheckpointing ? ACTIVATION_FACTOR.checkpointed : ACTIVATION_FACTOR.plain,
    }).peak;
  // Small models plan in megabytes: '0.0 GB' would say nothing.
  const gb = (b: number) => (b >= 2 ** 30 / 10 ? `${(b / 2 ** 30).toFixed(1)} GB` : `${(b / 2 ** 20).toFixed(1)} MB`);
  const messages: string[] = [];
  let c = asked;
  const steps: [(c: TrainConfig) => boolean, (c: TrainConfig) => TrainConfig, string][] = [
    [(x) => !x.gradCheckpointing, (x) => ({ ...x, gradCheckpointing: true }), 'turned gradient checkpointing on'],
    [(x) => x.mode === 'full', (x) => ({ ...x, mode: 'lora', lr: 1e-4 }), 'switched from the full UNet to LoRA (lr 1e-4)'],
    [(x) => x.resolution > 384, (x) => ({ ...x, resolution: 384 }), 'lowered the resolution to 384 px'],
    [(x) => x.resolution > 256, (x) => ({ ...x, resolution: 256 }), 'lowered the resolution to 256 px'],
  ];
  for (const [applies, change, what] of steps) {
    if (plan(c) <= budgetBytes) break;
    if (!applies(c)) continue;
    const before = plan(c);
    c = change(c);
    messages.push(`${what}: the plan of ${gb(before)} exceeded the ${gb(budgetBytes)} budget (now ${gb(plan(c))})`);
  }
  const planned = plan(c);
  if (planned > budgetBytes) {
    throw new RangeError(`even LoRA at 256 px with checkpointing needs about ${gb(planned)}, over the ${gb(budgetBytes)} GPU memory budget; raise the budget if the GPU has more memory`);
  }
  return { config: c, plannedBytes: planned, messages };
}
