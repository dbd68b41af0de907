// One interface for every place files come from: a picked, dropped or <input webkitdirectory> folder,
// an OPFS directory, a single File, a fetch-backed file, a Node folder. Readers take byte ranges so a
// 7 GB checkpoint is never held in one ArrayBuffer.

export interface FileLike {
  /** Path relative to the source root, '/'-separated (just the name for a single file). */
  readonly path: string;
  readonly name: string;
  readonly size: number;
  /** Bytes [offset, offset + length). Throws if the range passes the end of the file. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** The whole file as a Blob (images, small JSON); avoid for weights. */
  blob(): Promise<Blob>;
}

export interface DirectorySource {
  readonly name: string;
  /** Every file below the root, recursively, in sorted path order. */
  files(): Promise<FileLike[]>;
  /** One file by relative path, or undefined when it does not exist. */
  file(path: string): Promise<FileLike | undefined>;
}

export function checkRange(file: { path: string; size: number }, offset: number, length: number): void {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0) {
    throw new RangeError(`${file.path}: invalid byte range ${offset}+${length}`);
  }
  if (offset + length > file.size) {
    throw new RangeError(`${file.path}: read of bytes ${offset}..${offset + length} passes the end of the file (${file.size} bytes)`);
  }
}

export async function readText(file: FileLike): Promise<string> {
  return new TextDecoder().decode(await file.read(0, file.size));
}

export async function readJson<T = unknown>(file: FileLike): Promise<T> {
  const text = await readText(file);
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${file.path}: invalid JSON (${(e as Error).message})`);
  }
}

/** A File or Blob (browser, or Node's global Blob) as a FileLike. */
export function blobFile(blob: Blob, path: string): FileLike {
  const name = path.split('/').pop() ?? path;
  return {
    path,
    name,
    size: blob.size,
    async read(offset, length) {
      checkRange({ path, size: blob.size }, offset, length);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
    async blob() {
      return blob;
    },
  };
}

/** A directory made of in-memory files keyed by relative path (File lists from <input webkitdirectory>, tests). */
export function blobDirectory(name: string, entries: Iterable<[string, Blob]>): DirectorySource {
  const map = new Map<string, FileLike>();
  for (const [path, blob] of entries) map.set(path, blobFile(blob, path));
  const sorted = [...map.keys()].sort();
  return {
    name,
    async files() {
      return sorted.map((p) => map.get(p)!);
    },
    async file(path) {
      return map.get(path);
    },
  };
}
