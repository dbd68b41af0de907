// The contract between the schedulers and the per-element step kernel (WGSL on the GPU, cpu-evaluator.ts on
// the CPU). Every scheduler step here is linear in a few same-shaped tensors, so a step is a list of scalar
// coefficients ("plan") that one dispatch evaluates per element:
//
//   operands   S = current sample x_t, M = guided model output = U + g·(C − U) (uncond U, cond C, scale g),
//              H[k] = history slots (persistent tensors, k < historySlots), N = fresh standard normal noise
//   stage 1    X = x0.sample·S + x0.model·M + Σ x0.history[k]·H[k]      (the x0 prediction)
//              X = transform(X)   (none | clamp to ±range | dynamic threshold: needs a per-image quantile)
//   stage 2    x_next = out.sample·S + out.model·M + Σ out.history[k]·H[k] + out.x0·X + out.noise·N
//              H'[slot] = w.sample·S + w.model·M + Σ w.history[k]·H[k] + w.x0·X   for each write w
//
// All reads of stage 2 see the values from before the step (writes never feed each other), so the kernel
// may update H in place as long as one invocation reads all of an element's operands before writing.
import { type NoiseCoefficients, tableAt } from './betas';
import type { SchedulerConfig, SchedulerKind } from './config';

/** One linear combination of the operands. `x0` and `noise` are 0 in the stage-1 combination. */
export interface Combo {
  sample: number;
  model: number;
  /** One coefficient per history slot (length = historySlots). */
  history: number[];
  x0: number;
  noise: number;
}

export type X0Transform =
  | { kind: 'none' }
  /** clip_sample: X = clamp(X, −range, range). */
  | { kind: 'clamp'; range: number }
  /**
   * Dynamic thresholding (diffusers' _threshold_sample), per image of the batch: s = quantile(|X|, ratio)
   * with linear interpolation, clamped to [1, maxValue]; X = clamp(X, −s, s) / s. Not per-element: a
   * GPU version needs a reduction pass between the stages.
   */
  | { kind: 'threshold'; ratio: number; maxValue: number };

export interface StepPlan {
  x0: Combo;
  x0Transform: X0Transform;
  out: Combo;
  historyWrites: { slot: number; value: Combo }[];
  /**
   * Whether diffusers draws a noise tensor in this step. It can be true with out.noise = 0 (Euler always
   * draws one): a torch-compatible generator must still advance to stay in step with diffusers.
   */
  drawsNoise: boolean;
}

/** Serialisable position in the schedule; the history tensors themselves live with the caller. */
export interface SchedulerState {
  /** Index into `timesteps` of the step to take next. */
  stepIndex: number;
  /** Steps already taken by this run (img2img starts at stepIndex > 0 with none taken). */
  stepsTaken: number;
}

export interface Scheduler {
  readonly kind: SchedulerKind;
  readonly config: SchedulerConfig;
  readonly numInferenceSteps: number;
  readonly betas: Float32Array;
  readonly alphasCumprod: Float32Array;
  /** The loop's timesteps, one UNet call each (PNDM has numInferenceSteps + 1). */
  readonly timesteps: readonly number[];
  /** Sigma-based schedulers: sigmas per timestep plus the final one; null for the others. */
  readonly sigmas: readonly number[] | null;
  /** Initial noise is drawn as N(0, 1) and multiplied by this. */
  readonly initNoiseSigma: number;
  readonly historySlots: number;
  initialState(beginIndex?: number): SchedulerState;
  /** The timestep given to the UNet at this step. */
  timestep(state: SchedulerState): number;
  /** scale_model_input as a factor: UNet input = factor · sample. */
  scaleModelInput(state: SchedulerState): number;
  step(state: SchedulerState): { plan: StepPlan; state: SchedulerState };
  /** add_noise for img2img: the start latents for a run beginning at `stepIndex` = sample·x0 + noise·ε. */
  addNoiseCoefficients(stepIndex: number): NoiseCoefficients;
}

export type ComboTerms = Partial<Omit<Combo, 'history'>> & { history?: Record<number, number> };

export function combo(slots: number, terms: ComboTerms = {}): Combo {
  const history = new Array<number>(slots).fill(0);
  for (const [k, v] of Object.entries(terms.history ?? {})) {
    const slot = Number(k);
    if (slot >= slots) throw new RangeError(`history slot ${slot} out of ${slots}`);
    history[slot] = v;
  }
  return { sample: terms.sample ?? 0, model: terms.model ?? 0, history, x0: terms.x0 ?? 0, noise: terms.noise ?? 0 };
}

/** Σ k_i · c_i. */
export function mix(...terms: [number, Combo][]): Combo {
  const first = terms[0]![1];
  const out = combo(first.history.length);
  for (const [k, c] of terms) {
    out.sample += k * c.sample;
    out.model += k * c.model;
    out.x0 += k * c.x0;
    out.noise += k * c.noise;
    c.history.forEach((h, i) => (out.history[i]! += k * h));
  }
  return out;
}

/** Shared tables and bookkeeping; subclasses supply the per-step coefficients. */
export abstract class BaseScheduler implements Scheduler {
  abstract readonly kind: SchedulerKind;
  abstract readonly timesteps: readonly number[];
  abstract readonly historySlots: number;
  abstract readonly sigmas: readonly number[] | null;
  readonly initNoiseSigma: number = 1;

  constructor(
    readonly config: SchedulerConfig,
    readonly numInferenceSteps: number,
    readonly betas: Float32Array,
    readonly alphasCumprod: Float32Array,
  ) {}

  initialState(beginIndex = 0): SchedulerState {
    if (!Number.isInteger(beginIndex) || beginIndex < 0 || beginIndex >= this.timesteps.length) {
      throw new RangeError(`begin index ${beginIndex} outside the ${this.timesteps.length} timesteps`);
    }
    return { stepIndex: beginIndex, stepsTaken: 0 };
  }

  timestep(state: SchedulerState): number {
    this.checkState(state);
    return this.timesteps[state.stepIndex]!;
  }

  scaleModelInput(state: SchedulerState): number {
    this.checkState(state);
    return 1;
  }

  step(state: SchedulerState): { plan: StepPlan; state: SchedulerState } {
    this.checkState(state);
    return { plan: this.plan(state), state: { stepIndex: state.stepIndex + 1, stepsTaken: state.stepsTaken + 1 } };
  }

  addNoiseCoefficients(stepIndex: number): NoiseCoefficients {
    const a = tableAt(this.alphasCumprod, this.timesteps[stepIndex] ?? -1);
    return { sample: Math.sqrt(a), noise: Math.sqrt(1 - a) };
  }

  protected abstract plan(state: SchedulerState): StepPlan;

  protected combo(terms?: ComboTerms): Combo {
    return combo(this.historySlots, terms);
  }

  /** ᾱ at a timestep, or the "final" value before timestep 0. */
  protected alphaProd(t: number, final: number): number {
    return t >= 0 ? tableAt(this.alphasCumprod, t) : final;
  }

  private checkState(state: SchedulerState): void {
    if (!Number.isInteger(state.stepIndex) || state.stepIndex < 0 || state.stepIndex >= this.timesteps.length) {
      throw new RangeError(`${this.kind}: step index ${state.stepIndex} outside the ${this.timesteps.length} timesteps`);
    }
  }
}
