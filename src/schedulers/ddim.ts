// DDIM (Song et al. 2020), diffusers' DDIMScheduler: eta = 0 is the deterministic sampler, eta > 0 adds
// fresh noise with σ_t = eta · sqrt((1 − ᾱ_prev)/(1 − ᾱ_t) · (1 − ᾱ_t/ᾱ_prev)).
import { makeAlphasCumprod, makeBetas } from './betas';
import type { SchedulerConfig } from './config';
import { checkSteps, spacedTimesteps, vpPredictions, x0Transform } from './discrete';
import { BaseScheduler, mix, type SchedulerState, type StepPlan } from './plan';

export interface DdimOptions {
  eta?: number;
  /** Re-derive ε from the clipped x0 (GLIDE); only matters with clip_sample or thresholding. */
  useClippedModelOutput?: boolean;
}

export class DdimScheduler extends BaseScheduler {
  readonly kind = 'ddim';
  readonly historySlots = 0;
  readonly timesteps: readonly number[];
  readonly sigmas = null;
  readonly eta: number;
  private readonly useClippedModelOutput: boolean;
  private readonly finalAlphaProd: number;

  constructor(config: SchedulerConfig, numInferenceSteps: number, options: DdimOptions = {}) {
    checkSteps(numInferenceSteps, config);
    const betas = makeBetas(config);
    super(config, numInferenceSteps, betas, makeAlphasCumprod(betas));
    this.eta = options.eta ?? 0;
    if (!(this.eta >= 0)) throw new RangeError(`DDIM eta must be >= 0, got ${this.eta}`);
    this.useClippedModelOutput = options.useClippedModelOutput ?? false;
    this.finalAlphaProd = config.setAlphaToOne ? 1 : this.alphasCumprod[0]!;
    this.timesteps = spacedTimesteps(config, numInferenceSteps);
  }

  protected plan(state: SchedulerState): StepPlan {
    const t = this.timesteps[state.stepIndex]!;
    // diffusers steps back by a fixed stride whatever the spacing (so linspace/trailing may skip or overlap).
    const prevT = t - Math.floor(this.config.numTrainTimesteps / this.numInferenceSteps);
    const alphaProd = this.alphaProd(t, this.finalAlphaProd);
    const alphaProdPrev = this.alphaProd(prevT, this.finalAlphaProd);
    const S = this.combo({ sample: 1 });
    const X = this.combo({ x0: 1 });
    const { x0, eps: rawEps } = vpPredictions(this.config.predictionType, alphaProd, S, this.combo({ model: 1 }));
    const eps = this.useClippedModelOutput
      ? mix([1 / Math.sqrt(1 - alphaProd), S], [-Math.sqrt(alphaProd / (1 - alphaProd)), X])
      : rawEps;
    const variance = ((1 - alphaProdPrev) / (1 - alphaProd)) * (1 - alphaProd / alphaProdPrev);
    const std = this.eta * Math.sqrt(variance);
    const out = mix(
      [Math.sqrt(alphaProdPrev), X],
      [Math.sqrt(1 - alphaProdPrev - std ** 2), eps],
      [std, this.combo({ noise: 1 })],
    );
    return { x0, x0Transform: x0Transform(this.config), out, historyWrites: [], drawsNoise: this.eta > 0 };
  }
}
