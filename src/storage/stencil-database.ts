// The app's one IndexedDB database: checkpoint manifests, their tensor chunks, training runs, settings, and
// the gallery of generated images.

import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { CheckpointManifest } from './checkpoint-format';
import type { GalleryRecord } from './gallery-store';
import type { RunRecord } from './run-store';

export interface StencilSchema extends DBSchema {
  checkpoints: { key: string; value: CheckpointManifest; indexes: { runId: string } };
  /** Key: [stream key, chunk index]; value: at most 64 MiB of a tensor stream. */
  chunks: { key: [string, number]; value: ArrayBuffer };
  runs: { key: string; value: RunRecord };
  settings: { key: string; value: unknown };
  gallery: { key: number; value: GalleryRecord };
}

export type StencilDatabase = IDBPDatabase<StencilSchema>;

export const DATABASE_NAME = 'stencil-diffusion';

export function openStencilDatabase(name = DATABASE_NAME): Promise<StencilDatabase> {
  return openDB<StencilSchema>(name, 2, {
    upgrade(db, oldVersion) {
      if (oldVersion < 1) {
        db.createObjectStore('checkpoints', { keyPath: 'id' }).createIndex('runId', 'runId');
        db.createObjectStore('chunks');
        db.createObjectStore('runs', { keyPath: 'id' });
        db.createObjectStore('settings');
      }
      if (oldVersion < 2) db.createObjectStore('gallery', { keyPath: 'id', autoIncrement: true });
    },
    // The page and the worker each hold a connection: a newer version opened elsewhere must not wait on ours.
    blocking(_current, _blocked, event) {
      (event.target as IDBDatabase).close();
    },
  });
}
