// What the browser lets this origin store, and the downloaded model files in the Origin Private File System.
import type { StorageInfo } from './messages';

const MODEL_CACHE = 'models';

/** The FileSystemDirectoryHandle iteration members (lib.dom.asynciterable is not in our lib list). */
interface IterableDirectoryHandle extends FileSystemDirectoryHandle {
  values(): AsyncIterable<FileSystemDirectoryHandle | FileSystemFileHandle>;
}

async function folderBytes(dir: FileSystemDirectoryHandle): Promise<number> {
  let total = 0;
  for await (const entry of (dir as IterableDirectoryHandle).values()) {
    total += entry.kind === 'directory' ? await folderBytes(entry) : (await entry.getFile()).size;
  }
  return total;
}

async function modelCache(): Promise<FileSystemDirectoryHandle | undefined> {
  try {
    return await (await navigator.storage.getDirectory()).getDirectoryHandle(MODEL_CACHE);
  } catch (e) {
    if ((e as DOMException).name === 'NotFoundError') return undefined;
    throw e;
  }
}

export async function storageInfo(): Promise<StorageInfo> {
  const { usage = 0, quota = 0 } = await navigator.storage.estimate();
  const cache = await modelCache();
  return { usage, quota, cachedModelBytes: cache ? await folderBytes(cache) : 0 };
}

export async function clearModelCache(): Promise<StorageInfo> {
  if (await modelCache()) await (await navigator.storage.getDirectory()).removeEntry(MODEL_CACHE, { recursive: true });
  return storageInfo();
}
