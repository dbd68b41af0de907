// Pieces shared by the schedulers: timestep spacing (Table 2 of arXiv:2305.08891, as diffusers implements it),
// the VP parameterisations and the x0 transform from the config.
import type { PredictionType, SchedulerConfig } from './config';
import { arange, linspace, roundHalfEven } from './numeric';
import type { Combo, X0Transform } from './plan';
import { mix } from './plan';

export function checkSteps(n: number, c: SchedulerConfig): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`number of inference steps must be an integer >= 1, got ${n}`);
  if (n > c.numTrainTimesteps) {
    throw new RangeError(`number of inference steps ${n} exceeds num_train_timesteps ${c.numTrainTimesteps}`);
  }
}

/**
 * DDIM/DDPM/PNDM/Euler timesteps, descending. `roundLinspace` false keeps linspace's fractional values
 * (Euler's float timesteps).
 */
export function spacedTimesteps(c: SchedulerConfig, n: number, roundLinspace = true): number[] {
  const N = c.numTrainTimesteps;
  switch (c.timestepSpacing) {
    case 'linspace':
      return linspace(0, N - 1, n)
        .map((t) => (roundLinspace ? roundHalfEven(t) : t))
        .reverse();
    case 'leading': {
      const ratio = Math.floor(N / n);
      return Array.from({ length: n }, (_, i) => i * ratio + c.stepsOffset).reverse();
    }
    case 'trailing':
      return arange(N, 0, -N / n).map((t) => roundHalfEven(t) - 1);
  }
}

/** The two VP readings of a model output at ᾱ_t: predicted x0 and predicted ε, as combinations of S and M. */
export function vpPredictions(
  type: PredictionType,
  alphaProd: number,
  sample: Combo,
  model: Combo,
): { x0: Combo; eps: Combo } {
  const a = Math.sqrt(alphaProd);
  const b = Math.sqrt(1 - alphaProd);
  switch (type) {
    case 'epsilon':
      return { x0: mix([1 / a, sample], [-b / a, model]), eps: model };
    case 'sample':
      return { x0: model, eps: mix([1 / b, sample], [-a / b, model]) };
    case 'v_prediction':
      return { x0: mix([a, sample], [-b, model]), eps: mix([a, model], [b, sample]) };
  }
}

/** thresholding wins over clip_sample, as in diffusers. */
export function x0Transform(c: SchedulerConfig): X0Transform {
  if (c.thresholding) return { kind: 'threshold', ratio: c.dynamicThresholdingRatio, maxValue: c.sampleMaxValue };
  if (c.clipSample) return { kind: 'clamp', range: c.clipSampleRange };
  return { kind: 'none' };
}
