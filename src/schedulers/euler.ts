// Euler's method on the probability-flow ODE in σ (Karras et al. 2022, Algorithm 2 without churn), diffusers'
// EulerDiscreteScheduler: x_next = x + (x − x0)/σ · (σ_next − σ). Optional Karras sigma spacing.
import type { SchedulerConfig } from './config';
import { spacedTimesteps } from './discrete';
import { f32, interpIndex, karrasSigmas, logF32, sigmaTable, sigmaToT } from './numeric';
import { mix, type StepPlan, type SchedulerState } from './plan';
import { eulerInitNoiseSigma, SigmaScheduler } from './sigma-scheduler';
import type { Combo } from './plan';

export class EulerScheduler extends SigmaScheduler {
  readonly kind = 'euler';
  readonly historySlots = 0;
  readonly timesteps: readonly number[];
  readonly sigmas: readonly number[];
  override readonly initNoiseSigma: number;

  constructor(config: SchedulerConfig, numInferenceSteps: number) {
    super(config, numInferenceSteps);
    const table = sigmaTable(this.alphasCumprod);
    let timesteps = spacedTimesteps(config, numInferenceSteps, false).map(f32);
    let sigmas = timesteps.map((t) => interpIndex(t, table));
    if (config.useKarrasSigmas) {
      sigmas = karrasSigmas(config.sigmaMin ?? sigmas[sigmas.length - 1]!, config.sigmaMax ?? sigmas[0]!, numInferenceSteps);
      const logSigmas = logF32(table);
      timesteps = sigmas.map((s) => f32(sigmaToT(s, logSigmas)));
    }
    const last = config.finalSigmasType === 'sigma_min' ? table[0]! : 0;
    this.sigmas = [...sigmas, last].map(f32);
    this.timesteps = timesteps;
    this.initNoiseSigma = eulerInitNoiseSigma(config, this.sigmas);
  }

  override scaleModelInput(state: SchedulerState): number {
    const sigma = this.sigmaAt(state.stepIndex);
    return 1 / Math.sqrt(sigma * sigma + 1);
  }

  protected plan(state: SchedulerState): StepPlan {
    const sigma = this.sigma(state);
    const dt = this.sigmas[state.stepIndex + 1]! - sigma;
    return {
      x0: sigmaX0(this.config, sigma, this.combo({ sample: 1 }), this.combo({ model: 1 })),
      x0Transform: { kind: 'none' },
      // x + (x − x0)/σ · dt
      out: this.combo({ sample: 1 + dt / sigma, x0: -dt / sigma }),
      historyWrites: [],
      // diffusers draws the churn noise every step, even with s_churn = 0.
      drawsNoise: true,
    };
  }
}

/** The x0 prediction of the σ-parameterised schedulers (c_skip / c_out of the VP-as-VE reading). */
export function sigmaX0(config: SchedulerConfig, sigma: number, sample: Combo, model: Combo): Combo {
  switch (config.predictionType) {
    case 'epsilon':
      return mix([1, sample], [-sigma, model]);
    case 'v_prediction':
      return mix([1 / (sigma * sigma + 1), sample], [-sigma / Math.sqrt(sigma * sigma + 1), model]);
    case 'sample':
      return model;
  }
}
