// A new in-page run's settings as the worker starts it: the reference recipe of the mode with the page's
// changes, checked, then fitted to the engine's GPU memory budget as the CLI does, so a run that would run
// out of GPU memory takes the fallbacks (checkpointing, LoRA, a lower resolution) and the page says which.
import type { Precision } from '../engine/engine';
import type { AutoencoderKLConfig, CLIPTextConfig, UNet2DConditionConfig } from '../models/configs';
import { fitToMemory, type FittedSetup } from '../pipelines/fine-tune/fit-memory';
import { defaultTrainConfig, validateTrainConfig } from '../pipelines/fine-tune/train-config';
import type { TrainParams } from './messages';

export function newRunSetup(
  asked: Extract<TrainParams, { kind: 'new' }>['config'],
  configs: { textEncoder: CLIPTextConfig; unet: UNet2DConditionConfig; vae: AutoencoderKLConfig },
  budgetBytes: number,
  precision: Precision,
): FittedSetup {
  const config = { ...defaultTrainConfig(asked.mode), ...asked };
  validateTrainConfig(config);
  return fitToMemory(configs, config, budgetBytes, precision);
}
