// Plan-based schedulers against the independent float64 transcription in reference.ts, with explicit noise,
// random model outputs and several steps; timestep tables against values worked out from diffusers' code.
import { describe, expect, it } from 'vitest';
import { createScheduler, evaluateStepPlan, img2imgStart } from '../../src/schedulers';
import type { Scheduler, SchedulerKind, SchedulerState } from '../../src/schedulers';
import { gaussian, relError } from './helpers';
import { RefDdim, RefDdpm, RefDpmpp2m, RefEuler, RefPndm, refAlphasCumprod } from './reference';

const SD15 = {
  _class_name: 'PNDMScheduler',
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  num_train_timesteps: 1000,
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  clip_sample: false,
};
const SIZE = 2 * 4 * 4 * 4; // batch 2 of 4×4×4 latents

/** Runs `scheduler` with the given per-step model outputs and noise; returns the sample after each step. */
function runPlans(scheduler: Scheduler, init: Float64Array, models: Float64Array[], noises: Float64Array[], begin = 0, batch = 2): Float64Array[] {
  let sample = init;
  let history: Float64Array[] = Array.from({ length: scheduler.historySlots }, () => new Float64Array(init.length));
  let state: SchedulerState = scheduler.initialState(begin);
  const out: Float64Array[] = [];
  models.forEach((model, k) => {
    // Round-trip the state through JSON every step: it must be all a resumed run needs besides the tensors.
    state = JSON.parse(JSON.stringify(state)) as SchedulerState;
    const { plan, state: next } = scheduler.step(state);
    const r = evaluateStepPlan(plan, { sample, model, history, noise: noises[k], batch });
    ({ sample, history } = r);
    state = next;
    out.push(sample);
  });
  return out;
}

function inputs(steps: number, seed: number, scale = 1) {
  return {
    init: gaussian(SIZE, seed),
    models: Array.from({ length: steps }, (_, k) => gaussian(SIZE, seed * 100 + k).map((v) => v * scale)),
    noises: Array.from({ length: steps }, (_, k) => gaussian(SIZE, seed * 1000 + k)),
  };
}

function expectClose(ours: Float64Array[], ref: Float64Array[], tol = 1e-6): void {
  expect(ours.length).toBe(ref.length);
  ours.forEach((o, k) => expect(relError(o, ref[k]!), `step ${k}`).toBeLessThan(tol));
}

describe('timestep tables', () => {
  const ts = (kind: SchedulerKind, n: number, overrides: Record<string, unknown>) => createScheduler(kind, SD15, n, { overrides }).timesteps;
  it('DDIM / DDPM: leading, trailing, linspace', () => {
    expect(ts('ddim', 5, {})).toEqual([801, 601, 401, 201, 1]);
    expect(ts('ddim', 5, { timestep_spacing: 'trailing' })).toEqual([999, 799, 599, 399, 199]);
    expect(ts('ddim', 5, { timestep_spacing: 'linspace' })).toEqual([999, 749, 500, 250, 0]); // 499.5 rounds to even
    expect(ts('ddpm', 3, { timestep_spacing: 'trailing' })).toEqual([999, 666, 332]);
    expect(ts('ddim', 16, { timestep_spacing: 'trailing' }).slice(0, 4)).toEqual([999, 937, 874, 811]); // 937.5 -> 938 - 1
  });
  it('PNDM repeats the second timestep', () => {
    expect(ts('pndm', 5, {})).toEqual([801, 601, 601, 401, 201, 1]);
    expect(ts('pndm', 5, { timestep_spacing: 'trailing' })).toEqual([999, 799, 799, 599, 399, 199]);
    expect(ts('pndm', 5, { timestep_spacing: 'linspace' })).toEqual([999, 749, 749, 500, 250, 0]);
  });
  it('DPM-Solver++ splits n + 1 intervals', () => {
    expect(ts('dpmpp-2m', 5, {})).toEqual([999, 799, 599, 400, 200]);
    expect(ts('dpmpp-2m', 5, { timestep_spacing: 'leading' })).toEqual([831, 665, 499, 333, 167]);
    expect(ts('dpmpp-2m', 5, { timestep_spacing: 'trailing' })).toEqual([999, 799, 599, 399, 199]);
  });
  it('Euler keeps fractional linspace timesteps; leading scales the initial noise', () => {
    expect(ts('euler', 5, {})).toEqual([999, 749.25, 499.5, 249.75, 0]);
    const leading = createScheduler('euler-a', SD15, 5, { overrides: { timestep_spacing: 'leading' } });
    expect(leading.timesteps).toEqual([801, 601, 401, 201, 1]);
    expect(leading.initNoiseSigma).toBeCloseTo(Math.sqrt(leading.sigmas![0]! ** 2 + 1), 10);
  });
  it('tables match the reference for every beta schedule', () => {
    for (const schedule of ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const) {
      const s = createScheduler('ddpm', { ...SD15, beta_schedule: schedule }, 10);
      expect(relError(s.alphasCumprod, refAlphasCumprod({ schedule }))).toBeLessThan(1e-6);
    }
  });
});

