// Text-to-image (and img2img) with a loaded pipeline, step for step as diffusers' StableDiffusionPipeline:
// styled prompt -> CLIP tokens -> text encoder (negative and prompt) -> scheduler timesteps -> per step the
// UNet on the CFG batch [uncond; cond] and one scheduler-step dispatch (guidance folded in, history in place)
// -> VAE decode of latents / scaling_factor -> RGB. Nothing is read back inside the loop except the previews
// asked for; NaN/inf is flagged on the GPU per step and read once at the end.
import * as tf from '@tensorflow/tfjs';
import type { RGBAImage } from '../data/image';
import { engine } from '../engine/engine';
import { GpuOutOfMemoryError } from '../engine/errors';
import { schedulerStep } from '../ops/scheduler-step';
import { createScheduler, img2imgStart, SCHEDULER_KINDS, type Scheduler, type SchedulerKind } from '../schedulers';
import { GenerationCancelledError, GenerationInputError, NonFiniteError } from './generation-errors';
import { planImageSize } from './image-size';
import { imageTensor, img2imgLatents } from './img2img';
import { NOISE_GENERATORS, noiseStream, nchwToNhwc, randomSeed, type NchwShape, type NoiseGeneratorKind } from './initial-noise';
import { latentPreview } from './latent-preview';
import type { StableDiffusionPipeline } from './load-pipeline';
import type { GenerationParameters } from './png-parameters';
import { stylePrompt, type PromptStyle, type StyledPrompt } from './prompt-style';

export interface GenerateOptions {
  prompt: string;
  /** Default: the style's negative prompt (stencil's list, or none). */
  negative?: string;
  /** 'auto' (default): sketch template for fine-tuned checkpoints, stencil words for base models. */
  style?: PromptStyle | 'auto';
  /** Default: the model's own scheduler. */
  scheduler?: SchedulerKind;
  /** Karras sigmas (Euler, DPM-Solver++ 2M). */
  karras?: boolean;
  /** DDIM's eta (0 = deterministic). */
  eta?: number;
  /** Denoising steps (default 25); img2img runs int(steps · strength) of them. */
  steps?: number;
  /** Classifier-free guidance scale (default 7.5); ≤ 1 runs the prompt alone. */
  guidance?: number;
  /** Default: a random 32-bit seed (reported in the result). */
  seed?: number;
  /** Default 'philox'. */
  rng?: NoiseGeneratorKind;
  /** Default: the UNet's sample_size × the VAE's downsampling (512 for SD 1.5). */
  width?: number;
  height?: number;
  /** Images per prompt (default 1): one batch. */
  images?: number;
  /** diffusers' `latents=`: the initial noise, NCHW [images, C, h, w], before init_noise_sigma scaling. */
  latents?: Float32Array;
  /** img2img: start from this image (resized to width × height). */
  initImage?: RGBAImage;
  /** img2img strength in (0, 1] (default 0.8). */
  strength?: number;
  /** 'batch' (default): one UNet call on [uncond; cond]; 'sequential': two calls, half the activation memory. */
  cfg?: 'batch' | 'sequential';
  /** A latent preview every N steps (0 = none, the default): costs one small readback each. */
  previewEvery?: number;
  onProgress?: (progress: GenerationProgress) => void;
  /** Cancels at the next step boundary with GenerationCancelledError; GPU memory is released. */
  signal?: AbortSignal;
}

export interface GenerationProgress {
  /** Steps done, 1..steps. */
  step: number;
  steps: number;
  itPerSec: number;
  elapsedMs: number;
  /** First image's x0 prediction through the cheap latent-to-RGB map, at latent resolution. */
  preview?: RGBAImage;
}

export interface GenerateResult {
  images: RGBAImage[];
  /** [images, height, width, 3] in [0, 1] (diffusers' output_type="np"). */
  pixels: Float32Array;
  /** Final latents [images, h, w, C] (NHWC), before ÷ scaling_factor. */
  latents: Float32Array;
  latentShape: [number, number, number, number];
  /** The prompt and negative actually used. */
  prompt: StyledPrompt;
  /** Words cut off at the tokenizer's 77-token limit, or null. */
  truncated: { prompt: string | null; negative: string | null };
  seed: number;
  parameters: GenerationParameters;
  /** Things the user should know (a fallback taken, an ignored setting). */
  notes: string[];
  timings: { textEncoderMs: number; denoiseMs: number; perStepMs: number; decodeMs: number };
}

const KARRAS_KINDS: readonly SchedulerKind[] = ['euler', 'dpmpp-2m'];

interface Settings {
  kind: SchedulerKind;
  steps: number;
  guidance: number;
  seed: number;
  rng: NoiseGeneratorKind;
  width: number;
  height: number;
  images: number;
  strength?: number;
  previewEvery: number;
}

