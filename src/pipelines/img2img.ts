// img2img's start latents, as diffusers' StableDiffusionImg2ImgPipeline makes them: the user's image resized
// to the output size and encoded by the VAE; a latent sample mean + std·ε₁ (ε₁ drawn first, one per input
// image), times scaling_factor, repeated for each image per prompt; then the scheduler's add_noise to the
// first timestep of the shortened schedule: a·x₀ + b·ε₂ (ε₂ one per output image).
import * as tf from '@tensorflow/tfjs';
import { compositeOverWhite, resize, toNHWCFloat, type RGBAImage } from '../data/image';
import type { AutoencoderKL } from '../models/autoencoder-kl';
import type { Scheduler } from '../schedulers';
import type { NoiseStream } from './initial-noise';

/** The image as the VAE takes it: [1, height, width, 3] in [-1, 1]; transparency becomes white paper. */
export function imageTensor(image: RGBAImage, width: number, height: number): tf.Tensor4D {
  const opaque = compositeOverWhite(image);
  const sized = opaque.width === width && opaque.height === height ? opaque : resize(opaque, width, height);
  return tf.tensor4d(toNHWCFloat(sized), [1, height, width, 3]);
}

export interface Img2ImgStart {
  vae: AutoencoderKL;
  /** [1, H, W, 3] in [-1, 1]. */
  image: tf.Tensor4D;
  scheduler: Scheduler;
  /** From img2imgStart(scheduler, strength). */
  beginIndex: number;
  images: number;
  noise: NoiseStream;
  tiled?: boolean;
}

/** Start latents [images, h, w, C] (not scaled by init_noise_sigma: add_noise already puts them at σ). */
export function img2imgLatents(s: Img2ImgStart): tf.Tensor4D {
  const { mean, std } = s.vae.encode(s.image, { tiled: s.tiled });
  const [, h, w, c] = mean.shape;
  const eps1 = s.noise.normalNhwc([1, c, h, w]);
  const eps2 = s.noise.normalNhwc([s.images, c, h, w]);
  const { sample: a, noise: b } = s.scheduler.addNoiseCoefficients(s.beginIndex);
  return tf.tidy(() => {
    const x0 = tf.mul(tf.add(mean, tf.mul(std, tf.tensor4d(eps1, [1, h, w, c]))), s.vae.config.scaling_factor);
    tf.dispose([mean, std]);
    const repeated = s.images > 1 ? tf.tile(x0, [s.images, 1, 1, 1]) : x0;
    return tf.add(tf.mul(repeated, a), tf.mul(tf.tensor4d(eps2, [s.images, h, w, c]), b)) as tf.Tensor4D;
  });
}
