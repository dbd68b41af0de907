// Which image sizes a pipeline can generate on this device. Width and height are multiples of 8 (and of the
// VAE's downsampling); the UNet's largest activation must fit one GPU buffer binding. The VAE decodes one
// image at a time and switches to diffusers' tiled decode when a full-size activation would not fit.
import type { AutoencoderKL } from '../models/autoencoder-kl';
import type { UNet2DConditionModel } from '../models/unet-2d-condition';
import { GenerationInputError } from './generation-errors';

export interface SizePlan {
  /** Latent size [h, w]. */
  latent: [number, number];
  /** Decode in overlapping tiles (diffusers' enable_vae_tiling) instead of in one piece. */
  tiledDecode: boolean;
}

const F32_BYTES = 4;

export function planImageSize(
  width: number,
  height: number,
  batch: number,
  unet: UNet2DConditionModel,
  vae: AutoencoderKL,
  maxBindingBytes: number,
): SizePlan {
  const multiple = lcm(8, vae.downFactor);
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < multiple || v % multiple !== 0) {
      const down = Math.max(multiple, Math.floor(v / multiple) * multiple);
      throw new GenerationInputError(`${name} must be a multiple of ${multiple} (at least ${multiple}); got ${v} (try ${down} or ${down + multiple})`);
    }
  }
  const latent: [number, number] = [height / vae.downFactor, width / vae.downFactor];
  // Bytes per latent pixel of the largest UNet activation: at level i (area / 4^i) a skip concatenation of
  // that level's channels with the next level's.
  const boc = unet.config.block_out_channels;
  const perPixel = Math.max(...boc.map((c, i) => (c + boc[Math.min(i + 1, boc.length - 1)]) / 4 ** i)) * batch * F32_BYTES;
  if (latent[0] * latent[1] * perPixel > maxBindingBytes) {
    const side = Math.floor(Math.sqrt(maxBindingBytes / perPixel)) * vae.downFactor;
    const largest = Math.floor(side / multiple) * multiple;
    throw new GenerationInputError(
      `${width}×${height} is too large for this GPU: the UNet would need a ${mib(latent[0] * latent[1] * perPixel)} MiB buffer, ` +
        `the device allows ${mib(maxBindingBytes)} MiB (maxStorageBufferBindingSize); the largest square size is about ${largest}×${largest}` +
        (batch > 2 ? ' (fewer images per prompt allow more)' : ''),
    );
  }
  const vaePerPixel = Math.max(...vae.config.block_out_channels) * F32_BYTES;
  return { latent, tiledDecode: width * height * vaePerPixel > maxBindingBytes };
}

function lcm(a: number, b: number): number {
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  return (a * b) / gcd(a, b);
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(0);
}
