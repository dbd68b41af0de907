import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpy, toFloat32, toInt32, writeNpy } from '../../src/io/npy';

const GOLDEN = 'test/fixtures/golden/tiny-sd15/expected';

/** A .npy file assembled by hand, independent of writeNpy. */
function rawNpy(version: 1 | 2 | 3, dict: string, data: Uint8Array): Uint8Array {
  const prefix = version === 1 ? 10 : 12;
  const header = dict.padEnd(Math.ceil((prefix + dict.length + 1) / 64) * 64 - prefix - 1, ' ') + '\n';
  const out = new Uint8Array(prefix + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), prefix);
  out.set(data, prefix + header.length);
  return out;
}

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('writeNpy / readNpy', () => {
  it('round-trips every writable type and shape, with the data 64-byte aligned', () => {
    const cases: [Float32Array | Int32Array | Float64Array | Uint8Array, number[], string][] = [
      [Float32Array.from({ length: 24 }, (_, i) => i * 0.37 - 4), [2, 3, 4], 'float32'],
      [Int32Array.from([-2147483648, -1, 0, 7, 2147483647]), [5], 'int32'],
      [Float64Array.from([Math.PI, -1e300, 5e-324]), [3, 1], 'float64'],
      [Uint8Array.from([0, 1, 128, 255]), [2, 2], 'uint8'],
      [new Float32Array([42]), [], 'float32'],
      [new Float32Array(0), [0, 3], 'float32'],
    ];
    for (const [data, shape, dtype] of cases) {
      const file = writeNpy(data, shape);
      const headerLength = new DataView(file.buffer).getUint16(8, true);
      expect((10 + headerLength) % 64).toBe(0);
      expect(file[10 + headerLength - 1]).toBe(0x0a);
      const back = readNpy(file);
      expect(back.dtype).toBe(dtype);
      expect(back.shape).toEqual(shape);
      expect(Array.from(back.data as ArrayLike<number>)).toEqual(Array.from(data));
    }
  });

  it('rejects a shape that does not match the data', () => {
    expect(() => writeNpy(new Float32Array(6), [4, 2])).toThrow(/shape/);
  });

  it('reads format 2.0 and 3.0 headers and data at an unaligned byte offset', () => {
    const values = Float32Array.from([1.5, -2.25, 3]);
    for (const version of [2, 3] as const) {
      const file = rawNpy(version, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", bytesOf(values));
      const padded = new Uint8Array(file.length + 1);
      padded.set(file, 1);
      const a = readNpy(padded.subarray(1));
      expect(a.shape).toEqual([3]);
      expect(Array.from(a.data as Float32Array)).toEqual([1.5, -2.25, 3]);
    }
  });

  it('decodes float16 bits, including subnormals, infinities and NaN', () => {
    const bits = Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x7e00, 0x8000]);
    const a = readNpy(rawNpy(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (9,), }", bytesOf(bits)));
    expect(a.dtype).toBe('float16');
    const f = toFloat32(a);
    expect(Array.from(f.subarray(0, 7))).toEqual([1, -2, 0.5, 65504, 2 ** -24, Infinity, -Infinity]);
    expect(Number.isNaN(f[7])).toBe(true);
    expect(Object.is(f[8], -0)).toBe(true);
  });

  it('reads int64, uint16, uint8 and bool, and converts to int32 and float32', () => {
    const i64 = BigInt64Array.from([-5n, 0n, 2147483647n]);
    const a = readNpy(rawNpy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", bytesOf(i64)));
    expect(Array.from(toInt32(a))).toEqual([-5, 0, 2147483647]);
    expect(Array.from(toFloat32(a))).toEqual([-5, 0, 2147483648]);
    const u16 = readNpy(rawNpy(1, "{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }", bytesOf(Uint16Array.from([65535, 3]))));
    expect(Array.from(toInt32(u16))).toEqual([65535, 3]);
    const bool = readNpy(rawNpy(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", Uint8Array.from([1, 0, 1])));
    expect(bool.dtype).toBe('bool');
    expect(Array.from(toFloat32(bool))).toEqual([1, 0, 1]);
  });

  it('refuses int64 values outside int32 and float-to-int conversion', () => {
    const big = readNpy(rawNpy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", bytesOf(BigInt64Array.from([2147483648n]))));
    expect(() => toInt32(big)).toThrow(/does not fit in int32/);
    expect(() => toInt32(readNpy(writeNpy(new Float32Array(1), [1])))).toThrow(/float32/);
  });

  it('gives clear errors for Fortran order, big-endian, unknown dtypes, truncation and non-npy bytes', () => {
    const data = new Uint8Array(16);
    expect(() => readNpy(rawNpy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", data), 'w.npy')).toThrow(/w\.npy: Fortran-order/);
    expect(() => readNpy(rawNpy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", data))).toThrow(/big-endian/);
    expect(() => readNpy(rawNpy(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", data))).toThrow(/unsupported dtype '<c8'/);
    expect(() => readNpy(rawNpy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", data))).toThrow(/truncated data/);
    expect(() => readNpy(new TextEncoder().encode('hello, this is text'))).toThrow(/not a \.npy file/);
  });
});

describe('golden fixtures', () => {
  interface Entry {
    shape: number[];
    dtype: string;
    mean: number;
    std: number;
    absmax: number;
  }
  const index = JSON.parse(readFileSync(join(GOLDEN, 'index.json'), 'utf8')) as { files: Record<string, Entry> };
  const files = readdirSync(GOLDEN).filter((f) => f.endsWith('.npy'));

  it('has an index entry for every .npy', () => {
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) expect(index.files[file], file).toBeDefined();
  });

  it('reads every golden .npy with the indexed shape, dtype and statistics', () => {
    for (const file of files) {
      const entry = index.files[file]!;
      const a = readNpy(new Uint8Array(readFileSync(join(GOLDEN, file))), file);
      expect(a.shape, file).toEqual(entry.shape);
      expect(a.dtype, file).toBe(entry.dtype);
      const values = toFloat32(a);
      let sum = 0;
      let absmax = 0;
      for (const v of values) {
        sum += v;
        absmax = Math.max(absmax, Math.abs(v));
      }
      const mean = sum / values.length;
      let squares = 0;
      for (const v of values) squares += (v - mean) ** 2;
      const scale = Math.max(entry.absmax, 1e-6);
      expect(Math.abs(mean - entry.mean), file).toBeLessThanOrEqual(1e-5 * scale);
      expect(Math.abs(Math.sqrt(squares / values.length) - entry.std), file).toBeLessThanOrEqual(1e-5 * scale);
      expect(absmax, file).toBeCloseTo(entry.absmax, 5);
      if (a.dtype === 'int64') expect(Array.from(toInt32(a)), file).toEqual(Array.from(values));
    }
  });
});

describe('npy from a Node Buffer', () => {
  it('reads the right values when the bytes are a view into a shared pool', () => {
    const buf = readFileSync('test/fixtures/golden/tiny-sd15/expected/betas.npy');
    const fromBuffer = readNpy(buf);
    const fromCopy = readNpy(new Uint8Array(buf));
    expect(Array.from(fromBuffer.data as Float32Array)).toEqual(Array.from(fromCopy.data as Float32Array));
  });
});
