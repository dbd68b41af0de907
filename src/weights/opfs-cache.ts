// ByteCache in the Origin Private File System (works in workers and the page). A partial entry is
// "<name>.partial"; completion writes an empty "<name>.complete" marker, so no rename support is needed.
import { blobFile, type FileLike } from '../io/file-source';
import { keySegments, type ByteCache } from './byte-cache';

export async function opfsByteCache(folder = 'models'): Promise<ByteCache> {
  const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(folder, { create: true });
  async function parent(key: string, create: boolean): Promise<{ dir: FileSystemDirectoryHandle; name: string } | undefined> {
    const segments = keySegments(key);
    let dir = root;
    try {
      for (const s of segments.slice(0, -1)) dir = await dir.getDirectoryHandle(s, { create });
    } catch (e) {
      if ((e as DOMException).name === 'NotFoundError') return undefined;
      throw e;
    }
    return { dir, name: segments[segments.length - 1] };
  }
  async function fileIn(dir: FileSystemDirectoryHandle, name: string): Promise<File | undefined> {
    try {
      return await (await dir.getFileHandle(name)).getFile();
    } catch (e) {
      if ((e as DOMException).name === 'NotFoundError') return undefined;
      throw e;
    }
  }
  return {
    async get(key): Promise<FileLike | undefined> {
      const at = await parent(key, false);
      if (!at || !(await fileIn(at.dir, `${at.name}.complete`))) return undefined;
      const file = await fileIn(at.dir, `${at.name}.partial`);
      return file && blobFile(file, key);
    },
    async size(key) {
      const at = await parent(key, false);
      return at ? ((await fileIn(at.dir, `${at.name}.partial`))?.size ?? 0) : 0;
    },
    async write(key, offset, bytes) {
      const at = (await parent(key, true))!;
      const handle = await at.dir.getFileHandle(`${at.name}.partial`, { create: true });
      const writable = await handle.createWritable({ keepExistingData: true });
      try {
        await writable.seek(offset);
        await writable.write(bytes as Uint8Array<ArrayBuffer>);
      } finally {
        await writable.close();
      }
    },
    async complete(key) {
      const at = (await parent(key, true))!;
      await at.dir.getFileHandle(`${at.name}.complete`, { create: true });
    },
  };
}
