// Element-range copies between tensors of 4-byte elements, recorded in the GPU command stream: how kernels
// feed and assemble tensors larger than one storage binding.
import type * as tf from '@tensorflow/tfjs';
import { engine } from './engine';

const BYTES = 4;

/** Elements [start, start + count) of `t` as a new tensor of `shape` (count = its size). */
export function sliceElements(t: tf.Tensor, start: number, shape: number[]): tf.Tensor {
  const bridge = engine().bridge;
  const out = bridge.emptyTensor(shape, t.dtype === 'int32' ? 'int32' : 'float32');
  bridge.recordCopy(t, start * BYTES, out, 0, out.size * BYTES);
  return out;
}

/** Copies all of `src` into `dst` from element `start` on. */
export function writeElements(dst: tf.Tensor, src: tf.Tensor, start: number): void {
  engine().bridge.recordCopy(src, 0, dst, start * BYTES, src.size * BYTES);
}
