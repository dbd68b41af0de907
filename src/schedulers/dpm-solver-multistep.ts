// DPM-Solver++ 2M (Lu et al. 2022, multistep, data prediction), diffusers' DPMSolverMultistepScheduler with
// algorithm_type "dpmsolver++". In log-SNR λ = log(α/σ): x_t = (σ_t/σ_s)·x_s − α_t(e^{−h} − 1)·D, h = λ_t − λ_s,
// where D is this step's x0 prediction (first order) or x0 plus a midpoint/Heun correction from the previous
// x0 prediction, kept in history slot 0. The last step is first order (lower_order_final / final sigma 0).
import type { SchedulerConfig } from './config';
import { f32, interpIndex, karrasSigmas, linspace, logF32, roundHalfEven, sigmaTable, sigmaToT, arange } from './numeric';
import { mix, type Combo, type SchedulerState, type StepPlan } from './plan';
import { SigmaScheduler } from './sigma-scheduler';

const PREV_X0 = 0;

export class DpmSolverMultistepScheduler extends SigmaScheduler {
  readonly kind = 'dpmpp-2m';
  readonly historySlots: number;
  readonly timesteps: readonly number[];
  readonly sigmas: readonly number[];

  constructor(config: SchedulerConfig, numInferenceSteps: number) {
    super(config, numInferenceSteps);
    this.historySlots = config.solverOrder - 1;
    const table = sigmaTable(this.alphasCumprod);
    let timesteps = this.baseTimesteps(numInferenceSteps);
    let sigmas: number[];
    if (config.useKarrasSigmas) {
      sigmas = karrasSigmas(table[0]!, table[table.length - 1]!, numInferenceSteps);
      const logSigmas = logF32(table);
      timesteps = sigmas.map((s) => roundHalfEven(sigmaToT(s, logSigmas)));
    } else {
      sigmas = timesteps.map((t) => interpIndex(t, table));
    }
    const last = config.finalSigmasType === 'sigma_min' ? table[0]! : 0;
    this.sigmas = [...sigmas, last].map(f32);
    this.timesteps = timesteps;
  }

  private baseTimesteps(n: number): number[] {
    const c = this.config;
    // λ_min_clipped drops the noisiest timesteps whose log-SNR is below it (for cosine schedules).
    const clipped = Array.from(this.alphasCumprod, (a) => lambda(Math.sqrt(a), Math.sqrt(1 - a))).filter((l) => l < c.lambdaMinClipped).length;
    const last = c.numTrainTimesteps - clipped;
    switch (c.timestepSpacing) {
      case 'linspace':
        return linspace(0, last - 1, n + 1).map(roundHalfEven).reverse().slice(0, -1);
      case 'leading': {
        const ratio = Math.floor(last / (n + 1));
        return Array.from({ length: n + 1 }, (_, i) => i * ratio).reverse().slice(0, -1).map((t) => t + c.stepsOffset);
      }
      case 'trailing':
        return arange(last, 0, -c.numTrainTimesteps / n).map((t) => roundHalfEven(t) - 1);
    }
  }

  protected plan(state: SchedulerState): StepPlan {
    const c = this.config;
    const i = state.stepIndex;
    const steps = this.timesteps.length;
    const finalFirstOrder = i === steps - 1 && (c.eulerAtFinal || (c.lowerOrderFinal && steps < 15) || c.finalSigmasType === 'zero');
    const firstOrder = c.solverOrder === 1 || state.stepsTaken < 1 || finalFirstOrder;

    const S = this.combo({ sample: 1 });
    const X = this.combo({ x0: 1 });
    const [alphaS0, sigmaS0] = alphaSigma(this.sigmas[i]!);
    const [alphaT, sigmaT] = alphaSigma(this.sigmas[i + 1]!);
    // σ_t may be 0 at the end: λ_t = +∞, e^{−h} = 0 and the step lands on the x0 prediction.
    const h = lambda(alphaT, sigmaT) - lambda(alphaS0, sigmaS0);
    const expm = alphaT * (Math.exp(-h) - 1);
    let out;
    if (firstOrder) {
      out = mix([sigmaT / sigmaS0, S], [-expm, X]);
    } else {
      const [alphaS1, sigmaS1] = alphaSigma(this.sigmas[i - 1]!);
      const r0 = (lambda(alphaS0, sigmaS0) - lambda(alphaS1, sigmaS1)) / h;
      const D1 = mix([1 / r0, X], [-1 / r0, this.combo({ history: { [PREV_X0]: 1 } })]);
      const correction = c.solverType === 'midpoint' ? -0.5 * expm : alphaT * ((Math.exp(-h) - 1) / h + 1);
      out = mix([sigmaT / sigmaS0, S], [-expm, X], [correction, D1]);
    }
    return {
      x0: this.x0(alphaS0, sigmaS0, S, this.combo({ model: 1 })),
      x0Transform: c.thresholding ? { kind: 'threshold', ratio: c.dynamicThresholdingRatio, maxValue: c.sampleMaxValue } : { kind: 'none' },
      out,
      historyWrites: this.historySlots > 0 ? [{ slot: PREV_X0, value: X }] : [],
      drawsNoise: false,
    };
  }

  /** convert_model_output for dpmsolver++: the data prediction at (α_s, σ_s). */
  private x0(alpha: number, sigma: number, sample: Combo, model: Combo): Combo {
    switch (this.config.predictionType) {
      case 'epsilon':
        return mix([1 / alpha, sample], [-sigma / alpha, model]);
      case 'v_prediction':
        return mix([alpha, sample], [-sigma, model]);
      case 'sample':
        return model;
    }
  }

  override addNoiseCoefficients(stepIndex: number): { sample: number; noise: number } {
    const [alpha, sigma] = alphaSigma(this.sigmaAt(stepIndex));
    return { sample: alpha, noise: sigma };
  }
}

/** σ (k-diffusion) -> (α_t, σ_t) of the VP process. */
function alphaSigma(sigma: number): [number, number] {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  return [alpha, sigma * alpha];
}

function lambda(alpha: number, sigma: number): number {
  return Math.log(alpha) - Math.log(sigma);
}
