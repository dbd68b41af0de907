// The fine-tuning loop: frozen VAE and text encoder, trainable UNet weights (all of them, or LoRA), DDPM
// noise at random timesteps, MSE on the prediction, gradient accumulation, dynamic loss scaling, clipping and
// fused AdamW. Every random draw comes from one Philox stream and the data order from the loader's, both
// saved in the run state, so a resumed run continues bit for bit.
import * as tf from '@tensorflow/tfjs';
import { engine } from '../../engine/engine';
import type { Dataset } from '../../data/dataset-selection';
import { DatasetLoader, type DatasetLoaderState, type TrainingSample } from '../../data/dataset-loader';
import type { AutoencoderKL } from '../../models/autoencoder-kl';
import type { CLIPTextModel } from '../../models/clip-text-model';
import type { UNet2DConditionModel } from '../../models/unet-2d-condition';
import { setGradientCheckpointing } from '../../nn/checkpoint';
import { AdamW } from '../../optim/adamw';
import { GradAccumulator } from '../../optim/grad-accumulator';
import { LossScaler, type LossScalerState } from '../../optim/loss-scaler';
import { Philox, type PhiloxState } from '../../random/philox';
import { createScheduler } from '../../schedulers';
import type { ClipTokenizer } from '../../tokenizer/clip-tokenizer';
import { CaptionCache } from './caption-cache';
import { diffusionLoss } from './diffusion-loss';
import { learningRate } from './lr-schedule';
import { minSnrWeights } from './min-snr';
import type { TrainConfig } from './train-config';
import type { TrainableWeights } from './trainable';

export interface FineTuneModels {
  tokenizer: ClipTokenizer;
  textEncoder: CLIPTextModel;
  vae: AutoencoderKL;
  unet: UNet2DConditionModel;
  schedulerConfig: Record<string, unknown>;
}

/** The JSON part of a run's state; tensors (weights, moments) travel beside it. */
export interface RunState {
  step: number;
  rng: PhiloxState;
  loader: DatasetLoaderState;
  scaler: LossScalerState;
  adamStep: number;
  losses: { step: number; loss: number }[];
}

export interface RunTensors {
  /** Trainable weights in TrainableWeights order (our layouts). */
  weights: Float32Array[];
  m: Float32Array[];
  v: Float32Array[];
}

export interface StepReport {
  step: number;
  totalSteps: number;
  /** Mean loss over the step's micro-batches. */
  loss: number;
  smoothedLoss: number;
  lr: number;
  lossScale: number;
  gradNorm: number;
  /** False when an inf/NaN gradient made the optimizer skip the step (the loss scale was lowered). */
  applied: boolean;
  seconds: number;
}

export class TrainingDivergedError extends Error {
  constructor(step: number) {
    super(`The loss became inf/NaN at step ${step}. The last checkpoint is kept; lower the learning rate or resume from it.`);
    this.name = 'TrainingDivergedError';
  }
}

export class Trainer {
  readonly totalSteps: number;
  step = 0;
  private readonly rng: Philox;
  private readonly loader: DatasetLoader;
  private readonly scaler: LossScaler;
  private readonly optimizer: AdamW;
  private readonly accumulator: GradAccumulator;
  private readonly captions: CaptionCache;
  private readonly alphasCumprod: Float32Array;
  private readonly prediction: 'epsilon' | 'v_prediction';
  private losses: RunState['losses'] = [];
  private smoothed = NaN;

  constructor(
    private readonly models: FineTuneModels,
    private readonly trainable: TrainableWeights,
    dataset: Dataset,
    readonly config: TrainConfig,
    resume?: { state: RunState; tensors: RunTensors },
  ) {
    setGradientCheckpointing(models.unet, config.gradCheckpointing);
    const perEpoch = Math.ceil(dataset.entries.length / (config.batch * config.accum));
    this.totalSteps = config.steps ?? perEpoch * config.epochs;
    const scheduler = createScheduler('ddpm', models.schedulerConfig, 1);
    this.alphasCumprod = scheduler.alphasCumprod;
    this.prediction = scheduler.config.predictionType === 'v_prediction' ? 'v_prediction' : 'epsilon';
    this.captions = new CaptionCache(models.tokenizer, models.textEncoder);
    this.accumulator = new GradAccumulator(trainable.variables.map((v) => v.shape));
    const scaleLoss = config.mixedPrecision && engine().f16;
    const adam = { lr: config.lr, ...config.adam, maxGradNorm: config.maxGradNorm };
    const params = trainable.variables.map((master, i) => ({ name: trainable.names[i], master }));
    if (resume) {
      const { state, tensors } = resume;
      trainable.variables.forEach((v, i) => {
        const value = tf.tensor(tensors.weights[i], v.shape);
        v.assign(value);
        value.dispose();
      });
      this.optimizer = new AdamW(params, adam, {
        step: state.adamStep,
        m: tensors.m.map((d, i) => tf.tensor(d, trainable.variables[i].shape)),
        v: tensors.v.map((d, i) => tf.tensor(d, trainable.variables[i].shape)),
      });
      this.step = state.step;
      this.rng = Philox.fromState(state.rng);
      this.loader = new DatasetLoader(dataset, config.resolution, { state: state.loader });
      this.scaler = LossScaler.fromState(state.scaler, scaleLoss);
      this.losses = [...state.losses];
      this.smoothed = this.losses.at(-1)?.loss ?? NaN;
    } else {
      this.optimizer = new AdamW(params, adam);
      this.rng = new Philox(config.seed);
      this.loader = new DatasetLoader(dataset, config.resolution, { seed: config.seed, flip: config.flip });
      this.scaler = new LossScaler(scaleLoss);
    }
  }

