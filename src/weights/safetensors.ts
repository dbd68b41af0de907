// safetensors: an 8-byte little-endian header length N, N bytes of JSON ({name: {dtype, shape, data_offsets}},
// optional "__metadata__" string map), then the raw little-endian tensor bytes. Tensors are read by byte range,
// in chunks, so a multi-GB checkpoint is never held in one ArrayBuffer.
import type { FileLike } from '../io/file-source';
import { f16BitsToF32, toF16Bits } from '../engine/f16';

export const DTYPE_BYTES = {
  BOOL: 1, U8: 1, I8: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
} as const;
export type Dtype = keyof typeof DTYPE_BYTES;

export interface TensorInfo {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** Byte offsets relative to the start of the data region (after the header). */
  readonly begin: number;
  readonly end: number;
}

/** A run of elements inside one tensor (row slices of a fused qkv weight are contiguous). */
export interface ElementRange {
  readonly start: number;
  readonly count: number;
}

export interface SafetensorsFile {
  readonly path: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** Absolute file offset where the data region starts (8 + header length). */
  readonly dataStart: number;
  tensor(name: string): TensorInfo;
  readBytes(name: string, range?: ElementRange): Promise<Uint8Array>;
  readF32(name: string, range?: ElementRange): Promise<Float32Array>;
  readF16Bits(name: string, range?: ElementRange): Promise<Uint16Array>;
}

export class SafetensorsError extends Error {
  constructor(
    readonly path: string,
    message: string,
    readonly tensor?: string,
  ) {
    super(`${path}${tensor === undefined ? '' : ` (tensor "${tensor}")`}: ${message}`);
    this.name = 'SafetensorsError';
  }
}

