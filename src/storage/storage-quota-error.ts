// Running out of storage while saving gets its own error: how much the save needed, what is free, and the
// promise that the previous checkpoint was kept.

import { formatBytes, type StorageUsage } from './storage-info';

export class StorageQuotaError extends Error {
  constructor(
    readonly neededBytes: number,
    readonly available: StorageUsage | undefined,
    what: string,
  ) {
    const free = available
      ? `${formatBytes(available.free)} is free (${formatBytes(available.usage)} of ${formatBytes(available.quota)} used)`
      : 'the free space could not be measured';
    super(
      `Not enough storage to save ${what}: it needs ${formatBytes(neededBytes)} and ${free}. ` +
        'The previous checkpoint is kept. Delete old checkpoints or runs, keep fewer checkpoints, or free disk space.',
    );
    this.name = 'StorageQuotaError';
  }
}

/** IndexedDB's QuotaExceededError (a DOMException) and Node's ENOSPC. */
export function isOutOfSpace(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, code } = error as { name?: unknown; code?: unknown };
  return name === 'QuotaExceededError' || code === 'ENOSPC';
}
