// The GPU scheduler step against the float64 CPU evaluator: random plans (every operand, CFG, clamp,
// in-place history) and whole multi-step loops of real schedulers with random model outputs.
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { schedulerStep } from '../../src/ops/scheduler-step';
import { createScheduler, evaluateStepPlan, type SchedulerKind, type StepPlan } from '../../src/schedulers';
import { startEngine } from '../engine-helpers';
import { random, relError } from '../reference/cpu';

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine({ testLimits: { maxComputeWorkgroupsPerDimension: 4 } });
});
afterAll(() => engine.dispose());

const f32 = (seed: number, n: number, scale = 1) => Float32Array.from(random([n], seed, scale).data);

describe('scheduler-step kernel', () => {
  it('evaluates a random plan with CFG, clamp, noise and in-place history like the CPU', async () => {
    const n = 2 * 9 * 11 * 4; // two images, awkward size; 792 elements > 4 workgroups of 256: 2D grid
    const slots = 3;
    const c = (seed: number, withX0: boolean, withNoise: boolean) => {
      const v = f32(seed, slots + 4);
      return { sample: v[0], model: v[1], history: Array.from(v.slice(2, 2 + slots)), x0: withX0 ? v[2 + slots] : 0, noise: withNoise ? v[3 + slots] : 0 };
    };
    const plan: StepPlan = {
      x0: c(1, false, false),
      x0Transform: { kind: 'clamp', range: 0.5 },
      out: c(2, true, true),
      historyWrites: [{ slot: 0, value: c(3, true, false) }, { slot: 2, value: c(4, true, false) }],
      drawsNoise: true,
    };
    const sample = f32(5, n, 2);
    const uncond = f32(6, n);
    const cond = f32(7, n);
    const noise = f32(8, n);
    const hist = [f32(9, n), f32(10, n), f32(11, n)];
    const want = evaluateStepPlan(plan, { sample, model: { uncond, cond, scale: 7.5 }, history: hist, noise });

    const history = tf.tensor1d(Float32Array.from(hist.flatMap((h) => Array.from(h))));
    const model = tf.tensor1d(Float32Array.from([...uncond, ...cond]));
    const [s, nz] = [tf.tensor1d(sample), tf.tensor1d(noise)];
    const out = schedulerStep(plan, { sample: s, model, guidance: 7.5, history, noise: nz });
    expect(relError(await engine.read(out.sample), want.sample)).toBeLessThan(1e-6);
    expect(relError(await engine.read(out.x0), want.x0)).toBeLessThan(1e-6);
    const h = await engine.read(history);
    want.history.forEach((w, k) => expect(relError(h.subarray(k * n, (k + 1) * n), w)).toBeLessThan(1e-6));
    tf.dispose([history, model, s, nz, out.sample, out.x0]);
  });

  const config = JSON.parse(readFileSync('test/fixtures/golden/tiny-sd15/model/scheduler/scheduler_config.json', 'utf8'));
  const loops: [SchedulerKind, Record<string, unknown>][] = [['pndm', {}], ['dpmpp-2m', { use_karras_sigmas: true }], ['euler-a', {}], ['ddim', {}]];
  for (const [kind, overrides] of loops) {
    it(`runs a ${kind} loop like the CPU evaluator`, async () => {
      const n = 4 * 8 * 8;
      const scheduler = createScheduler(kind, config, 6, { overrides });
      let state = scheduler.initialState();
      let cpuSample: Float64Array<ArrayBufferLike> = Float64Array.from(f32(20, n), (v) => v * scheduler.initNoiseSigma);
      let cpuHistory: Float64Array<ArrayBufferLike>[] = Array.from({ length: scheduler.historySlots }, () => new Float64Array(n));
      let gpuSample: tf.Tensor = tf.tensor1d(Float32Array.from(cpuSample));
      const gpuHistory = scheduler.historySlots > 0 ? tf.zeros([scheduler.historySlots * n]) : undefined;
      for (let i = 0; i < scheduler.timesteps.length; i++) {
        const { plan, state: next } = scheduler.step(state);
        state = next;
        const model = f32(100 + i, 2 * n);
        const noise = f32(200 + i, n);
        const cpu = evaluateStepPlan(plan, { sample: cpuSample, model: { uncond: model.subarray(0, n), cond: model.subarray(n), scale: 7.5 }, history: cpuHistory, noise });
        cpuSample = cpu.sample;
        cpuHistory = cpu.history;
        const [m, nz] = [tf.tensor1d(model), tf.tensor1d(noise)];
        const out = schedulerStep(plan, { sample: gpuSample, model: m, guidance: 7.5, history: gpuHistory, noise: nz });
        tf.dispose([gpuSample, out.x0, m, nz]);
        gpuSample = out.sample;
      }
      expect(relError(await engine.read(gpuSample), cpuSample)).toBeLessThan(1e-5);
      tf.dispose([gpuSample, ...(gpuHistory ? [gpuHistory] : [])]);
    });
  }

  it('rejects inputs that do not fit the plan', () => {
    const scheduler = createScheduler('dpmpp-2m', config, 4);
    const { plan } = scheduler.step(scheduler.initialState());
    const s = tf.zeros([16]);
    expect(() => schedulerStep(plan, { sample: s, model: tf.zeros([16]), guidance: 7.5 })).toThrow(/CFG batch/);
    expect(() => schedulerStep(plan, { sample: s, model: tf.zeros([16]) })).toThrow(/history tensor/);
    s.dispose();
  });
});