// The reference implementation refuses headers above 100 MB; a corrupt length must not make us allocate more.
const MAX_HEADER_BYTES = 100_000_000;
// Reads go to the file in pieces of at most this many bytes.
export const READ_CHUNK_BYTES = 16 * 1024 * 1024;

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export async function openSafetensors(file: FileLike): Promise<SafetensorsFile> {
  const fail = (message: string, tensor?: string): never => {
    throw new SafetensorsError(file.path, message, tensor);
  };
  if (file.size < 8) fail(`too short for a safetensors file (${file.size} bytes)`);
  const lengthBytes = await file.read(0, 8);
  const headerLength = new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(file.size - 8)) {
    fail(`header length ${headerLength} passes the end of the file (${file.size} bytes); truncated or not safetensors`);
  }
  if (headerLength > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLength} is over the ${MAX_HEADER_BYTES}-byte limit`);
  const n = Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await file.read(8, n)));
  } catch (e) {
    fail(`invalid header JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLength = file.size - dataStart;
  const entries = header as Record<string, unknown>;

  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  for (const [name, value] of Object.entries(entries)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(value as object)) {
        if (typeof v !== 'string') fail(`__metadata__ value of "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    tensors.set(name, parseTensorInfo(value, dataLength, (message) => fail(message, name)));
  }
  checkLayout(tensors, dataLength, fail);

  const tensor = (name: string): TensorInfo => tensors.get(name) ?? fail('no such tensor', name);

  async function readBytes(name: string, range?: ElementRange): Promise<Uint8Array> {
    const info = tensor(name);
    const size = DTYPE_BYTES[info.dtype];
    const count = elementCount(info.shape);
    const start = range?.start ?? 0;
    const n = range?.count ?? count;
    if (start < 0 || n < 0 || start + n > count) fail(`element range ${start}+${n} is outside the ${count} elements`, name);
    return file.read(dataStart + info.begin + start * size, n * size);
  }

  /** Reads the tensor (or range) chunk by chunk and hands each piece, element-aligned, to `convert`. */
  async function readConverted<T extends Float32Array | Uint16Array>(
    name: string,
    range: ElementRange | undefined,
    out: (n: number) => T,
    convert: (bytes: Uint8Array, info: TensorInfo, into: T, at: number) => void,
  ): Promise<T> {
    const info = tensor(name);
    const size = DTYPE_BYTES[info.dtype];
    const start = range?.start ?? 0;
    const count = range?.count ?? elementCount(info.shape) - start;
    const result = out(count);
    const perChunk = Math.max(1, Math.floor(READ_CHUNK_BYTES / size));
    for (let at = 0; at < count; at += perChunk) {
      const n = Math.min(perChunk, count - at);
      convert(await readBytes(name, { start: start + at, count: n }), info, result, at);
    }
    return result;
  }

  return {
    path: file.path,
    metadata,
    tensors,
    dataStart,
    tensor,
    readBytes,
    readF32: (name, range) =>
      readConverted(name, range, (n) => new Float32Array(n), (bytes, info, into, at) => {
        into.set(bytesToF32(bytes, info.dtype), at);
      }),
    readF16Bits: (name, range) =>
      readConverted(name, range, (n) => new Uint16Array(n), (bytes, info, into, at) => {
        into.set(info.dtype === 'F16' ? view(bytes, Uint16Array) : toF16Bits(bytesToF32(bytes, info.dtype)), at);
      }),
  };
}

function parseTensorInfo(value: unknown, dataLength: number, fail: (message: string) => never): TensorInfo {
  if (typeof value !== 'object' || value === null) fail('entry is not an object');
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) fail(`unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`invalid shape ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    fail(`invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as number[];
  if (end < begin) fail(`data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLength) fail(`data_offsets [${begin}, ${end}] pass the end of the data (${dataLength} bytes)`);
  const bytes = elementCount(shape as number[]) * DTYPE_BYTES[dtype as Dtype];
  if (bytes !== end - begin) {
    fail(`shape [${(shape as number[]).join(', ')}] × ${dtype} is ${bytes} bytes but data_offsets span ${end - begin}`);
  }
  return { dtype: dtype as Dtype, shape: shape as number[], begin, end };
}

/** Like the reference reader: tensors must tile the data region exactly, with no gap, overlap or trailing bytes. */
function checkLayout(
  tensors: Map<string, TensorInfo>,
  dataLength: number,
  fail: (message: string, tensor?: string) => never,
): void {
  const sorted = [...tensors].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let expected = 0;
  let previous: string | undefined;
  for (const [name, info] of sorted) {
    if (info.begin < expected) fail(`data_offsets [${info.begin}, ${info.end}] overlap tensor "${previous}"`, name);
    if (info.begin > expected) {
      fail(`gap of ${info.begin - expected} bytes before data_offsets [${info.begin}, ${info.end}]${previous ? ` (after "${previous}")` : ''}`, name);
    }
    expected = info.end;
    previous = name;
  }
  if (expected !== dataLength) fail(`tensors cover ${expected} bytes but the data region holds ${dataLength}`);
}

/** A typed view of bytes, copied when the offset is not aligned for the element size. */
function view<T extends ArrayBufferView>(
  bytes: Uint8Array,
  Type: { new (buffer: ArrayBuffer, offset: number, length: number): T; BYTES_PER_ELEMENT: number },
): T {
  const aligned = bytes.byteOffset % Type.BYTES_PER_ELEMENT === 0 ? bytes : bytes.slice();
  return new Type(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.byteLength / Type.BYTES_PER_ELEMENT);
}

function bytesToF32(bytes: Uint8Array, dtype: Dtype): Float32Array {
  switch (dtype) {
    case 'F32':
      return view(bytes, Float32Array);
    case 'F16': {
      const bits = view(bytes, Uint16Array);
      const out = new Float32Array(bits.length);
      for (let i = 0; i < bits.length; i++) out[i] = f16BitsToF32(bits[i]);
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const bits = view(bytes, Uint16Array);
      const wide = new Uint32Array(bits.length);
      for (let i = 0; i < bits.length; i++) wide[i] = bits[i] << 16;
      return new Float32Array(wide.buffer);
    }
    case 'F64':
      return Float32Array.from(view(bytes, Float64Array));
    case 'I64':
      return Float32Array.from(view(bytes, BigInt64Array), Number);
    case 'U64':
      return Float32Array.from(view(bytes, BigUint64Array), Number);
    case 'I32':
      return Float32Array.from(view(bytes, Int32Array));
    case 'U32':
      return Float32Array.from(view(bytes, Uint32Array));
    case 'I16':
      return Float32Array.from(view(bytes, Int16Array));
    case 'U16':
      return Float32Array.from(view(bytes, Uint16Array));
    case 'I8':
      return Float32Array.from(view(bytes, Int8Array));
    case 'U8':
    case 'BOOL':
      return Float32Array.from(bytes);
  }
}
