// NumPy .npy files (format versions 1.0, 2.0 and 3.0), little-endian, C order.
// Spec: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html

export type NpyDtype = 'float32' | 'float64' | 'float16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'bool';

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  /** float16 keeps its raw IEEE half bits in a Uint16Array; bool is one byte (0 or 1) per element. */
  data: Float32Array | Float64Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** NumPy type code without its byte-order character, and the dtype it reads as. */
const DTYPES: Record<string, { dtype: NpyDtype; itemSize: number }> = {
  f4: { dtype: 'float32', itemSize: 4 },
  f8: { dtype: 'float64', itemSize: 8 },
  f2: { dtype: 'float16', itemSize: 2 },
  i4: { dtype: 'int32', itemSize: 4 },
  i8: { dtype: 'int64', itemSize: 8 },
  u1: { dtype: 'uint8', itemSize: 1 },
  u2: { dtype: 'uint16', itemSize: 2 },
  b1: { dtype: 'bool', itemSize: 1 },
};

/** Parses a .npy file. `name` only labels error messages. */
export function readNpy(bytes: Uint8Array, name = 'array.npy'): NpyArray {
  const fail = (why: string): never => {
    throw new Error(`${name}: ${why}`);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('not a .npy file (missing \\x93NUMPY magic)');
  const major = bytes[6]!;
  if (major < 1 || major > 3) fail(`unsupported .npy format version ${major}.${bytes[7]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthSize = major === 1 ? 2 : 4;
  const headerLength = lengthSize === 2 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lengthSize;
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) fail('truncated header');
  const headerBytes = bytes.subarray(headerStart, dataStart);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(headerBytes);

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1] ?? fail(`header has no 'descr': ${header}`);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1] ?? fail(`header has no 'fortran_order': ${header}`);
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1] ?? fail(`header has no 'shape': ${header}`);
  if (fortran === 'True') fail('Fortran-order arrays are not supported; save with np.ascontiguousarray(a)');

  const order = descr[0];
  const code = descr.slice(1);
  if (order === '>') fail(`big-endian dtype '${descr}' is not supported; save with a.astype(a.dtype.newbyteorder('<'))`);
  const type = DTYPES[code];
  // '|' is NumPy's "not applicable" order for one-byte types.
  if (!type || !(order === '<' || (order === '|' && type.itemSize === 1))) {
    fail(`unsupported dtype '${descr}' (supported: <f4 <f8 <f2 <i4 <i8 |u1 <u2 |b1)`);
  }
  const { dtype, itemSize } = type!;

  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const n = Number(s.replace(/L$/, ''));
      return Number.isInteger(n) && n >= 0 ? n : fail(`bad shape entry '${s}'`);
    });
  const count = shape.reduce((a, b) => a * b, 1);
  const byteLength = count * itemSize;
  if (dataStart + byteLength > bytes.length) {
    fail(`truncated data: shape (${shape.join(', ')}) needs ${byteLength} bytes, file has ${bytes.length - dataStart}`);
  }
  // Copy so typed arrays are aligned and do not alias the caller's buffer.
  // Copy through Uint8Array's own slice: a Node Buffer's slice is a view into a shared pool.
  const raw = Uint8Array.prototype.slice.call(bytes, dataStart, dataStart + byteLength).buffer;
  return { dtype, shape, data: typedView(dtype, raw) };
}

function typedView(dtype: NpyDtype, buffer: ArrayBuffer): NpyArray['data'] {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer);
    case 'float64':
      return new Float64Array(buffer);
    case 'float16':
    case 'uint16':
      return new Uint16Array(buffer);
    case 'int32':
      return new Int32Array(buffer);
    case 'int64':
      return new BigInt64Array(buffer);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer);
  }
}

/** The values as float32 (int64 through Number, float16 decoded, bool as 0/1). */
export function toFloat32(a: NpyArray): Float32Array {
  if (a.dtype === 'float32') return a.data as Float32Array;
  const out = new Float32Array(a.data.length);
  if (a.dtype === 'float16') {
    const bits = a.data as Uint16Array;
    for (let i = 0; i < bits.length; i++) out[i] = halfToFloat(bits[i]!);
  } else if (a.dtype === 'int64') {
    const values = a.data as BigInt64Array;
    for (let i = 0; i < values.length; i++) out[i] = Number(values[i]!);
  } else {
    out.set(a.data as Exclude<NpyArray['data'], BigInt64Array>);
  }
  return out;
}

/** The values as int32; only integer and bool dtypes, and int64 values must fit in int32. */
export function toInt32(a: NpyArray): Int32Array {
  if (a.dtype === 'int32') return a.data as Int32Array;
  if (a.dtype === 'int64') {
    const values = a.data as BigInt64Array;
    const out = new Int32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v < -2147483648n || v > 2147483647n) throw new RangeError(`int64 value ${v} at index ${i} does not fit in int32`);
      out[i] = Number(v);
    }
    return out;
  }
  if (a.dtype === 'uint8' || a.dtype === 'uint16' || a.dtype === 'bool') return Int32Array.from(a.data as Uint8Array | Uint16Array);
  throw new TypeError(`cannot convert ${a.dtype} to int32 without rounding`);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Serialises a C-order array; format 1.0 unless the header needs 2.0's longer length field. */
export function writeNpy(data: Float32Array | Int32Array | Float64Array | Uint8Array, shape: number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0) || count !== data.length) {
    throw new RangeError(`shape [${shape.join(', ')}] does not match ${data.length} elements`);
  }
  const descr =
    data instanceof Float32Array ? '<f4' : data instanceof Int32Array ? '<i4' : data instanceof Float64Array ? '<f8' : '|u1';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // NumPy pads the header with spaces and a newline so the data starts on a 64-byte boundary.
  const version = dict.length + 1 + 10 > 0xffff ? 2 : 1;
  const prefix = version === 1 ? 10 : 12;
  const padded = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const header = dict + ' '.repeat(padded - prefix - dict.length - 1) + '\n';

  const out = new Uint8Array(padded + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), padded);
  return out;
}
