// ByteCache in a Node folder: a partial entry is "<name>.partial", renamed to "<name>" when complete.
import { mkdir, open, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FileLike } from '../io/file-source';
import { nodeFile } from '../io/node-file-source';
import { keySegments, type ByteCache } from './byte-cache';

export function nodeByteCache(root: string): ByteCache {
  const pathOf = (key: string) => join(root, ...keySegments(key));
  const sizeOf = (path: string) => stat(path).then((s) => s.size, () => undefined);
  return {
    async get(key): Promise<FileLike | undefined> {
      const path = pathOf(key);
      return (await sizeOf(path)) === undefined ? undefined : nodeFile(path, key);
    },
    async size(key) {
      const path = pathOf(key);
      return (await sizeOf(path)) ?? (await sizeOf(`${path}.partial`)) ?? 0;
    },
    async write(key, offset, bytes) {
      const partial = `${pathOf(key)}.partial`;
      await mkdir(dirname(partial), { recursive: true });
      const handle = await open(partial, (await sizeOf(partial)) === undefined ? 'w' : 'r+');
      try {
        let done = 0;
        while (done < bytes.length) done += (await handle.write(bytes, done, bytes.length - done, offset + done)).bytesWritten;
      } finally {
        await handle.close();
      }
    },
    async complete(key) {
      const path = pathOf(key);
      await rename(`${path}.partial`, path);
    },
  };
}
