// AdamW (torch.optim.AdamW semantics) over f32 master weights with f32 moments, one fused kernel per
// parameter tensor; clipping, loss-scale and accumulation factors folded into the gradient scale.
import * as tf from '@tensorflow/tfjs';
import { engine } from '../engine/engine';
import { flatGrid } from '../engine/grid';
import type { PackedF16 } from '../ops/types';
import { clipCoefficient } from './grad-norm';

export interface AdamWConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global-norm clipping threshold; 0 turns clipping off. */
  maxGradNorm: number;
}

export const ADAMW_DEFAULTS: AdamWConfig = { lr: 1e-6, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2, maxGradNorm: 1 };

export interface TrainableParam {
  name: string;
  /** f32 master weights, owned by the optimizer (updated in place). */
  master: tf.Tensor;
  /** The f16 working copy the forward pass reads, refreshed in the same kernel. */
  half?: PackedF16;
}

export interface StepResult {
  /** False when a gradient was inf/NaN: nothing changed (lower the loss scale and go on). */
  applied: boolean;
  /** Global L2 norm of the unscaled gradients, before clipping. */
  gradNorm: number;
}

export interface AdamWState {
  step: number;
  m: tf.Tensor[];
  v: tf.Tensor[];
}

export class AdamW {
  /** Optimizer steps applied so far (the t of the bias corrections). */
  step = 0;
  readonly m: tf.Tensor[];
  readonly v: tf.Tensor[];

  constructor(readonly params: TrainableParam[], readonly config: AdamWConfig = ADAMW_DEFAULTS, state?: AdamWState) {
    for (const p of params) {
      if (p.master.dtype !== 'float32') throw new Error(`${p.name}: master weights must be float32`);
      if (engine().bridge.refCount(p.master) !== 1) throw new Error(`${p.name}: master weights must own their storage (clone them)`);
    }
    if (state) {
      if (state.m.length !== params.length || state.v.length !== params.length) throw new Error('optimizer state does not match the parameters');
      this.step = state.step;
      this.m = state.m;
      this.v = state.v;
    } else {
      this.m = params.map((p) => tf.zeros(p.master.shape));
      this.v = params.map((p) => tf.zeros(p.master.shape));
    }
  }

  /**
   * One step from raw gradients (in parameter order) that carry a factor 1/invScale; `lr` overrides
   * the configured rate (schedules). Reads back three floats: whether the step applied and the norm.
   */
  async apply(grads: tf.Tensor[], invScale = 1, lr = this.config.lr): Promise<StepResult> {
    if (grads.length !== this.params.length) throw new Error(`${grads.length} gradients for ${this.params.length} parameters`);
    grads.forEach((g, i) => {
      if (g.size !== this.params[i].master.size) throw new Error(`${this.params[i].name}: gradient shape [${g.shape}] != [${this.params[i].master.shape}]`);
    });
    const e = engine();
    const c = this.config;
    const t = this.step + 1;
    const coef = clipCoefficient(grads, invScale, c.maxGradNorm);
    this.params.forEach((p, i) => {
      const count = p.master.size;
      const grid = flatGrid(Math.ceil(count / 2), 256, e.limits.maxComputeWorkgroupsPerDimension);
      const placeholder = p.half ? undefined : tf.zeros([1], 'int32');
      e.kernels.run('adamw', { constants: { HALF_COPY: p.half ? 1 : 0 } }, {
        inputs: [grads[i], coef],
        outputs: [{ inPlace: p.master }, { inPlace: this.m[i] }, { inPlace: this.v[i] }, { inPlace: p.half?.packed ?? placeholder! }],
        uniforms: [
          ['u32', count], ['u32', grid[0]], ['f32', lr], ['f32', c.beta1], ['f32', c.beta2], ['f32', 1 - c.beta1], ['f32', 1 - c.beta2], ['f32', c.eps],
          ['f32', c.weightDecay], ['f32', 1 - c.beta1 ** t], ['f32', 1 - c.beta2 ** t],
        ],
        workgroups: grid,
      });
      placeholder?.dispose();
    });
    const [, finite, gradNorm] = await e.read(coef);
    coef.dispose();
    const applied = finite === 1;
    if (applied) this.step = t;
    return { applied, gradNorm };
  }

  state(): AdamWState {
    return { step: this.step, m: this.m, v: this.v };
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
