// Fused AdamW, clipping, accumulation and loss scaling against float64 references.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { f16BitsToF32, f32ToF16Bits } from '../../src/engine/f16';
import { packF16 } from '../../src/engine/f16-tensor';
import { AdamW, type AdamWConfig } from '../../src/optim/adamw';
import { GradAccumulator } from '../../src/optim/grad-accumulator';
import { clipCoefficient, sumOfSquares } from '../../src/optim/grad-norm';
import { LossScaler } from '../../src/optim/loss-scaler';
import { startEngine } from '../engine-helpers';
import { random, relError } from '../reference/cpu';

let engine: Engine;
beforeAll(async () => {
  // Lowered dispatch limit: the reductions and the optimizer fold their grids into 2D.
  engine = await startEngine({ testLimits: { maxComputeWorkgroupsPerDimension: 8 } });
});
afterAll(() => engine.dispose());

const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));

/** torch.optim.AdamW on float64 arrays, with global-norm clipping of the unscaled gradients. */
function referenceSteps(params: Float64Array[], gradsPerStep: Float64Array[][], c: AdamWConfig, invScale: number) {
  const p = params.map((x) => Float64Array.from(x));
  const m = p.map((x) => new Float64Array(x.length));
  const v = p.map((x) => new Float64Array(x.length));
  gradsPerStep.forEach((grads, s) => {
    const t = s + 1;
    const g = grads.map((x) => x.map((y) => y * invScale));
    const norm = Math.sqrt(g.reduce((acc, x) => acc + x.reduce((a, y) => a + y * y, 0), 0));
    const clip = c.maxGradNorm > 0 ? Math.min(1, c.maxGradNorm / (norm + 1e-6)) : 1;
    p.forEach((pi, i) => {
      for (let j = 0; j < pi.length; j++) {
        const gj = g[i][j] * clip;
        m[i][j] = c.beta1 * m[i][j] + (1 - c.beta1) * gj;
        v[i][j] = c.beta2 * v[i][j] + (1 - c.beta2) * gj * gj;
        const denom = Math.sqrt(v[i][j]) / Math.sqrt(1 - c.beta2 ** t) + c.eps;
        pi[j] = pi[j] * (1 - c.lr * c.weightDecay) - (c.lr / (1 - c.beta1 ** t)) * (m[i][j] / denom);
      }
    });
  });
  return { p, m, v };
}