function settingsOf(p: StableDiffusionPipeline, o: GenerateOptions): Settings {
  const bad = (message: string): never => {
    throw new GenerationInputError(message);
  };
  const kind = o.scheduler ?? p.defaultScheduler;
  if (!SCHEDULER_KINDS.includes(kind)) bad(`unknown scheduler '${kind}' (one of ${SCHEDULER_KINDS.join(', ')})`);
  if (o.karras && !KARRAS_KINDS.includes(kind)) bad(`Karras sigmas apply to ${KARRAS_KINDS.join(' and ')}, not ${kind}`);
  if (o.eta !== undefined && (!(o.eta >= 0) || (o.eta !== 0 && kind !== 'ddim'))) bad(`eta must be ≥ 0 and applies to DDIM only (scheduler ${kind}, eta ${o.eta})`);
  const steps = o.steps ?? 25;
  if (!Number.isInteger(steps) || steps < 1) bad(`steps must be an integer ≥ 1, got ${steps}`);
  const guidance = o.guidance ?? 7.5;
  if (!Number.isFinite(guidance) || guidance < 0) bad(`guidance must be a number ≥ 0, got ${guidance}`);
  const images = o.images ?? 1;
  if (!Number.isInteger(images) || images < 1) bad(`images per prompt must be an integer ≥ 1, got ${images}`);
  const seed = o.seed ?? randomSeed();
  if (!Number.isSafeInteger(seed) || seed < 0) bad(`seed must be a non-negative integer, got ${seed}`);
  const rng = o.rng ?? 'philox';
  if (!NOISE_GENERATORS.includes(rng)) bad(`rng must be one of ${NOISE_GENERATORS.join(', ')}, got '${rng}'`);
  const side = (p.unet.config.sample_size ?? 64) * p.vae.downFactor;
  let strength: number | undefined;
  if (o.initImage) {
    strength = o.strength ?? 0.8;
    if (!(strength > 0 && strength <= 1)) bad(`strength must be in (0, 1], got ${strength}`);
    if (o.latents) bad('initial latents and an init image cannot be combined: img2img makes its start latents from the image');
  } else if (o.strength !== undefined) {
    bad('strength applies to img2img only: give an init image');
  }
  const previewEvery = o.previewEvery ?? 0;
  if (!Number.isInteger(previewEvery) || previewEvery < 0) bad(`previewEvery must be an integer ≥ 0, got ${previewEvery}`);
  return { kind, steps, guidance, seed, rng, width: o.width ?? side, height: o.height ?? side, images, strength, previewEvery };
}

