// Base of the k-diffusion style schedulers (Euler, Euler ancestral, DPM-Solver++): they walk a descending
// list of noise levels σ (x = x0 + σ·ε), with the sigma table σ(t) = sqrt((1 − ᾱ_t)/ᾱ_t).
import { makeAlphasCumprod, makeBetas } from './betas';
import type { SchedulerConfig } from './config';
import { checkSteps } from './discrete';
import { BaseScheduler, type SchedulerState } from './plan';

export abstract class SigmaScheduler extends BaseScheduler {
  abstract override readonly sigmas: readonly number[];

  constructor(config: SchedulerConfig, numInferenceSteps: number) {
    checkSteps(numInferenceSteps, config);
    const betas = makeBetas(config);
    const alphasCumprod = makeAlphasCumprod(betas);
    // With a zero-SNR schedule ᾱ_T = 0 would make σ infinite; diffusers substitutes 2^-24.
    if (config.rescaleBetasZeroSnr) alphasCumprod[alphasCumprod.length - 1] = 2 ** -24;
    super(config, numInferenceSteps, betas, alphasCumprod);
  }

  protected sigma(state: SchedulerState): number {
    return this.sigmas[state.stepIndex]!;
  }

  override addNoiseCoefficients(stepIndex: number): { sample: number; noise: number } {
    return { sample: 1, noise: this.sigmaAt(stepIndex) };
  }

  protected sigmaAt(stepIndex: number): number {
    const sigma = this.sigmas[stepIndex];
    if (sigma === undefined || stepIndex >= this.timesteps.length) {
      throw new RangeError(`${this.kind}: step index ${stepIndex} outside the ${this.timesteps.length} timesteps`);
    }
    return sigma;
  }
}

/** Euler's and Euler ancestral's initial noise scale: σ_max, or sqrt(σ_max² + 1) with "leading" spacing. */
export function eulerInitNoiseSigma(config: SchedulerConfig, sigmas: readonly number[]): number {
  const max = Math.max(...sigmas);
  return config.timestepSpacing === 'leading' ? Math.sqrt(max * max + 1) : max;
}