describe('optimizer', () => {
  const shapes = [[3, 5, 7], [1029], [1]];
  const config: AdamWConfig = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2, maxGradNorm: 1 };

  it('AdamW with clipping and a loss scale equals the float64 reference over 5 steps', async () => {
    const init = shapes.map((s, i) => f32(random(s, 10 + i).data));
    const steps = [0, 1, 2, 3, 4].map((s) => shapes.map((sh, i) => f32(random(sh, 100 * s + i, 512).data)));
    const params = init.map((x, i) => ({ name: `p${i}`, master: tf.tensor(Float32Array.from(x), shapes[i]) }));
    const opt = new AdamW(params, config);
    for (const grads of steps) {
      const g = grads.map((x, i) => tf.tensor(Float32Array.from(x), shapes[i]));
      const r = await opt.apply(g, 1 / 256);
      expect(r.applied).toBe(true);
      tf.dispose(g);
    }
    expect(opt.step).toBe(5);
    const want = referenceSteps(init, steps, config, 1 / 256);
    for (let i = 0; i < shapes.length; i++) {
      expect(relError(await engine.read(params[i].master), want.p[i])).toBeLessThan(1e-6);
      expect(relError(await engine.read(opt.m[i]), want.m[i])).toBeLessThan(1e-5);
      expect(relError(await engine.read(opt.v[i]), want.v[i])).toBeLessThan(1e-5);
    }
    opt.dispose();
    tf.dispose(params.map((p) => p.master));
  });

  it('skips the step on an inf/NaN gradient and leaves everything untouched', async () => {
    const master = tf.tensor1d([1, 2, 3]);
    const opt = new AdamW([{ name: 'w', master }], config);
    const g = tf.tensor1d([0.5, Infinity, 1]);
    const r = await opt.apply([g]);
    expect(r.applied).toBe(false);
    expect(opt.step).toBe(0);
    expect(Array.from(await engine.read(master))).toEqual([1, 2, 3]);
    expect(Array.from(await engine.read(opt.m[0]))).toEqual([0, 0, 0]);
    const nan = tf.tensor1d([NaN, 0, 0]);
    expect((await opt.apply([nan])).applied).toBe(false);
    tf.dispose([master, g, nan]);
    opt.dispose();
  });

  it('refreshes the f16 working copy from the masters in the same kernel', async () => {
    const values = Float32Array.from(random([257], 5).data);
    const master = tf.tensor1d(values);
    const half = packF16(values, [257]);
    const opt = new AdamW([{ name: 'w', master, half }], { ...config, maxGradNorm: 0 });
    const g = tf.tensor1d(Float32Array.from(random([257], 6).data));
    await opt.apply([g]);
    const updated = await engine.read(master);
    const words = new Uint32Array((await engine.read(half.packed)).buffer);
    for (let i = 0; i < 257; i++) {
      const bits = (words[i >> 1] >>> ((i & 1) * 16)) & 0xffff;
      // pack2x16float may round either way: within one f16 ulp of the f32 master.
      const want = f16BitsToF32(f32ToF16Bits(updated[i]));
      expect(Math.abs(f16BitsToF32(bits) - want)).toBeLessThanOrEqual(Math.abs(want) * 2 ** -10 + 2 ** -24);
    }
    tf.dispose([master, half.packed, g]);
    opt.dispose();
  });

  it('reduces sums of squares deterministically, with the norm and clip factor right', async () => {
    const x = Float32Array.from(random([50_000], 9, 3).data);
    const t = tf.tensor1d(x);
    const a = await engine.read(sumOfSquares(t));
    const b = await engine.read(sumOfSquares(t));
    expect(a[0]).toBe(b[0]); // bit-identical
    const want = x.reduce((s, v) => s + v * v, 0);
    expect(Math.abs(a[0] - want) / want).toBeLessThan(1e-5);
    const coef = await engine.read(clipCoefficient([t], 0.5, 1));
    const norm = Math.sqrt(want) * 0.5;
    expect(Math.abs(coef[2] - norm) / norm).toBeLessThan(1e-5);
    expect(Math.abs(coef[0] - 0.5 / (norm + 1e-6)) / coef[0]).toBeLessThan(1e-5);
    expect(coef[1]).toBe(1);
    t.dispose();
  });

  it('accumulates gradients in place across micro-batches', async () => {
    const acc = new GradAccumulator([[4, 300]]);
    const parts = [1, 2, 3].map((s) => Float32Array.from(random([4, 300], s).data));
    for (const p of parts) {
      const g = tf.tensor2d(p, [4, 300]);
      acc.add([g]);
      g.dispose();
    }
    const want = parts[0].map((_, i) => parts[0][i] + parts[1][i] + parts[2][i]);
    expect(relError(await engine.read(acc.sums[0]), want)).toBeLessThan(1e-7);
    acc.reset();
    const g = tf.tensor2d(parts[0], [4, 300]);
    acc.add([g]);
    expect(relError(await engine.read(acc.sums[0]), parts[0])).toBe(0);
    g.dispose();
    acc.dispose();
  });

  it('scales the loss dynamically: halves on overflow, grows after clean steps', () => {
    const s = new LossScaler(true, 1024, 3);
    expect(s.update(false)).toBe(512);
    expect(s.update(true)).toBe(512);
    expect(s.update(true)).toBe(512);
    expect(s.update(true)).toBe(1024);
    const restored = LossScaler.fromState(s.state(), true);
    expect(restored.scale).toBe(1024);
    expect(new LossScaler(false).update(false)).toBe(1);
  });
});
