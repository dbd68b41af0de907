// Validation images during a run: the same prompts and seed every time, so the pictures show what the
// training changes. The prompts are already captions ("sketch of a cat"): no style words are added.
import { encodePng } from '../../data/image-codec';
import type { StableDiffusionPipeline } from '../load-pipeline';
import { formatParameters } from '../png-parameters';
import { generate } from '../text-to-image';

/** Fixed rather than the run's seed, so that runs with different seeds show comparable pictures. */
export const VALIDATION_SEED = 42;

export interface ValidationImage {
  prompt: string;
  /** PNG bytes with the generation parameters in their text chunk. */
  png: Uint8Array;
}

export async function validationImages(
  pipeline: StableDiffusionPipeline,
  prompts: readonly string[],
  options: { size: number; steps: number; seed: number; signal?: AbortSignal },
): Promise<ValidationImage[]> {
  const { size, steps, seed, signal } = options;
  const out: ValidationImage[] = [];
  for (const prompt of prompts) {
    const r = await generate(pipeline, { prompt, style: 'none', width: size, height: size, steps, seed, signal });
    out.push({ prompt, png: encodePng(r.images[0], { parameters: formatParameters(r.parameters) }) });
  }
  return out;
}
