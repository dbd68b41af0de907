// Gradient accumulation: one f32 buffer per trainable tensor, summed in place across micro-batches.
import * as tf from '@tensorflow/tfjs';
import { engine } from '../engine/engine';
import { flatGrid } from '../engine/grid';

export class GradAccumulator {
  private buffers: tf.Tensor[] | undefined;
  /** Micro-batches summed since the last reset. */
  count = 0;

  constructor(private readonly shapes: number[][]) {}

  add(grads: tf.Tensor[]): void {
    if (grads.length !== this.shapes.length) throw new Error(`${grads.length} gradients for ${this.shapes.length} parameters`);
    const e = engine();
    const first = this.count === 0;
    this.buffers ??= this.shapes.map((s) => tf.zeros(s));
    grads.forEach((g, i) => {
      const grid = flatGrid(g.size, 256, e.limits.maxComputeWorkgroupsPerDimension);
      e.kernels.run('accumulate', { constants: { FIRST: first ? 1 : 0 } }, {
        inputs: [g],
        outputs: [{ inPlace: this.buffers![i] }],
        uniforms: [['u32', g.size], ['u32', grid[0]]],
        workgroups: grid,
      });
    });
    this.count++;
  }

  /** The summed gradients (owned by the accumulator; valid until the next add after reset). */
  get sums(): tf.Tensor[] {
    if (!this.buffers || this.count === 0) throw new Error('no gradients accumulated');
    return this.buffers;
  }

  reset(): void {
    this.count = 0;
  }

  dispose(): void {
    tf.dispose(this.buffers ?? []);
    this.buffers = undefined;
    this.count = 0;
  }
}
