// The CPU reference of the step kernel: evaluates a StepPlan (plan.ts) in float64, element by element,
// with classifier-free guidance folded in exactly as the WGSL dispatch does. Tests compare the GPU kernel
// against this, and the scheduler tests run whole denoising loops with it.
import type { Combo, StepPlan, X0Transform } from './plan';

export type Tensor = Float32Array | Float64Array;

/** The model output: already guided, or the two halves of a CFG batch and the guidance scale. */
export type ModelOutput = Tensor | { uncond: Tensor; cond: Tensor; scale: number };

export interface StepInputs {
  sample: Tensor;
  model: ModelOutput;
  /** One tensor per history slot (contents are ignored for slots the plan does not read yet). */
  history: readonly Tensor[];
  /** Standard normal noise; required when the plan's output uses it. */
  noise?: Tensor;
  /** Images in the batch (dynamic thresholding is per image); default 1. */
  batch?: number;
}

export interface StepResult {
  sample: Float64Array;
  /** The transformed x0 prediction (for previews). */
  x0: Float64Array;
  history: Float64Array[];
}

export function evaluateStepPlan(plan: StepPlan, inputs: StepInputs): StepResult {
  const { sample, history } = inputs;
  const n = sample.length;
  const slots = plan.out.history.length;
  if (history.length !== slots) throw new Error(`plan has ${slots} history slots, got ${history.length} tensors`);
  const model = guided(inputs.model, n);
  const check = (t: Tensor, what: string) => {
    if (t.length !== n) throw new Error(`${what} has ${t.length} elements, the sample ${n}`);
  };
  check(model, 'model output');
  history.forEach((h, k) => check(h, `history slot ${k}`));
  const noise = inputs.noise;
  if (plan.out.noise !== 0) {
    if (!noise) throw new Error('this step needs a noise tensor');
    check(noise, 'noise');
  }

  const x0 = new Float64Array(n);
  for (let i = 0; i < n; i++) x0[i] = combine(plan.x0, i, sample, model, history, 0, 0);
  applyTransform(plan.x0Transform, x0, inputs.batch ?? 1);

  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = combine(plan.out, i, sample, model, history, x0[i]!, noise ? noise[i]! : 0);
  const next = history.map((h) => Float64Array.from(h));
  for (const { slot, value } of plan.historyWrites) {
    const dst = next[slot]!;
    for (let i = 0; i < n; i++) dst[i] = combine(value, i, sample, model, history, x0[i]!, 0);
  }
  return { sample: out, x0, history: next };
}

function guided(m: ModelOutput, n: number): Tensor {
  if (!('scale' in m)) return m;
  if (m.uncond.length !== n || m.cond.length !== n) throw new Error('uncond/cond model outputs must match the sample');
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = m.uncond[i]! + m.scale * (m.cond[i]! - m.uncond[i]!);
  return out;
}

function combine(c: Combo, i: number, s: Tensor, m: Tensor, h: readonly Tensor[], x0: number, noise: number): number {
  let v = c.sample * s[i]! + c.model * m[i]!;
  for (let k = 0; k < c.history.length; k++) if (c.history[k] !== 0) v += c.history[k]! * h[k]![i]!;
  // Skip zero terms so that an unused noise or x0 operand cannot turn an Infinity/NaN elsewhere into NaN.
  if (c.x0 !== 0) v += c.x0 * x0;
  if (c.noise !== 0) v += c.noise * noise;
  return v;
}

function applyTransform(t: X0Transform, x0: Float64Array, batch: number): void {
  if (t.kind === 'none') return;
  if (t.kind === 'clamp') {
    for (let i = 0; i < x0.length; i++) x0[i] = Math.min(t.range, Math.max(-t.range, x0[i]!));
    return;
  }
  if (!Number.isInteger(batch) || batch < 1 || x0.length % batch !== 0) throw new Error(`batch ${batch} does not divide ${x0.length}`);
  const per = x0.length / batch;
  for (let b = 0; b < batch; b++) {
    const item = x0.subarray(b * per, (b + 1) * per);
    const s = Math.min(t.maxValue, Math.max(1, quantile(Float64Array.from(item, Math.abs), t.ratio)));
    for (let i = 0; i < per; i++) item[i] = Math.min(s, Math.max(-s, item[i]!)) / s;
  }
}

/** torch.quantile with linear interpolation. */
function quantile(values: Float64Array, q: number): number {
  values.sort();
  const pos = q * (values.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, values.length - 1);
  return values[lo]! + (values[hi]! - values[lo]!) * (pos - lo);
}
