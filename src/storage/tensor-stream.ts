// Tensors to fixed-size chunks and back, holding one chunk (plus the tensor being assembled) in memory:
// a 3.4 GB UNet never becomes one buffer.

import type { LoadedTensor, TensorSet, TensorStream } from './checkpoint-format';

/** The tensors' bytes in stream order; a payload of the wrong length is an error naming the tensor. */
export async function* tensorBytes(tensors: TensorSet, stream: TensorStream): AsyncGenerator<Uint8Array> {
  for (const entry of stream.tensors) {
    const expected = entry.end - entry.begin;
    const { bytes } = tensors[entry.name]!;
    let got = 0;
    for await (const piece of bytes instanceof Uint8Array ? [bytes] : bytes) {
      got += piece.length;
      if (got > expected) break;
      yield piece;
    }
    if (got !== expected) {
      throw new Error(`tensor "${entry.name}": [${entry.shape.join(', ')}] ${entry.dtype} needs ${expected} bytes, got ${got}${got > expected ? ' or more' : ''}`);
    }
  }
}

/** Regroups pieces into chunks of exactly `chunkBytes` (the last one shorter), each in its own ArrayBuffer. */
export async function* chunksOf(pieces: AsyncIterable<Uint8Array>, chunkBytes: number): AsyncGenerator<Uint8Array<ArrayBuffer>> {
  let chunk = new Uint8Array(chunkBytes);
  let filled = 0;
  for await (const piece of pieces) {
    let from = 0;
    while (from < piece.length) {
      const n = Math.min(chunkBytes - filled, piece.length - from);
      chunk.set(piece.subarray(from, from + n), filled);
      filled += n;
      from += n;
      if (filled === chunkBytes) {
        yield chunk;
        chunk = new Uint8Array(chunkBytes);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield chunk.slice(0, filled);
}

export function chunkCount(stream: TensorStream): number {
  return Math.ceil(stream.totalBytes / stream.chunkBytes);
}

/** Reassembles tensors (all, or those named) from chunk reads; a chunk shared by neighbours is read once. */
export async function* readTensorsFromChunks(
  stream: TensorStream,
  readChunk: (index: number) => Promise<Uint8Array>,
  names?: readonly string[],
): AsyncGenerator<LoadedTensor> {
  const wanted = names ? new Set(names) : undefined;
  if (wanted) {
    const missing = [...wanted].filter((name) => !stream.tensors.some((t) => t.name === name));
    if (missing.length > 0) throw new Error(`no tensor named ${missing.map((n) => `"${n}"`).join(', ')} in this checkpoint`);
  }
  const size = stream.chunkBytes;
  let cached: { index: number; bytes: Uint8Array } | undefined;
  const chunk = async (index: number): Promise<Uint8Array> => {
    if (cached?.index !== index) {
      const bytes = await readChunk(index);
      const expected = Math.min(size, stream.totalBytes - index * size);
      if (bytes.length !== expected) throw new Error(`chunk ${index} of ${stream.key} has ${bytes.length} bytes, expected ${expected}`);
      cached = { index, bytes };
    }
    return cached.bytes;
  };
  for (const { name, dtype, shape, begin, end } of stream.tensors) {
    if (wanted && !wanted.has(name)) continue;
    const bytes = new Uint8Array(end - begin);
    for (let pos = begin; pos < end; ) {
      const index = Math.floor(pos / size);
      const data = await chunk(index);
      const from = pos - index * size;
      const n = Math.min(end - pos, data.length - from);
      bytes.set(data.subarray(from, from + n), pos - begin);
      pos += n;
    }
    yield { name, dtype, shape: [...shape], bytes };
  }
}
