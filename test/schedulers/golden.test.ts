// Schedulers against diffusers 0.30.3 (test/fixtures/golden): tables exactly, and whole 5-step denoising loops
// replayed on the CPU from the recorded UNet outputs (no model needed).
import { describe, expect, it } from 'vitest';
import { addNoiseCoefficients, createScheduler, evaluateStepPlan, velocityCoefficients } from '../../src/schedulers';
import type { SchedulerKind } from '../../src/schedulers';
import { loadGolden, relError, schedulerJson, slice } from './helpers';

const GUIDANCE = 7.5;

describe('training tables (DDPM)', () => {
  for (const model of ['tiny-sd15', 'tiny-sd2']) {
    const s = createScheduler('ddpm', schedulerJson(model), 5);
    it(`${model}: alphas_cumprod and betas`, () => {
      const acp = loadGolden(model, 'alphas_cumprod').data;
      expect(relError(s.alphasCumprod, acp)).toBeLessThan(1e-6);
      if (model === 'tiny-sd15') {
        const betas = loadGolden(model, 'betas').data;
        for (let i = 0; i < betas.length; i++) expect(Math.abs(s.betas[i]! - betas[i]!)).toBeLessThanOrEqual(1e-6 * betas[i]!);
      }
    });
    it(`${model}: add_noise and get_velocity`, () => {
      const x0 = loadGolden(model, 'add_noise_x0');
      const noise = loadGolden(model, 'add_noise_noise');
      const ts = loadGolden(model, 'add_noise_timesteps').data;
      const noisy = loadGolden(model, 'add_noise_out');
      const velocity = loadGolden(model, 'add_noise_velocity');
      ts.forEach((t, b) => {
        const [x, n] = [slice(x0, b), slice(noise, b)];
        const a = addNoiseCoefficients(s.alphasCumprod, t);
        const v = velocityCoefficients(s.alphasCumprod, t);
        expect(relError(x.map((xi, i) => a.sample * xi + a.noise * n[i]!), slice(noisy, b))).toBeLessThan(1e-6);
        expect(relError(x.map((xi, i) => v.sample * xi + v.noise * n[i]!), slice(velocity, b))).toBeLessThan(1e-6);
      });
    });
  }
});

const LOOPS: [string, SchedulerKind, string][] = [
  ['tiny-sd15', 'pndm', 'pndm'],
  ['tiny-sd15', 'ddim', 'ddim'],
  ['tiny-sd15', 'euler', 'euler'],
  ['tiny-sd2', 'ddim', 'ddim'], // v-prediction
];

describe('denoising loops replayed from golden UNet outputs', () => {
  for (const [model, kind, name] of LOOPS) {
    it(`${model} ${kind}`, () => {
      const g = (what: string) => loadGolden(model, `sched_${name}_${what}`);
      const scheduler = createScheduler(kind, schedulerJson(model), 5);
      expect(scheduler.timesteps).toEqual(Array.from(g('timesteps').data));
      if (kind === 'euler') {
        // Our float32 betas can differ from torch's linspace in the last bit, which σ_max amplifies to ~3e-7.
        expect(relError(scheduler.sigmas!, g('sigmas').data)).toBeLessThan(1e-6);
        expect(scheduler.initNoiseSigma).toBeCloseTo(14.614645004272461, 5);
      }
      const unetIn = g('unet_in_per_step');
      const unetT = g('unet_t_per_step').data;
      const unetOut = g('unet_out_per_step');
      const perStep = g('latents_per_step');
      const calls = unetT.length;
      expect(scheduler.timesteps.length).toBe(calls);

      let latents: Float64Array = Float64Array.from(loadGolden(model, 'pipeline_init_latents').data, (v) => v * scheduler.initNoiseSigma);
      let history: Float64Array[] = Array.from({ length: scheduler.historySlots }, () => new Float64Array(latents.length));
      let state = scheduler.initialState();
      const errors: number[] = [];
      for (let k = 0; k < calls; k++) {
        expect(scheduler.timestep(state)).toBe(unetT[k]);
        const factor = scheduler.scaleModelInput(state);
        const input = latents.map((v) => v * factor);
        const refIn = slice(unetIn, k);
        expect(relError(input, refIn.subarray(0, latents.length))).toBeLessThan(1e-5);
        expect(relError(input, refIn.subarray(latents.length))).toBeLessThan(1e-5);
        const out = slice(unetOut, k);
        const step = scheduler.step(state);
        expect(step.plan.out.noise).toBe(0);
        const r = evaluateStepPlan(step.plan, {
          sample: latents,
          model: { uncond: out.subarray(0, latents.length), cond: out.subarray(latents.length), scale: GUIDANCE },
          history,
        });
        ({ sample: latents, history } = r);
        state = step.state;
        errors.push(relError(latents, slice(perStep, k)));
      }
      expect(Math.max(...errors)).toBeLessThan(1e-5);
      expect(relError(latents, loadGolden(model, `sched_${name}_final_latents`).data)).toBeLessThan(1e-5);
      expect(() => scheduler.step(state)).toThrow(/outside/);
    });
  }
});
