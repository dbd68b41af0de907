// Whole text-to-image runs on the golden tiny models against diffusers 0.30.3 (f32 path): the prompt through
// our tokenizer and text encoder, the given initial latents, 5 steps with guidance 7.5, the decoded image.
// The other behaviours run on tiny SD 2, whose UNet is the cheaper of the two here.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { nodeDirectory } from '../../src/io/node-file-source';
import { GenerationCancelledError, GenerationInputError, NonFiniteError } from '../../src/pipelines/generation-errors';
import { nhwcToNchw, noiseStream } from '../../src/pipelines/initial-noise';
import { loadPipelineFromFolder, type StableDiffusionPipeline } from '../../src/pipelines/load-pipeline';
import { imageTensor, img2imgLatents } from '../../src/pipelines/img2img';
import { generate, type GenerateOptions, type GenerationProgress } from '../../src/pipelines/text-to-image';
import { createScheduler, img2imgStart, type SchedulerKind } from '../../src/schedulers';
import type { RGBAImage } from '../../src/data/image';
import { startEngine } from '../engine-helpers';
import { expectedF32, modelDir, relativeError, type Family } from '../models/golden';

const PROMPT = 'a photo of an astronaut riding a horse on mars';
// The torch seed behind the golden pipeline_init_latents (torch.randn on a CPU generator).
const GOLDEN_SEED = 51;

let engine: Engine;
const pipelines = new Map<Family, StableDiffusionPipeline>();
beforeAll(async () => {
  engine = await startEngine({ precision: 'f32' });
  for (const family of ['tiny-sd15', 'tiny-sd2'] as const) pipelines.set(family, await loadPipelineFromFolder(await nodeDirectory(modelDir(family))));
});
afterAll(() => {
  for (const p of pipelines.values()) p.dispose();
  engine?.dispose();
});

const golden = (family: Family): GenerateOptions => ({
  prompt: PROMPT,
  negative: '',
  style: 'none',
  steps: 5,
  guidance: 7.5,
  width: 32,
  height: 32,
  latents: expectedF32(family, 'pipeline_init_latents'),
});

const nchw = (latents: Float32Array, [n, h, w, c]: number[]) => nhwcToNchw(latents, [n, c, h, w]);

describe('whole loops against diffusers', () => {
  // scheduler undefined: the model's own (tiny SD 2: DDIM with v-prediction).
  const loops: [Family, SchedulerKind | undefined][] = [
    ['tiny-sd15', 'pndm'],
    ['tiny-sd15', 'euler'],
    ['tiny-sd2', undefined],
  ];
  for (const [family, kind] of loops) {
    test(`${family} ${kind ?? 'default scheduler'}: final latents and decoded image`, async () => {
      const pipeline = pipelines.get(family)!;
      const steps: number[] = [];
      const result = await generate(pipeline, { ...golden(family), scheduler: kind, onProgress: (p) => steps.push(p.step) });
      const name = kind ?? 'ddim';
      const latentErr = relativeError(nchw(result.latents, result.latentShape), expectedF32(family, `sched_${name}_final_latents`));
      const imageErr = relativeError(result.pixels, expectedF32(family, `sched_${name}_image`));
      console.log(`${family} ${name}: latents ${latentErr.toExponential(2)}, image ${imageErr.toExponential(2)}, ${result.timings.perStepMs.toFixed(0)} ms/step`);
      expect(latentErr).toBeLessThan(1e-3);
      expect(imageErr).toBeLessThan(1e-3);
      expect(steps).toEqual(name === 'pndm' ? [1, 2, 3, 4, 5, 6] : [1, 2, 3, 4, 5]);
      expect(result.images[0]).toMatchObject({ width: 32, height: 32 });
      expect(result.parameters).toMatchObject({ prompt: PROMPT, negative: '', steps: 5, scheduler: name, cfg: 7.5, width: 32, height: 32, model: 'model' });
    });
  }
});

