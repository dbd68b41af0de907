// The CPU plan evaluator's own rules, and scheduler_config.json resolution.
import { describe, expect, it } from 'vitest';
import { createScheduler, evaluateStepPlan, resolveSchedulerConfig, schedulerKindOf } from '../../src/schedulers';
import { combo, type StepPlan } from '../../src/schedulers/plan';

const plan = (over: Partial<StepPlan>): StepPlan => ({
  x0: combo(1, { sample: 1 }),
  x0Transform: { kind: 'none' },
  out: combo(1, { x0: 1 }),
  historyWrites: [],
  drawsNoise: false,
  ...over,
});

describe('evaluateStepPlan', () => {
  it('folds guidance in: u + g·(c − u)', () => {
    const p = plan({ out: combo(1, { sample: 2, model: 3, history: { 0: -1 }, noise: 0.5 }) });
    const r = evaluateStepPlan(p, {
      sample: Float32Array.of(1, 2),
      model: { uncond: Float32Array.of(1, 1), cond: Float32Array.of(2, 0), scale: 7.5 },
      history: [Float64Array.of(10, 20)],
      noise: Float64Array.of(4, 8),
    });
    expect(Array.from(r.sample)).toEqual([2 + 3 * 8.5 - 10 + 2, 4 + 3 * -6.5 - 20 + 4]);
  });

  it('history writes read the values from before the step', () => {
    const p = plan({ historyWrites: [{ slot: 0, value: combo(2, { model: 1 }) }, { slot: 1, value: combo(2, { history: { 0: 1 } }) }], x0: combo(2), out: combo(2) });
    const r = evaluateStepPlan(p, { sample: Float64Array.of(0), model: Float64Array.of(5), history: [Float64Array.of(7), Float64Array.of(9)] });
    expect(r.history.map((h) => h[0])).toEqual([5, 7]);
  });

  it('clamp and dynamic threshold act on x0 only', () => {
    const clamped = evaluateStepPlan(plan({ x0Transform: { kind: 'clamp', range: 1 }, out: combo(1, { x0: 1, sample: 1 }) }), {
      sample: Float64Array.of(-3, 0.5, 2),
      model: new Float64Array(3),
      history: [new Float64Array(3)],
    });
    expect(Array.from(clamped.sample)).toEqual([-4, 1, 3]);
    // Per image: s = quantile(|x|, ratio) clamped to [1, max]; a quiet image (s < 1) is left as it is.
    const t = { kind: 'threshold', ratio: 0.5, maxValue: 3 } as const;
    const r = evaluateStepPlan(plan({ x0Transform: t }), {
      sample: Float64Array.of(0.1, -0.2, 0.3, 0.4, 2, -4, 6, 1),
      model: new Float64Array(8),
      history: [new Float64Array(8)],
      batch: 2,
    });
    // image 2: |x| sorted 1, 2, 4, 6 -> median 3 (interpolated), clamped to max 3
    expect(Array.from(r.x0)).toEqual([0.1, -0.2, 0.3, 0.4, 2 / 3, -1, 1, 1 / 3]);
  });

  it('refuses a missing noise tensor and mismatched shapes', () => {
    const p = plan({ out: combo(1, { noise: 1 }) });
    const base = { sample: Float64Array.of(1), model: Float64Array.of(1), history: [Float64Array.of(0)] };
    expect(() => evaluateStepPlan(p, base)).toThrow(/noise/);
    expect(() => evaluateStepPlan(p, { ...base, history: [] })).toThrow(/history/);
    expect(() => evaluateStepPlan(p, { ...base, model: Float64Array.of(1, 2) })).toThrow(/elements/);
  });
});

describe('scheduler config', () => {
  const sd15 = { _class_name: 'PNDMScheduler', beta_schedule: 'scaled_linear', steps_offset: 1, skip_prk_steps: true };
  it('takes the target class defaults for missing keys and for _use_default_values', () => {
    expect(resolveSchedulerConfig('euler', sd15).timestepSpacing).toBe('linspace');
    expect(resolveSchedulerConfig('pndm', sd15).timestepSpacing).toBe('leading');
    expect(resolveSchedulerConfig('ddim', {}).clipSample).toBe(true);
    const saved = { ...sd15, timestep_spacing: 'leading', _use_default_values: ['timestep_spacing'] };
    expect(resolveSchedulerConfig('euler', saved).timestepSpacing).toBe('linspace');
    expect(resolveSchedulerConfig('euler', sd15, { use_karras_sigmas: true }).useKarrasSigmas).toBe(true);
    expect(schedulerKindOf(sd15)).toBe('pndm');
  });

  it('refuses what it does not implement, naming the key', () => {
    expect(() => schedulerKindOf({ _class_name: 'LMSDiscreteScheduler' })).toThrow(/LMSDiscreteScheduler/);
    expect(() => resolveSchedulerConfig('ddim', { prediction_type: 'x' })).toThrow(/prediction_type/);
    expect(() => resolveSchedulerConfig('pndm', {})).toThrow(/skip_prk_steps/);
    expect(() => resolveSchedulerConfig('dpmpp-2m', { algorithm_type: 'sde-dpmsolver++' })).toThrow(/algorithm_type/);
    expect(() => resolveSchedulerConfig('dpmpp-2m', { solver_order: 3 })).toThrow(/solver_order/);
    expect(() => resolveSchedulerConfig('ddpm', { variance_type: 'learned_range' })).toThrow(/variance_type/);
    expect(() => resolveSchedulerConfig('ddim', { steps_offset: '1' })).toThrow(/steps_offset must be a number/);
    expect(() => createScheduler('ddim', sd15, 0)).toThrow(/>= 1/);
    expect(() => createScheduler('ddim', sd15, 1001)).toThrow(/exceeds/);
    expect(() => createScheduler('euler', sd15, 5, { eta: 0.5 })).toThrow(/DDIM only/);
  });

  it('zero-SNR rescaling ends the schedule at ᾱ = 0 (2^-24 for the sigma schedulers)', () => {
    const cfg = { ...sd15, rescale_betas_zero_snr: true, timestep_spacing: 'trailing' };
    expect(createScheduler('ddim', cfg, 5).alphasCumprod.at(-1)).toBeLessThan(1e-12);
    const euler = createScheduler('euler', cfg, 5);
    expect(euler.alphasCumprod.at(-1)).toBe(2 ** -24);
    expect(euler.sigmas![0]).toBeCloseTo(4096, 0);
  });
});
