// How much this origin stores and may store, and the request that keeps the browser from evicting it.

export interface StorageUsage {
  usage: number;
  quota: number;
  /** Bytes still available under the quota. */
  free: number;
}

/** Usage and quota from navigator.storage.estimate(), or undefined where the API is missing (Node, old browsers). */
export async function estimateStorage(): Promise<StorageUsage | undefined> {
  const storage = globalThis.navigator?.storage;
  if (typeof storage?.estimate !== 'function') return undefined;
  const { usage = 0, quota = 0 } = await storage.estimate();
  return { usage, quota, free: Math.max(0, quota - usage) };
}

/**
 * Asks the browser to keep this origin's data under storage pressure (checkpoints take gigabytes).
 * Resolves to whether storage is persistent now; false where the API is missing or the browser declines.
 */
export async function requestPersistentStorage(): Promise<boolean> {
  const storage = globalThis.navigator?.storage;
  if (typeof storage?.persist !== 'function') return false;
  if (await storage.persisted()) return true;
  return storage.persist();
}

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`;
}
