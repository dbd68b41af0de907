// Euler ancestral (k-diffusion's sample_euler_ancestral), diffusers' EulerAncestralDiscreteScheduler: an Euler
// step down to σ_down, then fresh noise of σ_up, with σ_down² + σ_up² = σ_next².
import type { SchedulerConfig } from './config';
import { sigmaX0 } from './euler';
import { spacedTimesteps } from './discrete';
import { f32, interpIndex, sigmaTable } from './numeric';
import type { SchedulerState, StepPlan } from './plan';
import { eulerInitNoiseSigma, SigmaScheduler } from './sigma-scheduler';

export class EulerAncestralScheduler extends SigmaScheduler {
  readonly kind = 'euler-a';
  readonly historySlots = 0;
  readonly timesteps: readonly number[];
  readonly sigmas: readonly number[];
  override readonly initNoiseSigma: number;

  constructor(config: SchedulerConfig, numInferenceSteps: number) {
    super(config, numInferenceSteps);
    const table = sigmaTable(this.alphasCumprod);
    this.timesteps = spacedTimesteps(config, numInferenceSteps, false).map(f32);
    this.sigmas = [...this.timesteps.map((t) => interpIndex(t, table)), 0].map(f32);
    this.initNoiseSigma = eulerInitNoiseSigma(config, this.sigmas);
  }

  override scaleModelInput(state: SchedulerState): number {
    const sigma = this.sigmaAt(state.stepIndex);
    return 1 / Math.sqrt(sigma * sigma + 1);
  }

  protected plan(state: SchedulerState): StepPlan {
    const sigma = this.sigma(state);
    const next = this.sigmas[state.stepIndex + 1]!;
    const sigmaUp = Math.sqrt((next ** 2 * (sigma ** 2 - next ** 2)) / sigma ** 2);
    const sigmaDown = Math.sqrt(next ** 2 - sigmaUp ** 2);
    const dt = sigmaDown - sigma;
    return {
      x0: sigmaX0(this.config, sigma, this.combo({ sample: 1 }), this.combo({ model: 1 })),
      x0Transform: { kind: 'none' },
      out: this.combo({ sample: 1 + dt / sigma, x0: -dt / sigma, noise: sigmaUp }),
      historyWrites: [],
      drawsNoise: true,
    };
  }
}
