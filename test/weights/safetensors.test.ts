import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blobFile } from '../../src/io/file-source';
import { nodeFile } from '../../src/io/node-file-source';
import { openSafetensors, SafetensorsError } from '../../src/weights/safetensors';
import { writeSafetensors, type TensorToWrite } from '../../src/weights/safetensors-writer';

const UNET = join(__dirname, '../fixtures/golden/tiny-sd15/model/unet');

/** A file from a header object and a data region, laid out as safetensors does. */
function rawFile(header: unknown, data: Uint8Array, path = 'bad.safetensors', headerText = JSON.stringify(header)) {
  const text = new TextEncoder().encode(headerText);
  const bytes = new Uint8Array(8 + text.length + data.length);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(text.length), true);
  bytes.set(text, 8);
  bytes.set(data, 8 + text.length);
  return blobFile(new Blob([bytes]), path);
}

async function rejection(promise: Promise<unknown>): Promise<SafetensorsError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(SafetensorsError);
  return error as SafetensorsError;
}

describe('safetensors reader', () => {
  it('reads the golden UNet, and its F32 weights rounded to f16 bits equal the fp16 variant torch wrote', async () => {
    const f32 = await openSafetensors(await nodeFile(join(UNET, 'diffusion_pytorch_model.safetensors')));
    const f16 = await openSafetensors(await nodeFile(join(UNET, 'diffusion_pytorch_model.fp16.safetensors')));
    expect(f32.metadata).toEqual({ format: 'pt' });
    expect(f32.tensor('conv_in.weight')).toMatchObject({ dtype: 'F32', shape: [32, 4, 3, 3], begin: 128, end: 4736 });
    expect([...f32.tensors.keys()].sort()).toEqual([...f16.tensors.keys()].sort());
    for (const name of f32.tensors.keys()) {
      expect(await f32.readF16Bits(name)).toEqual(await f16.readF16Bits(name));
    }
  });

  it('reads element ranges and chunk boundaries the same as whole tensors', async () => {
    const file = await openSafetensors(await nodeFile(join(UNET, 'diffusion_pytorch_model.safetensors')));
    const all = await file.readF32('conv_in.weight');
    expect(await file.readF32('conv_in.weight', { start: 100, count: 300 })).toEqual(all.subarray(100, 400));
  });

  it('converts BF16, F64 and I64 to float32', async () => {
    const bf16 = new Uint16Array([0x3f80, 0xc040, 0x7f80]); // 1, -3, inf
    const f64 = new Float64Array([0.1, -2.5]);
    const i64 = new BigInt64Array([0n, 76n]);
    const data = new Uint8Array(6 + 2 + 16 + 16);
    data.set(new Uint8Array(f64.buffer), 0);
    data.set(new Uint8Array(i64.buffer), 16);
    data.set(new Uint8Array(bf16.buffer), 32);
    const file = await openSafetensors(
      rawFile(
        {
          f64: { dtype: 'F64', shape: [2], data_offsets: [0, 16] },
          i64: { dtype: 'I64', shape: [1, 2], data_offsets: [16, 32] },
          bf16: { dtype: 'BF16', shape: [3], data_offsets: [32, 38] },
          pad: { dtype: 'U8', shape: [2], data_offsets: [38, 40] },
        },
        data,
      ),
    );
    expect([...(await file.readF32('bf16'))]).toEqual([1, -3, Infinity]);
    expect([...(await file.readF32('f64'))]).toEqual([Math.fround(0.1), -2.5]);
    expect([...(await file.readF32('i64'))]).toEqual([0, 76]);
    expect([...(await file.readF16Bits('bf16'))]).toEqual([0x3c00, 0xc200, 0x7c00]);
  });

  const four = new Uint8Array(8);
  const cases: [string, () => ReturnType<typeof rawFile>, RegExp, string | undefined][] = [
    ['header length past the end', () => {
      const f = rawFile({}, new Uint8Array(0));
      return blobFile(new Blob([new Uint8Array([0xff, 0xff, 0, 0, 0, 0, 0, 0])]), f.path);
    }, /passes the end of the file/, undefined],
    ['invalid JSON', () => rawFile(null, four, 'bad.safetensors', '{"a": '), /invalid header JSON/, undefined],
    ['unknown dtype', () => rawFile({ w: { dtype: 'F12', shape: [2], data_offsets: [0, 8] } }, four), /unknown dtype "F12"/, 'w'],
    ['offsets out of range', () => rawFile({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, four), /pass the end of the data/, 'w'],
    ['shape × dtype ≠ bytes', () => rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, four), /12 bytes but data_offsets span 8/, 'w'],
    ['overlap', () => rawFile({
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
    }, four), /overlap tensor "a"/, 'b'],
    ['gap', () => rawFile({
      a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      b: { dtype: 'F16', shape: [1], data_offsets: [6, 8] },
    }, four), /gap of 2 bytes/, 'b'],
    ['trailing bytes', () => rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, four), /cover 4 bytes but the data region holds 8/, undefined],
  ];
  it.each(cases)('rejects %s, naming the file and tensor', async (_, make, message, tensor) => {
    const error = await rejection(openSafetensors(make()));
    expect(error.message).toMatch(message);
    expect(error.message).toContain('bad.safetensors');
    expect(error.tensor).toBe(tensor);
  });
});

async function openSafetensorsFromBlob(blob: Blob) {
  return openSafetensors(blobFile(blob, 'written.safetensors'));
}

describe('safetensors writer', () => {
  it('writes byte-for-byte what the reference implementation wrote for the golden text encoder', async () => {
    const path = join(__dirname, '../fixtures/golden/tiny-sd15/model/text_encoder/model.safetensors');
    const original = await openSafetensors(await nodeFile(path));
    const tensors: TensorToWrite[] = [];
    for (const [name, info] of original.tensors) {
      tensors.push({ name, dtype: 'F32', shape: info.shape, data: await original.readF32(name) });
    }
    const written = new Uint8Array(await writeSafetensors(tensors.reverse(), original.metadata).arrayBuffer());
    expect(Buffer.from(written).equals(readFileSync(path))).toBe(true);
  });

  it('pads the header to 8 bytes and round-trips mixed F32 / F16 with metadata', async () => {
    const blob = writeSafetensors(
      [
        { name: 'h', dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0x0001, 0xfc00]) },
        { name: 'w', dtype: 'F32', shape: [2, 1], data: new Float32Array([1.5, -0]) },
      ],
      { step: '12', 'fine-tuned': 'true' },
    );
    const bytes = new Uint8Array(await blob.arrayBuffer());
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
    const file = await openSafetensorsFromBlob(blob);
    expect(file.metadata).toEqual({ step: '12', 'fine-tuned': 'true' });
    expect(file.tensor('w').begin).toBe(0); // larger dtype first, as the reference orders them
    expect([...(await file.readF32('h'))]).toEqual([1, 2 ** -24, -Infinity]);
    expect([...(await file.readF32('w'))]).toEqual([1.5, -0]);
  });

  it('refuses data that does not match its shape or dtype', () => {
    expect(() => writeSafetensors([{ name: 'x', dtype: 'F32', shape: [3], data: new Float32Array(2) }])).toThrow(/needs 3 values/);
    expect(() => writeSafetensors([{ name: 'x', dtype: 'F16', shape: [2], data: new Float32Array(2) }])).toThrow(/Uint16Array/);
  });
});
