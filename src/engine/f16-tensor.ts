// f16 weights on the GPU: halves packed two per int32 tfjs element (tfjs has no f16 dtype).
import * as tf from '@tensorflow/tfjs';
import type { PackedF16 } from '../ops/types';
import { engine } from './engine';
import { packHalves, toF16Bits } from './f16';
import { flatGrid } from './grid';

export function packedF16FromBits(bits: Uint16Array, shape: number[]): PackedF16 {
  const size = shape.reduce((a, b) => a * b, 1);
  if (bits.length !== size) throw new Error(`f16 data has ${bits.length} values, shape [${shape}] needs ${size}`);
  return { kind: 'f16', packed: tf.tensor1d(packHalves(bits), 'int32'), shape: [...shape] };
}

export function packF16(values: Float32Array, shape: number[]): PackedF16 {
  return packedF16FromBits(toF16Bits(values), shape);
}

/** The f32 tensor of a packed f16 weight (exact). */
export function unpackF16(w: PackedF16): tf.Tensor {
  const e = engine();
  const count = w.shape.reduce((a, b) => a * b, 1);
  const grid = flatGrid(Math.ceil(count / 2), 256, e.limits.maxComputeWorkgroupsPerDimension);
  const [out] = e.kernels.run('f16-unpack', {}, {
    inputs: [w.packed],
    outputs: [{ shape: w.shape }],
    uniforms: [['u32', count], ['u32', grid[0]]],
    workgroups: grid,
  });
  return out;
}
