// A live preview without the VAE: SD 1.x/2.x latents are close to a linear map of RGB, so each latent pixel
// times a 4×3 matrix gives a recognisable (1/8-scale) picture. The factors are the ones ComfyUI
// (latent_formats.SD15) and A1111's "Approx cheap" previews use; the result maps [-1, 1] to [0, 255].
import * as tf from '@tensorflow/tfjs';
import type { RGBAImage } from '../data/image';

/** Rows: latent channels 0..3; columns: R, G, B. */
export const SD_LATENT_RGB_FACTORS: readonly (readonly [number, number, number])[] = [
  [0.3512, 0.2297, 0.3227],
  [0.325, 0.4974, 0.235],
  [-0.2829, 0.1762, 0.2721],
  [-0.212, -0.2616, -0.7177],
];

/** latents [B, h, w, 4] (unscaled, as the scheduler holds them) -> one RGBA image of `index` at latent size. */
export async function latentPreview(latents: tf.Tensor4D, index = 0): Promise<RGBAImage> {
  const [, h, w, c] = latents.shape;
  if (c !== SD_LATENT_RGB_FACTORS.length) throw new Error(`latent preview needs ${SD_LATENT_RGB_FACTORS.length} latent channels, got ${c}`);
  const rgb = tf.tidy(() => {
    const pixels = tf.reshape(tf.slice(latents, [index, 0, 0, 0], [1, h, w, c]), [h * w, c]);
    const mapped = tf.matMul(pixels, tf.tensor2d(SD_LATENT_RGB_FACTORS.map((r) => [...r])));
    return tf.clipByValue(tf.mul(tf.add(mapped, 1), 127.5), 0, 255);
  });
  const values = (await rgb.data()) as Float32Array;
  rgb.dispose();
  const data = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    data[4 * i] = values[3 * i];
    data[4 * i + 1] = values[3 * i + 1];
    data[4 * i + 2] = values[3 * i + 2];
    data[4 * i + 3] = 255;
  }
  return { width: w, height: h, data };
}
