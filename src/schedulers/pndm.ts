// PNDM with skip_prk_steps (Stable Diffusion 1.x's default): the PLMS linear multistep sampler of
// CompVis latent-diffusion, as diffusers' PNDMScheduler.step_plms runs it. Step c (0-based) combines this and
// the last three model outputs with Adams-Bashforth weights; step 1 re-does step 0's interval with the mean of
// the two first outputs (a Heun-like warm-up), which is why the loop has numInferenceSteps + 1 UNet calls.
import { makeAlphasCumprod, makeBetas } from './betas';
import type { SchedulerConfig } from './config';
import { checkSteps, spacedTimesteps, vpPredictions } from './discrete';
import { BaseScheduler, mix, type SchedulerState, type StepPlan } from './plan';

// History slots: the three previous model outputs (newest first) and the sample stashed at step 0.
const PREV_1 = 0;
const PREV_2 = 1;
const PREV_3 = 2;
const STASHED_SAMPLE = 3;

export class PndmScheduler extends BaseScheduler {
  readonly kind = 'pndm';
  readonly historySlots = 4;
  readonly timesteps: readonly number[];
  readonly sigmas = null;
  private readonly finalAlphaProd: number;
  private readonly stride: number;

  constructor(config: SchedulerConfig, numInferenceSteps: number) {
    checkSteps(numInferenceSteps, config);
    const betas = makeBetas(config);
    super(config, numInferenceSteps, betas, makeAlphasCumprod(betas));
    this.finalAlphaProd = config.setAlphaToOne ? 1 : this.alphasCumprod[0]!;
    this.stride = Math.floor(config.numTrainTimesteps / numInferenceSteps);
    // Ascending base schedule t_0 < ... < t_{n-1}; the loop runs t_{n-1}, t_{n-2}, t_{n-2}, t_{n-3}, ..., t_0.
    const base = spacedTimesteps(config, numInferenceSteps).reverse();
    this.timesteps = [...base.slice(0, -1), ...base.slice(-2, -1), ...base.slice(-1)].reverse();
  }

  protected plan(state: SchedulerState): StepPlan {
    const counter = state.stepsTaken;
    let t = this.timesteps[state.stepIndex]!;
    let prevT = t - this.stride;
    if (counter === 1) {
      // The warm-up's second call redoes the first interval: from t + stride down to t.
      prevT = t;
      t += this.stride;
    }
    const M = this.combo({ model: 1 });
    const prev = (k: number) => this.combo({ history: { [k]: 1 } });
    // Model outputs recorded so far, this one included (step 1 records nothing).
    const recorded = Math.max(counter, 1);
    let output;
    if (counter === 1) output = mix([0.5, M], [0.5, prev(PREV_1)]);
    else if (recorded === 1) output = M;
    else if (recorded === 2) output = mix([1.5, M], [-0.5, prev(PREV_1)]);
    else if (recorded === 3) output = mix([23 / 12, M], [-16 / 12, prev(PREV_1)], [5 / 12, prev(PREV_2)]);
    else output = mix([55 / 24, M], [-59 / 24, prev(PREV_1)], [37 / 24, prev(PREV_2)], [-9 / 24, prev(PREV_3)]);
    const sample = counter === 1 ? prev(STASHED_SAMPLE) : this.combo({ sample: 1 });

    const alphaProd = this.alphaProd(t, this.finalAlphaProd);
    const alphaProdPrev = this.alphaProd(prevT, this.finalAlphaProd);
    const betaProd = 1 - alphaProd;
    const betaProdPrev = 1 - alphaProdPrev;
    // PLMS mixes raw outputs; v-prediction is converted to ε after mixing, as diffusers does.
    const { x0, eps } = vpPredictions(this.config.predictionType, alphaProd, sample, output);
    // Formula (9) of the PNDM paper.
    const sampleCoeff = Math.sqrt(alphaProdPrev / alphaProd);
    const denom = alphaProd * Math.sqrt(betaProdPrev) + Math.sqrt(alphaProd * betaProd * alphaProdPrev);
    const out = mix([sampleCoeff, sample], [-(alphaProdPrev - alphaProd) / denom, eps]);

    const historyWrites =
      counter === 1
        ? []
        : [
            { slot: PREV_1, value: M },
            { slot: PREV_2, value: prev(PREV_1) },
            { slot: PREV_3, value: prev(PREV_2) },
            ...(counter === 0 ? [{ slot: STASHED_SAMPLE, value: this.combo({ sample: 1 }) }] : []),
          ];
    return {
      x0, // not used by the update; the preview's x0
      x0Transform: { kind: 'none' },
      out,
      historyWrites,
      drawsNoise: false,
    };
  }
}
