// ByteCache in the Origin Private File System (works in workers and the page). A partial entry is
// "<name>.partial"; completion writes an empty "<name>.complete" marker, so no rename support is needed.
//
// Writes go through a sync access handle where the context has one (dedicated workers, where hub downloads
// run): it writes in place, whereas createWritable({ keepExistingData: true }) copies the whole file to a swap
// file and back on every call, O(n²) disk traffic over a multi-GB download. The handle is opened for each
// write and closed at once: opening costs well under a millisecond, while a handle held open between writes
// keeps its exclusive lock after a cancelled download, and removeEntry (clearing the cache), createWritable
// and other tabs then fail with NoModificationAllowedError.
import { blobFile, type FileLike } from '../io/file-source';
import { keySegments, type ByteCache } from './byte-cache';

/** FileSystemSyncAccessHandle, which TypeScript's DOM lib leaves out (it is worker-only). */
interface SyncAccessHandle {
  write(bytes: Uint8Array, options: { at: number }): number;
  close(): void;
}
type MaybeSyncFileHandle = FileSystemFileHandle & { createSyncAccessHandle?: () => Promise<SyncAccessHandle> };

// A file takes one sync access handle at a time, so writes to one entry from this context (every cache
// instance: hubInfo and each load open their own) take turns.
const lastWrite = new Map<string, Promise<void>>();

async function inTurn(id: string, write: () => Promise<void>): Promise<void> {
  const done = (lastWrite.get(id) ?? Promise.resolve()).then(write);
  const settled = done.catch(() => undefined);
  lastWrite.set(id, settled);
  try {
    await done;
  } finally {
    if (lastWrite.get(id) === settled) lastWrite.delete(id);
  }
}

async function writeAt(handle: MaybeSyncFileHandle, offset: number, bytes: Uint8Array): Promise<void> {
  if (handle.createSyncAccessHandle) {
    const access = await handle.createSyncAccessHandle();
    try {
      const written = access.write(bytes, { at: offset });
      if (written !== bytes.length) throw new Error(`${handle.name}: wrote ${written} of ${bytes.length} bytes`);
    } finally {
      access.close();
    }
    return;
  }
  // The page's main thread has no sync access handles.
  const writable = await handle.createWritable({ keepExistingData: true });
  try {
    await writable.seek(offset);
    await writable.write(bytes as Uint8Array<ArrayBuffer>);
  } finally {
    await writable.close();
  }
}

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
      await inTurn(`${folder}/${key}`, () => writeAt(handle, offset, bytes));
    },
    async complete(key) {
      const at = (await parent(key, true))!;
      await at.dir.getFileHandle(`${at.name}.complete`, { create: true });
    },
  };
}
