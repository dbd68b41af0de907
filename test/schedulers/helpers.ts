// Shared test helpers: golden fixture loading and tensor comparison.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy } from '../../src/io/npy';

export const GOLDEN = join(__dirname, '..', 'fixtures', 'golden');

export interface Loaded {
  shape: number[];
  data: Float64Array;
}

export function loadGolden(model: string, name: string): Loaded {
  // A plain Uint8Array: a Node Buffer's slice() is a view into a shared pool.
  const arr = readNpy(new Uint8Array(readFileSync(join(GOLDEN, model, 'expected', `${name}.npy`))), `${name}.npy`);
  const data = Float64Array.from(arr.data as ArrayLike<number | bigint>, Number);
  return { shape: arr.shape, data };
}

export function schedulerJson(model: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(GOLDEN, model, 'model', 'scheduler', 'scheduler_config.json'), 'utf8')) as Record<string, unknown>;
}

/** ‖a − b‖ / ‖b‖ */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

export function slice(t: Loaded, index: number, parts = t.shape[0]!): Float64Array {
  const per = t.data.length / parts;
  return t.data.subarray(index * per, (index + 1) * per);
}

/** Deterministic standard normal values (Box-Muller over a 32-bit LCG); only for test inputs. */
export function gaussian(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 1) / 4294967297;
  };
  return Float64Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}
