// Seeded standard-normal noise for the denoising loop, drawn on the CPU in diffusers' NCHW order and handed
// to the engine as NHWC. Philox gives the same numbers on every device; torch-cpu reproduces
// torch.randn(generator=torch.Generator('cpu').manual_seed(seed)), so a seed starts from the same latents as
// diffusers with a CPU generator. One stream per run: the initial latents, then each step's fresh noise.
import { Philox } from '../random/philox';
import { TorchGenerator } from '../random/torch-randn';

export type NoiseGeneratorKind = 'philox' | 'torch-cpu';
export const NOISE_GENERATORS: readonly NoiseGeneratorKind[] = ['philox', 'torch-cpu'];

/** [batch, channels, height, width] as diffusers and torch order it. */
export type NchwShape = [number, number, number, number];

export interface NoiseStream {
  readonly kind: NoiseGeneratorKind;
  readonly seed: number;
  /** The next N(0, 1) draw of this shape, in NHWC element order. */
  normalNhwc(shape: NchwShape): Float32Array;
}

export function noiseStream(kind: NoiseGeneratorKind, seed: number): NoiseStream {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  let draw: (shape: NchwShape) => Float32Array;
  if (kind === 'philox') {
    const g = new Philox(seed);
    draw = (shape) => g.normal(shape.reduce((a, b) => a * b, 1));
  } else if (kind === 'torch-cpu') {
    const g = new TorchGenerator(seed);
    draw = (shape) => g.randn(shape);
  } else {
    throw new RangeError(`unknown noise generator '${kind as string}' (one of ${NOISE_GENERATORS.join(', ')})`);
  }
  return {
    kind,
    seed,
    normalNhwc(shape) {
      return nchwToNhwc(draw(shape), shape);
    },
  };
}

export function nchwToNhwc(data: Float32Array, [b, c, h, w]: NchwShape): Float32Array {
  if (data.length !== b * c * h * w) throw new Error(`${data.length} values for shape [${b}, ${c}, ${h}, ${w}]`);
  const out = new Float32Array(data.length);
  for (let n = 0; n < b; n++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++) {
        const src = ((n * c + ch) * h + y) * w;
        const dst = (n * h + y) * w * c + ch;
        for (let x = 0; x < w; x++) out[dst + x * c] = data[src + x];
      }
  return out;
}

export function nhwcToNchw(data: Float32Array, [b, c, h, w]: NchwShape): Float32Array {
  if (data.length !== b * c * h * w) throw new Error(`${data.length} values for shape [${b}, ${c}, ${h}, ${w}]`);
  const out = new Float32Array(data.length);
  for (let n = 0; n < b; n++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++) {
        const dst = ((n * c + ch) * h + y) * w;
        const src = (n * h + y) * w * c + ch;
        for (let x = 0; x < w; x++) out[dst + x] = data[src + x * c];
      }
  return out;
}

/** A seed for runs that name none: 32 bits, so that it fits every generator and the PNG record. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 32);
}
