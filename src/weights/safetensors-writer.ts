// Writes safetensors the way the reference implementation does: tensors ordered by dtype size (largest first,
// so every tensor starts aligned for its element size) then by name, header JSON padded with spaces so the
// data region starts at a multiple of 8. The result is a Blob built from parts: a 3.4 GB checkpoint never
// becomes one ArrayBuffer.

export interface TensorToWrite {
  name: string;
  dtype: 'F32' | 'F16';
  shape: readonly number[];
  /** F32: Float32Array; F16: half bits as Uint16Array. */
  data: Float32Array | Uint16Array;
}

export interface TensorSpec {
  name: string;
  dtype: 'F32' | 'F16';
  shape: readonly number[];
}

export interface SafetensorsHeader {
  /** The 8-byte length and the padded JSON: the first bytes of the file. */
  bytes: Uint8Array<ArrayBuffer>;
  /** The specs in the order their data must follow the header. */
  order: TensorSpec[];
}

const BYTES = { F32: 4, F16: 2 } as const;

/** Header for tensors that a streaming writer will append in `order`. */
export function encodeSafetensorsHeader(specs: readonly TensorSpec[], metadata?: Record<string, string>): SafetensorsHeader {
  const names = new Set<string>();
  for (const s of specs) {
    if (s.name === '__metadata__') throw new Error('a tensor cannot be named __metadata__');
    if (names.has(s.name)) throw new Error(`tensor "${s.name}" is listed twice`);
    names.add(s.name);
  }
  const order = [...specs].sort((a, b) => BYTES[b.dtype] - BYTES[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const json: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) json.__metadata__ = metadata;
  let offset = 0;
  for (const s of order) {
    const end = offset + s.shape.reduce((a, b) => a * b, 1) * BYTES[s.dtype];
    json[s.name] = { dtype: s.dtype, shape: s.shape, data_offsets: [offset, end] };
    offset = end;
  }
  const text = new TextEncoder().encode(JSON.stringify(json));
  const padded = Math.ceil(text.length / 8) * 8;
  const bytes = new Uint8Array(8 + padded).fill(0x20, 8 + text.length);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  bytes.set(text, 8);
  return { bytes, order };
}

export function writeSafetensors(tensors: readonly TensorToWrite[], metadata?: Record<string, string>): Blob {
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const expected = t.dtype === 'F32' ? Float32Array : Uint16Array;
    if (!(t.data instanceof expected)) throw new Error(`tensor "${t.name}": ${t.dtype} data must be a ${expected.name}`);
    if (t.data.length !== n) throw new Error(`tensor "${t.name}": shape [${t.shape.join(', ')}] needs ${n} values, got ${t.data.length}`);
  }
  const { bytes, order } = encodeSafetensorsHeader(tensors, metadata);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const parts: BlobPart[] = [bytes];
  for (const s of order) {
    const d = byName.get(s.name)!.data;
    parts.push(new Uint8Array(d.buffer as ArrayBuffer, d.byteOffset, d.byteLength));
  }
  return new Blob(parts);
}
