// The checkpoints training saved in this browser's IndexedDB, as the Checkpoints view lists them.
import { IdbCheckpointStore } from '../storage/checkpoint-store';
import type { CheckpointSummary } from '../storage/checkpoint-format';
import { openStencilDatabase } from '../storage/stencil-database';

let store: Promise<IdbCheckpointStore> | undefined;

export function checkpointStore(): Promise<IdbCheckpointStore> {
  store ??= openStencilDatabase().then((db) => IdbCheckpointStore.open(db));
  return store;
}

/** Newest first: the one a user most likely wants. */
export async function listCheckpoints(): Promise<CheckpointSummary[]> {
  return (await (await checkpointStore()).list()).sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : b.step - a.step));
}

export async function deleteCheckpoint(id: string): Promise<CheckpointSummary[]> {
  await (await checkpointStore()).delete(id);
  return listCheckpoints();
}