export async function generate(pipeline: StableDiffusionPipeline, options: GenerateOptions): Promise<GenerateResult> {
  const s = settingsOf(pipeline, options);
  const { unet, vae, textEncoder, tokenizer, metadata } = pipeline;
  const e = engine();
  const cfg = s.guidance > 1;
  const size = planImageSize(s.width, s.height, (cfg ? 2 : 1) * s.images, unet, vae, e.limits.maxStorageBufferBindingSize);
  const [h, w] = size.latent;
  const channels = unet.config.in_channels;
  const nchw: NchwShape = [s.images, channels, h, w];
  const nhwc: [number, number, number, number] = [s.images, h, w, channels];
  if (options.latents) checkGivenLatents(options.latents, nchw);
  const signal = options.signal;
  const notes: string[] = [];

  let scheduler: Scheduler;
  try {
    scheduler = createScheduler(s.kind, pipeline.schedulerConfig, s.steps, {
      overrides: options.karras ? { use_karras_sigmas: true } : undefined,
      eta: options.eta,
    });
  } catch (err) {
    throw new GenerationInputError((err as Error).message);
  }
  const { beginIndex, steps } = s.strength !== undefined ? img2imgStart(scheduler, s.strength) : { beginIndex: 0, steps: scheduler.timesteps.length };

  const prompt = stylePrompt(options.prompt, options.negative, options.style ?? 'auto', {
    fineTuned: metadata.fineTuned,
    captionTemplate: metadata.captionTemplate,
  });
  const cond = tokenizer.encode(prompt.prompt);
  const uncond = tokenizer.encode(prompt.negative);

  // Every tensor that outlives one step is held here and freed in `finally`, whatever happens.
  const held = new Set<tf.Tensor>();
  const hold = <T extends tf.Tensor>(t: T): T => (held.add(t), t);
  const drop = (t: tf.Tensor | undefined) => {
    if (t) held.delete(t), t.dispose();
  };
  const cancelled = (step: number) => {
    if (signal?.aborted) throw new GenerationCancelledError(step, steps);
  };

  try {
    cancelled(0);
    const t0 = performance.now();
    // [uncond × images; cond × images] as diffusers repeats the embeddings for images per prompt.
    const rows = cfg ? [...Array<number>(s.images).fill(0), ...Array<number>(s.images).fill(1)] : Array<number>(s.images).fill(0);
    const context = hold(
      tf.tidy(() => {
        const ids = cfg ? [uncond.ids, cond.ids] : [cond.ids];
        const out = textEncoder.forward(tf.tensor2d(concatIds(ids), [ids.length, tokenizer.maxLength], 'int32'));
        out.penultimateHiddenState.dispose();
        return tf.gather(out.lastHiddenState, rows) as tf.Tensor3D;
      }),
    );
    const contextHalves = () =>
      tf.tidy(() => [tf.slice(context, [0, 0, 0], [s.images, -1, -1]), tf.slice(context, [s.images, 0, 0], [s.images, -1, -1])] as tf.Tensor3D[]);
    await e.sync();
    const textEncoderMs = performance.now() - t0;

    const noise = noiseStream(s.rng, s.seed);
    let latents: tf.Tensor4D;
    if (options.initImage) {
      const image = hold(imageTensor(options.initImage, s.width, s.height));
      latents = hold(img2imgLatents({ vae, image, scheduler, beginIndex, images: s.images, noise, tiled: size.tiledDecode }));
      drop(image);
    } else {
      const start = options.latents ? nchwToNhwc(options.latents, nchw) : noise.normalNhwc(nchw);
      latents = hold(tf.tidy(() => tf.mul(tf.tensor4d(start, nhwc), scheduler.initNoiseSigma) as tf.Tensor4D));
    }
    const history = scheduler.historySlots > 0 ? hold(tf.zeros([scheduler.historySlots, ...nhwc])) : undefined;

    let cfgMode = options.cfg ?? 'batch';
    const predict = (input: tf.Tensor4D, t: number): tf.Tensor4D =>
      tf.tidy(() => {
        if (!cfg) return unet.forward(input, t, context);
        if (cfgMode === 'batch') return unet.forward(tf.concat([input, input]), t, context);
        const [u, c] = contextHalves();
        return tf.concat([unet.forward(input, t, u), unet.forward(input, t, c)]);
      });

    // Step k's work is submitted before we wait for step k−1's: the GPU always has the next step queued
    // while JS reports progress and checks for cancellation.
    type Submitted = { step: number; done: Promise<void>; x0?: tf.Tensor4D };
    const finiteFlags: tf.Tensor[] = [];
    const loopStart = performance.now();
    const report = async (p: Submitted) => {
      await p.done;
      const preview = p.x0 ? await latentPreview(p.x0) : undefined;
      drop(p.x0);
      cancelled(p.step);
      const elapsedMs = performance.now() - loopStart;
      options.onProgress?.({ step: p.step, steps, itPerSec: (1000 * p.step) / elapsedMs, elapsedMs, preview });
    };

    let state = scheduler.initialState(beginIndex);
    let previous: Submitted | undefined;
    for (let k = 0; k < steps; k++) {
      cancelled(k);
      const t = scheduler.timestep(state);
      const factor = scheduler.scaleModelInput(state);
      const input = tf.tidy(() => tf.mul(latents, factor) as tf.Tensor4D);
      let model: tf.Tensor4D;
      try {
        model = predict(input, t);
      } catch (err) {
        // Out of the memory budget with the CFG batch: two half-size passes from now on.
        if (!(err instanceof GpuOutOfMemoryError && cfg && cfgMode === 'batch')) throw err;
        cfgMode = 'sequential';
        notes.push(`GPU memory budget reached at step ${k + 1}: guidance now runs as two UNet passes per step`);
        model = predict(input, t);
      } finally {
        input.dispose();
      }
      const { plan, state: next } = scheduler.step(state);
      state = next;
      const drawn = plan.drawsNoise ? noise.normalNhwc(nchw) : undefined; // drawn even when unused: keeps torch's stream in step
      const stepNoise = drawn && plan.out.noise !== 0 ? tf.tensor4d(drawn, nhwc) : undefined;
      const out = schedulerStep(plan, { sample: latents, model, guidance: cfg ? s.guidance : undefined, history, noise: stepNoise });
      tf.dispose([model, ...(stepNoise ? [stepNoise] : [])]);
      drop(latents);
      latents = hold(out.sample as tf.Tensor4D);
      finiteFlags.push(hold(tf.tidy(() => tf.all(tf.isFinite(latents)))));
      const wantPreview = s.previewEvery > 0 && ((k + 1) % s.previewEvery === 0 || k + 1 === steps);
      const x0 = wantPreview ? hold(out.x0 as tf.Tensor4D) : (out.x0.dispose(), undefined);
      e.bridge.submit();
      const submitted: Submitted = { step: k + 1, done: e.device.queue.onSubmittedWorkDone(), x0 };
      if (previous) await report(previous);
      previous = submitted;
    }
    if (previous) await report(previous);
    await e.sync();
    const denoiseMs = performance.now() - loopStart;

    const flags = hold(tf.stack(finiteFlags));
    const finite = await flags.data();
    const firstBad = finite.findIndex((v) => !v);
    if (firstBad >= 0) throw new NonFiniteError(`the latents after step ${firstBad + 1} of ${steps} (scheduler ${s.kind}, timestep ${scheduler.timesteps[beginIndex + firstBad]})`, e.precision);
    const finalLatents = (await latents.data()) as Float32Array;

    cancelled(steps);
    const t1 = performance.now();
    const { pixels, images } = await decode(pipeline, latents, size.tiledDecode, e.precision, held);
    const decodeMs = performance.now() - t1;

    return {
      images,
      pixels,
      latents: finalLatents,
      latentShape: nhwc,
      prompt,
      truncated: { prompt: cond.truncated, negative: cfg ? uncond.truncated : null },
      seed: s.seed,
      parameters: {
        prompt: prompt.prompt,
        negative: prompt.negative,
        steps: s.steps,
        scheduler: options.karras ? `${s.kind}-karras` : s.kind,
        cfg: s.guidance,
        seed: s.seed,
        rng: s.rng,
        width: s.width,
        height: s.height,
        model: metadata.name,
        checkpoint: metadata.checkpoint,
        strength: s.strength,
        loras: pipeline.loras?.applied.map((l) => `${l.name}:${l.scale}`),
      },
      notes,
      timings: { textEncoderMs, denoiseMs, perStepMs: denoiseMs / steps, decodeMs },
    };
  } finally {
    tf.dispose([...held]);
  }
}

