// GPU memory plan for fine-tuning, from the configs alone (WebGPU does not report the GPU's size, so the
// user's budget is checked against this before a run). Trainable state per parameter: f32 master,
// gradient, accumulation buffer, Adam m and v (20 bytes); frozen weights in the storage precision.
// Activations: the UNet forward peak (allocation-plan.ts, fused attention) times a training factor —
// measured by `npm run bench -- train` on the tiny model, passed in, so the plan states what it rests on.
import type { Precision } from '../../engine/engine';
import { unetActivationPeak, vaeDecodeActivationPeak, weightBytes } from '../../models/allocation-plan';
import { AutoencoderKL } from '../../models/autoencoder-kl';
import { CLIPTextModel } from '../../models/clip-text-model';
import type { AutoencoderKLConfig, CLIPTextConfig, UNet2DConditionConfig } from '../../models/configs';
import { UNet2DConditionModel } from '../../models/unet-2d-condition';
import { loraParameterCount, type LoraTargets } from '../../nn/lora';
import { referenceOps } from '../../ops/reference';

const TRAINABLE_BYTES = 20;

export interface TrainingPlanOptions {
  mode: 'full' | 'lora';
  precision: Precision;
  /** Training resolution in pixels. */
  size: number;
  batch: number;
  /** LoRA rank. */
  rank: number;
  /** The modules LoRA adapts (default: the attention projections to_q, to_k, to_v, to_out.0). */
  loraTargets?: LoraTargets;
  /** Training activation peak over the forward's peak, with the run's checkpointing setting. */
  activationFactor: number;
}

export interface TrainingPlan {
  frozenWeights: number;
  trainableParams: number;
  trainableState: number;
  activations: number;
  peak: number;
}

/** Parameters of rank-r adapters on the UNet's target modules (default: the attention projections). */
export function loraParamCount(unet: UNet2DConditionConfig, rank: number, targets: LoraTargets = { attention: true }): number {
  return loraParameterCount(new UNet2DConditionModel(unet, referenceOps), rank, targets);
}

export function trainingPlan(
  configs: { textEncoder: CLIPTextConfig; unet: UNet2DConditionConfig; vae: AutoencoderKLConfig },
  o: TrainingPlanOptions,
): TrainingPlan {
  const unetModel = new UNet2DConditionModel(configs.unet, referenceOps);
  const unetParams = [...unetModel.namedParameters()].reduce((n, [, p]) => n + p.torchShape.reduce((a, b) => a * b, 1), 0);
  const frozen =
    weightBytes(new CLIPTextModel(configs.textEncoder, referenceOps), o.precision) +
    weightBytes(new AutoencoderKL(configs.vae, referenceOps), o.precision) +
    (o.mode === 'lora' ? weightBytes(unetModel, o.precision) : 0);
  const trainableParams = o.mode === 'lora' ? loraParameterCount(unetModel, o.rank, o.loraTargets ?? { attention: true }) : unetParams;
  const f = 2 ** (configs.vae.block_out_channels.length - 1);
  const unetPeak = unetActivationPeak(configs.unet, o.batch, Math.ceil(o.size / f), 'fused');
  // The VAE encode of a training image runs before the UNet; its peak is about its decode's.
  const activations = Math.max(o.activationFactor * unetPeak, vaeDecodeActivationPeak(configs.vae, o.batch, o.size, 'fused'));
  const trainableState = trainableParams * TRAINABLE_BYTES;
  return { frozenWeights: frozen, trainableParams, trainableState, activations, peak: frozen + trainableState + activations };
}