describe('seeds', () => {
  test('torch-cpu draws the golden initial latents from their seed', () => {
    const ours = nhwcToNchw(noiseStream('torch-cpu', GOLDEN_SEED).normalNhwc([1, 4, 16, 16]), [1, 4, 16, 16]);
    expect(relativeError(ours, expectedF32('tiny-sd15', 'pipeline_init_latents'))).toBeLessThan(1e-6);
  });

  test('a torch-cpu seed gives the same run as diffusers with a CPU generator (tiny SD 1.5, DDIM)', async () => {
    const { latents: _given, ...options } = golden('tiny-sd15');
    const result = await generate(pipelines.get('tiny-sd15')!, { ...options, scheduler: 'ddim', rng: 'torch-cpu', seed: GOLDEN_SEED });
    const latentErr = relativeError(nchw(result.latents, result.latentShape), expectedF32('tiny-sd15', 'sched_ddim_final_latents'));
    const imageErr = relativeError(result.pixels, expectedF32('tiny-sd15', 'sched_ddim_image'));
    console.log(`tiny-sd15 ddim from the seed: latents ${latentErr.toExponential(2)}, image ${imageErr.toExponential(2)}`);
    expect(latentErr).toBeLessThan(1e-3);
    expect(imageErr).toBeLessThan(1e-3);
    expect(result.parameters).toMatchObject({ seed: GOLDEN_SEED, rng: 'torch-cpu', scheduler: 'ddim' });
  });

  test('the same Philox seed twice gives identical latents, with per-step noise (Euler ancestral, 2 images)', async () => {
    const pipeline = pipelines.get('tiny-sd2')!;
    const options: GenerateOptions = { prompt: 'a cat', style: 'none', scheduler: 'euler-a', steps: 2, seed: 1234, width: 32, height: 32, images: 2 };
    const a = await generate(pipeline, options);
    const b = await generate(pipeline, options);
    expect(a.latentShape).toEqual([2, 16, 16, 4]);
    expect(a.images).toHaveLength(2);
    expect(Array.from(b.latents)).toEqual(Array.from(a.latents));
    // The two images of one batch start from different noise.
    const half = a.latents.length / 2;
    expect(relativeError(a.latents.subarray(0, half), a.latents.subarray(half))).toBeGreaterThan(0.1);
  });
});

describe('guidance', () => {
  test('two UNet passes (for short memory) give the batch-2 result', async () => {
    const pipeline = pipelines.get('tiny-sd2')!;
    const options: GenerateOptions = { ...golden('tiny-sd2'), steps: 2 };
    const batch = await generate(pipeline, options);
    const sequential = await generate(pipeline, { ...options, cfg: 'sequential' });
    expect(relativeError(sequential.latents, batch.latents)).toBeLessThan(1e-5);
  });
});

