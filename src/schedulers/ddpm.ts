// DDPM ancestral sampling (Ho et al. 2020), diffusers' DDPMScheduler over a strided schedule: the posterior
// mean of q(x_prev | x_t, x0) plus noise with the configured variance; no noise at t = 0.
import { makeAlphasCumprod, makeBetas } from './betas';
import type { SchedulerConfig } from './config';
import { checkSteps, spacedTimesteps, vpPredictions, x0Transform } from './discrete';
import { BaseScheduler, mix, type SchedulerState, type StepPlan } from './plan';

export class DdpmScheduler extends BaseScheduler {
  readonly kind = 'ddpm';
  readonly historySlots = 0;
  readonly timesteps: readonly number[];
  readonly sigmas = null;

  constructor(config: SchedulerConfig, numInferenceSteps: number) {
    checkSteps(numInferenceSteps, config);
    const betas = makeBetas(config);
    super(config, numInferenceSteps, betas, makeAlphasCumprod(betas));
    this.timesteps = spacedTimesteps(config, numInferenceSteps);
  }

  protected plan(state: SchedulerState): StepPlan {
    const t = this.timesteps[state.stepIndex]!;
    // The previous timestep is the next entry of the schedule (−1 after the last: ᾱ = 1).
    const prevT = this.timesteps[state.stepIndex + 1] ?? -1;
    const alphaProd = this.alphaProd(t, 1);
    const alphaProdPrev = this.alphaProd(prevT, 1);
    const betaProd = 1 - alphaProd;
    const betaProdPrev = 1 - alphaProdPrev;
    const currentAlpha = alphaProd / alphaProdPrev;
    const currentBeta = 1 - currentAlpha;
    const S = this.combo({ sample: 1 });
    const { x0 } = vpPredictions(this.config.predictionType, alphaProd, S, this.combo({ model: 1 }));
    // Formula (7) of the DDPM paper.
    const x0Coeff = (Math.sqrt(alphaProdPrev) * currentBeta) / betaProd;
    const sampleCoeff = (Math.sqrt(currentAlpha) * betaProdPrev) / betaProd;
    const noisy = t > 0;
    const out = mix([x0Coeff, this.combo({ x0: 1 })], [sampleCoeff, S], [noisy ? this.noiseStd(currentBeta, betaProd, betaProdPrev) : 0, this.combo({ noise: 1 })]);
    return { x0, x0Transform: x0Transform(this.config), out, historyWrites: [], drawsNoise: noisy };
  }

  private noiseStd(currentBeta: number, betaProd: number, betaProdPrev: number): number {
    // β̃_t of formula (7), floored as diffusers does to keep the log finite.
    const posterior = Math.max((betaProdPrev / betaProd) * currentBeta, 1e-20);
    switch (this.config.varianceType) {
      case 'fixed_small':
        return Math.sqrt(posterior);
      case 'fixed_small_log':
        return Math.exp(0.5 * Math.log(posterior));
      case 'fixed_large':
        return Math.sqrt(currentBeta);
    }
  }
}
