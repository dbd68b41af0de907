// The training objective: DDPM add_noise at per-sample timesteps, the UNet's prediction, MSE against the
// noise (epsilon) or the velocity (v_prediction), optionally Min-SNR-γ weighted per sample.
import * as tf from '@tensorflow/tfjs';
import type { UNet2DConditionModel } from '../../models/unet-2d-condition';
import { addNoiseCoefficients, velocityCoefficients } from '../../schedulers';

export interface DiffusionBatch {
  /** VAE latents × scaling_factor, NHWC [B, h, w, 4]. */
  latents: tf.Tensor4D;
  /** Standard normal noise shaped like the latents (noise offset already added). */
  noise: tf.Tensor4D;
  timesteps: number[];
  /** Text encoder hidden states [B, 77, D]. */
  context: tf.Tensor3D;
}

export interface LossOptions {
  prediction: 'epsilon' | 'v_prediction';
  alphasCumprod: Float32Array;
  /** Per-sample loss weights (Min-SNR-γ); plain mean when absent. */
  weights?: number[];
}

/** Per-sample coefficients as a [B, 1, 1, 1] tensor, cast to f32 once as diffusers' tensors are. */
function perSample(values: number[]): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from(values), [values.length, 1, 1, 1]);
}

export function noisyLatents(b: DiffusionBatch, alphasCumprod: Float32Array): tf.Tensor4D {
  return tf.tidy(() => {
    const c = b.timesteps.map((t) => addNoiseCoefficients(alphasCumprod, t));
    return tf.add(tf.mul(perSample(c.map((x) => x.sample)), b.latents), tf.mul(perSample(c.map((x) => x.noise)), b.noise));
  });
}

export function trainingTarget(b: DiffusionBatch, o: LossOptions): tf.Tensor4D {
  if (o.prediction === 'epsilon') return b.noise.clone();
  return tf.tidy(() => {
    const c = b.timesteps.map((t) => velocityCoefficients(o.alphasCumprod, t));
    return tf.add(tf.mul(perSample(c.map((x) => x.noise)), b.noise), tf.mul(perSample(c.map((x) => x.sample)), b.latents));
  });
}

/** The scalar loss (call inside tf.variableGrads / tf.grads to train). */
export function diffusionLoss(unet: UNet2DConditionModel, b: DiffusionBatch, o: LossOptions): tf.Scalar {
  return tf.tidy(() => {
    const noisy = noisyLatents(b, o.alphasCumprod);
    const pred = unet.forward(noisy, b.timesteps, b.context);
    const sq = tf.square(tf.sub(pred, trainingTarget(b, o)));
    if (!o.weights) return tf.mean(sq);
    const perSampleMse = tf.mean(sq, [1, 2, 3]);
    return tf.mean(tf.mul(perSampleMse, tf.tensor1d(o.weights)));
  });
}