describe('steps against the float64 reference', () => {
  it('DDIM eta = 0.5 and eta = 1 with v-prediction and trailing spacing', () => {
    const { init, models, noises } = inputs(6, 1);
    const a = createScheduler('ddim', SD15, 6, { eta: 0.5 });
    const refA = new RefDdim({ offset: 1 }, 6);
    let x = init;
    expectClose(runPlans(a, init, models, noises), models.map((m, k) => (x = refA.step(m, refA.timesteps[k]!, x, 0.5, noises[k]!))));
    const b = createScheduler('ddim', SD15, 6, { eta: 1, overrides: { prediction_type: 'v_prediction', timestep_spacing: 'trailing' } });
    const refB = new RefDdim({ prediction: 'v_prediction', spacing: 'trailing' }, 6);
    expect(b.timesteps).toEqual(refB.timesteps);
    x = init;
    expectClose(runPlans(b, init, models, noises), models.map((m, k) => (x = refB.step(m, refB.timesteps[k]!, x, 1, noises[k]!))));
  });

  it('DDIM clip_sample, thresholding and sample prediction', () => {
    const { init, models } = inputs(4, 2, 3); // large outputs so that clipping engages
    for (const variant of [
      { overrides: { clip_sample: true }, ref: { clipSample: true } },
      { overrides: { thresholding: true, sample_max_value: 2.5 }, ref: { thresholding: { batch: 2, ratio: 0.995, max: 2.5 } } },
      { overrides: { prediction_type: 'sample', clip_sample: true }, ref: { prediction: 'sample' as const, clipSample: true } },
    ]) {
      const ours = createScheduler('ddim', SD15, 4, { overrides: variant.overrides });
      expect(ours.step(ours.initialState()).plan.x0Transform.kind).not.toBe('none');
      const ref = new RefDdim({ offset: 1, ...variant.ref }, 4);
      let x = init;
      expectClose(runPlans(ours, init, models, []), models.map((m, k) => (x = ref.step(m, ref.timesteps[k]!, x, 0, null))));
    }
  });

  it('DDPM: epsilon / leading, v-prediction / trailing, fixed_small_log and fixed_large', () => {
    const { init, models, noises } = inputs(5, 3);
    for (const [overrides, refConfig] of [
      [{}, { offset: 1 }],
      [{ prediction_type: 'v_prediction', timestep_spacing: 'trailing', variance_type: 'fixed_small_log' }, { prediction: 'v_prediction', spacing: 'trailing', variance: 'fixed_small_log' }],
      [{ variance_type: 'fixed_large', timestep_spacing: 'linspace' }, { variance: 'fixed_large', spacing: 'linspace' }],
    ] as const) {
      const ours = createScheduler('ddpm', SD15, 5, { overrides });
      const ref = new RefDdpm(refConfig, 5);
      let x = init;
      expectClose(runPlans(ours, init, models, noises), models.map((m, k) => (x = ref.step(m, ref.timesteps[k]!, x, noises[k]!))));
    }
    // No noise is drawn at t = 0.
    const s = createScheduler('ddpm', SD15, 5, { overrides: { timestep_spacing: 'linspace' } });
    const last = s.step({ stepIndex: 4, stepsTaken: 4 }).plan;
    expect([last.drawsNoise, last.out.noise]).toEqual([false, 0]);
  });

  it('PNDM with v-prediction and linspace spacing', () => {
    const { init, models } = inputs(6, 4);
    const ours = createScheduler('pndm', SD15, 5, { overrides: { prediction_type: 'v_prediction', timestep_spacing: 'linspace' } });
    const ref = new RefPndm({ prediction: 'v_prediction', spacing: 'linspace' }, 5);
    expect(ours.timesteps).toEqual(ref.timesteps);
    let x = init;
    expectClose(runPlans(ours, init, models, []), models.map((m, k) => (x = ref.step(m, ref.timesteps[k]!, x))));
  });

  it('Euler ancestral (epsilon and v-prediction, leading) and Euler with Karras sigmas', () => {
    const { init, models, noises } = inputs(7, 5);
    for (const [kind, overrides, refConfig] of [
      ['euler-a', {}, { ancestral: true }],
      ['euler-a', { prediction_type: 'v_prediction', timestep_spacing: 'leading' }, { ancestral: true, prediction: 'v_prediction', spacing: 'leading', offset: 1 }],
      ['euler', { use_karras_sigmas: true }, { karras: true }],
    ] as const) {
      const ours = createScheduler(kind, SD15, 7, { overrides });
      const ref = new RefEuler(refConfig, 7);
      expect(relError(ours.timesteps, ref.timesteps)).toBeLessThan(1e-6);
      expect(relError(ours.sigmas!, ref.sigmas)).toBeLessThan(1e-6);
      expect(ours.initNoiseSigma).toBeCloseTo(ref.initNoiseSigma, 4);
      const start = init.map((v) => v * ours.initNoiseSigma);
      // scale_model_input as a factor
      const factor = ours.scaleModelInput(ours.initialState());
      expect(relError(start.map((v) => v * factor), ref.scale(start))).toBeLessThan(1e-6);
      let x: Float64Array = start;
      expectClose(runPlans(ours, start, models, noises), models.map((m, k) => (x = ref.step(m, x, noises[k]!))));
    }
  });

  it('DPM-Solver++ 2M: plain, Karras, v-prediction, Heun, sigma_min final, 20 steps', () => {
    for (const [n, overrides, refConfig] of [
      [8, {}, {}],
      [8, { use_karras_sigmas: true }, { karras: true }],
      [6, { prediction_type: 'v_prediction', timestep_spacing: 'trailing' }, { prediction: 'v_prediction', spacing: 'trailing' }],
      [6, { solver_type: 'heun', timestep_spacing: 'leading' }, { solverType: 'heun', spacing: 'leading', offset: 1 }],
      [6, { final_sigmas_type: 'sigma_min' }, { finalSigmas: 'sigma_min' }],
      [20, { use_karras_sigmas: true, final_sigmas_type: 'sigma_min' }, { karras: true, finalSigmas: 'sigma_min' }],
      [20, {}, {}], // >= 15 steps: only the zero final sigma forces the first-order last step
    ] as const) {
      const { init, models } = inputs(n, 6 + n);
      const ours = createScheduler('dpmpp-2m', SD15, n, { overrides });
      const ref = new RefDpmpp2m(refConfig, n);
      expect(ours.timesteps).toEqual(ref.timesteps);
      expect(relError(ours.sigmas!, ref.sigmas)).toBeLessThan(1e-6);
      let x = init;
      expectClose(runPlans(ours, init, models, []), models.map((m) => (x = ref.step(m, x))));
    }
  });
});

