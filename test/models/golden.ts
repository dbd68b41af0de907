// Golden fixtures for the model tests: the tiny diffusers pipelines and what diffusers computed from them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { nodeDirectory } from '../../src/io/node-file-source';
import { readNpy, toFloat32, toInt32, type NpyArray } from '../../src/io/npy';
import { openDiffusersFolder, type DiffusersFolder } from '../../src/weights/diffusers-folder';

export type Family = 'tiny-sd15' | 'tiny-sd2';

export const GOLDEN = join(__dirname, '..', 'fixtures', 'golden');

export function modelDir(family: Family): string {
  return join(GOLDEN, family, 'model');
}

export async function goldenFolder(family: Family, variants?: string[]): Promise<DiffusersFolder> {
  return openDiffusersFolder(await nodeDirectory(modelDir(family)), { variants });
}

export function expected(family: Family, name: string): NpyArray {
  return readNpy(readFileSync(join(GOLDEN, family, 'expected', `${name}.npy`)), `${name}.npy`);
}

export function expectedF32(family: Family, name: string): Float32Array {
  return toFloat32(expected(family, name));
}

export function idsTensor(family: Family, name: string): tf.Tensor2D {
  const a = expected(family, name);
  return tf.tensor2d(toInt32(a), [a.shape[0], a.shape[1]], 'int32');
}

/** An NCHW golden array as an NHWC tensor. */
export function nhwcTensor(family: Family, name: string): tf.Tensor4D {
  const a = expected(family, name);
  return tf.tidy(() => tf.transpose(tf.tensor4d(toFloat32(a), a.shape as [number, number, number, number]), [0, 2, 3, 1]));
}

/** ‖ours − ref‖ / ‖ref‖ */
export function relativeError(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (ours.length !== ref.length) throw new Error(`length ${ours.length} vs ${ref.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (ours[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/** An NHWC result read back in NCHW order, to compare with a golden array. */
export async function readNchw(t: tf.Tensor4D): Promise<Float32Array> {
  const nchw = tf.transpose(t, [0, 3, 1, 2]);
  const data = (await nchw.data()) as Float32Array;
  nchw.dispose();
  return data;
}