describe('while it runs', () => {
  test('progress with latent previews, then cancellation that frees every tensor', async () => {
    const pipeline = pipelines.get('tiny-sd2')!;
    await engine.sync();
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const seen: GenerationProgress[] = [];
    const run = generate(pipeline, {
      prompt: 'a cat',
      scheduler: 'euler',
      steps: 6,
      width: 32,
      height: 32,
      previewEvery: 1,
      signal: controller.signal,
      onProgress: (p) => {
        seen.push(p);
        if (p.step === 2) controller.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(GenerationCancelledError);
    expect(seen.map((p) => p.step)).toEqual([1, 2]);
    expect(seen[0].steps).toBe(6);
    expect(seen[0].itPerSec).toBeGreaterThan(0);
    expect(seen[0].preview).toMatchObject({ width: 16, height: 16 });
    expect(seen[0].preview!.data.length).toBe(16 * 16 * 4);
    await engine.sync();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('NaN appearing in the latents stops the run and says at which step', async () => {
    const before = tf.memory().numTensors;
    const huge = new Float32Array(4 * 16 * 16).fill(3e38);
    const run = generate(pipelines.get('tiny-sd2')!, { prompt: 'a cat', style: 'none', scheduler: 'ddim', steps: 2, width: 32, height: 32, latents: huge });
    await expect(run).rejects.toBeInstanceOf(NonFiniteError);
    await expect(run).rejects.toThrow(/latents after step 1 of 2/);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('img2img', () => {
  const image: RGBAImage = { width: 40, height: 24, data: new Uint8ClampedArray(40 * 24 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 37) % 256)) };

  test("start latents follow diffusers' formula: sqrt(ᾱ)·(mean + std·ε₁)·scaling + sqrt(1 − ᾱ)·ε₂", async () => {
    const { vae, schedulerConfig } = pipelines.get('tiny-sd2')!;
    const scheduler = createScheduler('ddim', schedulerConfig, 10);
    const { beginIndex, steps } = img2imgStart(scheduler, 0.55);
    // diffusers' get_timesteps: init_timestep = int(10 · 0.55) = 5, t_start = 10 − 5.
    expect([beginIndex, steps]).toEqual([5, 5]);
    const x = imageTensor(image, 32, 32);
    expect(x.shape).toEqual([1, 32, 32, 3]);
    const ours = img2imgLatents({ vae, image: x, scheduler, beginIndex, images: 2, noise: noiseStream('philox', 9) });
    const got = (await engine.read(ours)) as Float32Array;
    const { mean, std } = vae.encode(x);
    const [m, sd] = [(await engine.read(mean)) as Float32Array, (await engine.read(std)) as Float32Array];
    tf.dispose([x, ours, mean, std]);
    const stream = noiseStream('philox', 9);
    const eps1 = stream.normalNhwc([1, 4, 16, 16]);
    const eps2 = stream.normalNhwc([2, 4, 16, 16]);
    const acp = scheduler.alphasCumprod[scheduler.timesteps[beginIndex]];
    const want = eps2.map((e2, i) => {
      const j = i % m.length;
      return Math.sqrt(acp) * (m[j] + sd[j] * eps1[j]) * vae.config.scaling_factor + Math.sqrt(1 - acp) * e2;
    });
    expect(relativeError(got, want)).toBeLessThan(1e-5);
  });

  test('generate runs int(steps · strength) steps from the image and records the strength', async () => {
    const steps: number[] = [];
    const result = await generate(pipelines.get('tiny-sd2')!, {
      prompt: 'a cat', scheduler: 'ddim', steps: 4, strength: 0.5, initImage: image, width: 32, height: 32, seed: 3, onProgress: (p) => steps.push(p.step),
    });
    expect(steps).toEqual([1, 2]);
    expect(result.parameters.strength).toBe(0.5);
    expect(result.images[0]).toMatchObject({ width: 32, height: 32 });
  });
});

describe('prompts', () => {
  test('the styled prompt is returned, truncated words are reported, an empty prompt is allowed', async () => {
    const pipeline = pipelines.get('tiny-sd2')!;
    const styled = await generate(pipeline, { prompt: 'a very long prompt, '.repeat(30), steps: 1, width: 32, height: 32 });
    expect(styled.prompt.style).toBe('stencil');
    expect(styled.prompt.prompt).toMatch(/^a very long prompt, .*, black silhouette, high contrast/);
    expect(styled.prompt.negative).toMatch(/^color, colorful/);
    expect(styled.truncated.prompt).toMatch(/very long prompt/);
    expect(styled.truncated.negative).toBeNull();
    const empty = await generate(pipeline, { prompt: '', style: 'none', steps: 1, width: 32, height: 32 });
    expect(empty.prompt.prompt).toBe('');
    expect(empty.truncated.prompt).toBeNull();
    expect(empty.images).toHaveLength(1);
  });
});

describe('bad input', () => {
  const pipeline = () => pipelines.get('tiny-sd2')!;
  const base: GenerateOptions = { prompt: 'a cat', steps: 2, width: 32, height: 32 };
  const cases: [string, Partial<GenerateOptions>, RegExp][] = [
    ['width 100', { width: 100 }, /width must be a multiple of 8.*got 100 \(try 96 or 104\)/],
    ['steps 0', { steps: 0 }, /steps must be an integer ≥ 1, got 0/],
    ['strength 1.5', { initImage: { width: 8, height: 8, data: new Uint8ClampedArray(256) }, strength: 1.5 }, /strength must be in \(0, 1\], got 1.5/],
    ['NaN latents', { latents: new Float32Array(4 * 16 * 16).fill(Number.NaN) }, /initial latents hold NaN at element 0/],
    ['latents of the wrong size', { latents: new Float32Array(10) }, /initial latents have 10 values; \[1, 4, 16, 16\]/],
    ['Karras with PNDM', { scheduler: 'pndm', karras: true }, /Karras sigmas apply to euler and dpmpp-2m, not pndm/],
    ['eta with Euler', { scheduler: 'euler', eta: 0.5 }, /eta .* applies to DDIM only/],
    ['too large for the device', { width: 2 ** 15, height: 2 ** 15 }, /too large for this GPU: .* MiB \(maxStorageBufferBindingSize\); the largest square size is about \d+×\d+/],
  ];
  for (const [name, options, message] of cases) {
    test(name, async () => {
      const run = generate(pipeline(), { ...base, ...options });
      await expect(run).rejects.toBeInstanceOf(GenerationInputError);
      await expect(run).rejects.toThrow(message);
    });
  }
});