describe('img2img start', () => {
  it('get_timesteps semantics and add_noise coefficients', () => {
    const ddim = createScheduler('ddim', SD15, 10);
    expect(img2imgStart(ddim, 0.75)).toEqual({ beginIndex: 3, steps: 7 });
    expect(img2imgStart(ddim, 1)).toEqual({ beginIndex: 0, steps: 10 });
    const acp = refAlphasCumprod({});
    const t = ddim.timesteps[3]!;
    const c = ddim.addNoiseCoefficients(3);
    expect(c.sample).toBeCloseTo(Math.sqrt(acp[t]!), 6);
    expect(c.noise).toBeCloseTo(Math.sqrt(1 - acp[t]!), 6);
    // PNDM has one more timestep than steps: the loop is the tail of its list.
    expect(img2imgStart(createScheduler('pndm', SD15, 5), 0.6)).toEqual({ beginIndex: 2, steps: 4 });
    const euler = createScheduler('euler', SD15, 10);
    expect(euler.addNoiseCoefficients(3)).toEqual({ sample: 1, noise: euler.sigmas![3] });
    const dpm = createScheduler('dpmpp-2m', SD15, 10);
    const sigma = dpm.sigmas![3]!;
    expect(dpm.addNoiseCoefficients(3).sample).toBeCloseTo(1 / Math.sqrt(sigma ** 2 + 1), 12);
  });

  it('a run from a begin index matches the reference from the same point', () => {
    const { init, models, noises } = inputs(4, 9);
    const ours = createScheduler('euler-a', SD15, 10);
    const { beginIndex, steps } = img2imgStart(ours, 0.4);
    expect([beginIndex, steps]).toEqual([6, 4]);
    const ref = new RefEuler({ ancestral: true }, 10);
    ref.stepIndex = beginIndex;
    let x = init;
    expectClose(runPlans(ours, init, models, noises, beginIndex), models.map((m, k) => (x = ref.step(m, x, noises[k]!))));
  });

  it('strength outside (0, 1] is an error', () => {
    const s = createScheduler('ddim', SD15, 5);
    for (const bad of [0, -0.1, 1.5, Number.NaN]) expect(() => img2imgStart(s, bad)).toThrow(/strength must be in \(0, 1\]/);
    expect(() => img2imgStart(s, 0.1)).toThrow(/no denoising step/);
  });
});