  get done(): boolean {
    return this.step >= this.totalSteps;
  }

  /** Distinct captions encoded so far (their hidden states stay on the GPU). */
  get cachedCaptions(): number {
    return this.captions.size;
  }

  /** Images the loader could not decode (reported, never fatal). */
  get skippedImages() {
    return this.loader.skipped;
  }

  /** One optimizer step: `accum` micro-batches of `batch` images. */
  async trainStep(): Promise<StepReport> {
    const t0 = performance.now();
    const c = this.config;
    const lossScale = this.scaler.scale;
    let lossSum = tf.scalar(0);
    for (let micro = 0; micro < c.accum; micro++) {
      const { loss, grads } = await this.microStep(lossScale);
      this.accumulator.add(grads);
      tf.dispose(grads);
      const next: tf.Scalar = tf.add(lossSum, loss);
      tf.dispose([lossSum, loss]);
      lossSum = next;
    }
    const lr = learningRate(c.lrSchedule, c.lr, this.step, c.warmup, this.totalSteps);
    const result = await this.optimizer.apply(this.accumulator.sums, 1 / (lossScale * c.accum), lr);
    this.accumulator.reset();
    const loss = (await engine().read(lossSum))[0] / c.accum;
    lossSum.dispose();
    if (!result.applied && !this.scaler.enabled) throw new TrainingDivergedError(this.step + 1);
    this.scaler.update(result.applied);
    this.step++;
    if (Number.isFinite(loss)) {
      this.smoothed = Number.isNaN(this.smoothed) ? loss : 0.9 * this.smoothed + 0.1 * loss;
      this.losses.push({ step: this.step, loss });
    }
    return {
      step: this.step,
      totalSteps: this.totalSteps,
      loss,
      smoothedLoss: this.smoothed,
      lr,
      lossScale,
      gradNorm: result.gradNorm,
      applied: result.applied,
      seconds: (performance.now() - t0) / 1000,
    };
  }

  private async microStep(lossScale: number): Promise<{ loss: tf.Scalar; grads: tf.Tensor[] }> {
    const c = this.config;
    const samples: TrainingSample[] = [];
    for (let i = 0; i < c.batch; i++) samples.push(await this.loader.next());
    const r = c.resolution;
    const { vae, unet } = this.models;
    const down = 2 ** (vae.config.block_out_channels.length - 1);
    const latentShape: [number, number, number, number] = [c.batch, r / down, r / down, vae.config.latent_channels];
    const latentSize = latentShape.reduce((a, b) => a * b, 1);
    // One fixed order of draws per micro-batch: VAE sample, noise, offset noise, timesteps.
    const vaeEps = this.rng.normal(latentSize);
    const noise = this.rng.normal(latentSize);
    const offset = c.noiseOffset > 0 ? this.rng.normal(c.batch * latentShape[3]) : undefined;
    const timesteps = Array.from(this.rng.uniform(c.batch), (u) => Math.floor(u * this.alphasCumprod.length));
    const weights = c.minSnrGamma > 0 ? minSnrWeights(this.alphasCumprod, timesteps, c.minSnrGamma, this.prediction) : undefined;

    const batch = tf.tidy(() => {
      const pixels = tf.tensor4d(concat(samples.map((s) => s.pixels)), [c.batch, r, r, 3]);
      const dist = vae.encode(pixels);
      const scaling = vae.config.scaling_factor;
      const latents = tf.mul(tf.add(dist.mean, tf.mul(dist.std, tf.tensor(vaeEps, dist.mean.shape))), scaling) as tf.Tensor4D;
      let eps = tf.tensor(noise, latentShape) as tf.Tensor4D;
      if (offset) eps = tf.add(eps, tf.mul(c.noiseOffset, tf.tensor(offset, [c.batch, 1, 1, latentShape[3]]))) as tf.Tensor4D;
      const context = tf.concat(samples.map((s) => this.captions.get(s.entry.caption))) as tf.Tensor3D;
      return { latents, noise: eps, context };
    });
    const { value, grads } = tf.variableGrads(() => {
      const loss = diffusionLoss(unet, { ...batch, timesteps }, { prediction: this.prediction, alphasCumprod: this.alphasCumprod, weights });
      return lossScale === 1 ? loss : tf.mul(loss, lossScale);
    }, this.trainable.variables);
    tf.dispose([batch.latents, batch.noise, batch.context]);
    const loss = lossScale === 1 ? value : tf.tidy(() => tf.div(value, lossScale) as tf.Scalar);
    if (loss !== value) value.dispose();
    const missing = this.trainable.variables.findIndex((v) => !grads[v.name]);
    if (missing >= 0) {
      tf.dispose([loss, ...Object.values(grads)]);
      throw new Error(`no gradient reached "${this.trainable.names[missing]}": an op on its path has no backward pass (train with the reference ops)`);
    }
    return { loss, grads: this.trainable.variables.map((v) => grads[v.name]) };
  }

  /** Everything needed to continue this run exactly. */
  async saveState(): Promise<{ state: RunState; tensors: RunTensors }> {
    const read = async (ts: tf.Tensor[]) => Promise.all(ts.map(async (t) => Float32Array.from(await engine().read(t))));
    const adam = this.optimizer.state();
    return {
      state: {
        step: this.step,
        rng: this.rng.state(),
        loader: this.loader.state(),
        scaler: this.scaler.state(),
        adamStep: adam.step,
        losses: [...this.losses],
      },
      tensors: { weights: await read(this.trainable.variables), m: await read(adam.m), v: await read(adam.v) },
    };
  }

  dispose(): void {
    this.optimizer.dispose();
    this.accumulator.dispose();
    this.captions.dispose();
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
