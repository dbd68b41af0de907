// The app's one IndexedDB database: checkpoint manifests, their tensor chunks, training runs, settings.

import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { CheckpointManifest } from './checkpoint-format';
import type { RunRecord } from './run-store';

export interface StencilSchema extends DBSchema {
  checkpoints: { key: string; value: CheckpointManifest; indexes: { runId: string } };
  /** Key: [stream key, chunk index]; value: at most 64 MiB of a tensor stream. */
  chunks: { key: [string, number]; value: ArrayBuffer };
  runs: { key: string; value: RunRecord };
  settings: { key: string; value: unknown };
}

export type StencilDatabase = IDBPDatabase<StencilSchema>;

export const DATABASE_NAME = 'stencil-diffusion';

export function openStencilDatabase(name = DATABASE_NAME): Promise<StencilDatabase> {
  return openDB<StencilSchema>(name, 1, {
    upgrade(db) {
      db.createObjectStore('checkpoints', { keyPath: 'id' }).createIndex('runId', 'runId');
      db.createObjectStore('chunks');
      db.createObjectStore('runs', { keyPath: 'id' });
      db.createObjectStore('settings');
    },
  });
}