/** VAE decode one image at a time: latents / scaling_factor -> clamp(x / 2 + 0.5, 0, 1). */
async function decode(
  pipeline: StableDiffusionPipeline,
  latents: tf.Tensor4D,
  tiled: boolean,
  precision: string,
  held: Set<tf.Tensor>,
): Promise<{ pixels: Float32Array; images: RGBAImage[] }> {
  const [n, h, w, c] = latents.shape;
  const parts: Float32Array[] = [];
  const images: RGBAImage[] = [];
  for (let i = 0; i < n; i++) {
    const [rgb, finite] = tf.tidy(() => {
      const z = tf.div(tf.slice(latents, [i, 0, 0, 0], [1, h, w, c]), pipeline.vae.config.scaling_factor) as tf.Tensor4D;
      const x = pipeline.vae.decode(z, { tiled });
      return [tf.clipByValue(tf.add(tf.mul(x, 0.5), 0.5), 0, 1), tf.all(tf.isFinite(x))];
    });
    held.add(rgb).add(finite);
    if (!(await finite.data())[0]) throw new NonFiniteError(`the decoded image${n > 1 ? ` ${i + 1} of ${n}` : ''} (VAE decoder)`, precision);
    const [, height, width] = rgb.shape;
    const data = (await rgb.data()) as Float32Array;
    parts.push(data);
    images.push(toRgba(data, width!, height!));
  }
  const pixels = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((offset, p) => (pixels.set(p, offset), offset + p.length), 0);
  return { pixels, images };
}

/** [0, 1] RGB floats to 8-bit RGBA as diffusers' numpy_to_pil: round(x · 255). */
function toRgba(rgb: Float32Array, width: number, height: number): RGBAImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    data[4 * p] = Math.round(rgb[3 * p] * 255);
    data[4 * p + 1] = Math.round(rgb[3 * p + 1] * 255);
    data[4 * p + 2] = Math.round(rgb[3 * p + 2] * 255);
    data[4 * p + 3] = 255;
  }
  return { width, height, data };
}

function concatIds(rows: Int32Array[]): Int32Array {
  const out = new Int32Array(rows.reduce((a, r) => a + r.length, 0));
  rows.reduce((offset, r) => (out.set(r, offset), offset + r.length), 0);
  return out;
}

function checkGivenLatents(latents: Float32Array, shape: NchwShape): void {
  const size = shape.reduce((a, b) => a * b, 1);
  if (latents.length !== size) {
    throw new GenerationInputError(`initial latents have ${latents.length} values; [${shape.join(', ')}] (images, channels, height/8, width/8) needs ${size}`);
  }
  const bad = latents.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new GenerationInputError(`initial latents hold ${latents[bad]} at element ${bad}: they must be finite numbers`);
}
