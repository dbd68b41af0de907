// Where downloaded model files are kept: OPFS in the browser (opfs-cache.ts), a folder in Node (node-cache.ts).
// An entry grows by writes at increasing offsets and is readable only once marked complete, so an interrupted
// download leaves a partial entry that the next attempt continues with an HTTP Range request.
import type { FileLike } from '../io/file-source';

export interface ByteCache {
  /** The complete entry, or undefined when it is absent or still partial. */
  get(key: string): Promise<FileLike | undefined>;
  /** Bytes held for the entry, partial or complete (0 when absent). */
  size(key: string): Promise<number>;
  write(key: string, offset: number, bytes: Uint8Array): Promise<void>;
  complete(key: string): Promise<void>;
}

/** Keys are '/'-separated relative paths; refuse anything that could climb out of the cache root. */
export function keySegments(key: string): string[] {
  const segments = key.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) throw new Error(`invalid cache key "${key}"`);
  return segments;
}
