// The checkpoints training saved in this browser's IndexedDB, as the Checkpoints view lists them, and
// their export as the files other tools read (a diffusers unet/ folder, or a PEFT-keyed LoRA file).
import { exportDiffusersUnet, exportLora, type ExportedFile, type ExportMetadata } from '../pipelines/fine-tune/export';
import { loadCheckpointWeights } from '../pipelines/fine-tune/run-checkpoint';
import { IdbCheckpointStore } from '../storage/checkpoint-store';
import type { CheckpointManifest, CheckpointSummary } from '../storage/checkpoint-format';
import { openStencilDatabase } from '../storage/stencil-database';
import type { ExportedCheckpoint } from './messages';
import { loadedModel } from './model-loader';

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

/** A stored checkpoint of the loaded base model, with the metadata its exports and loads carry. */
export interface StoredCheckpoint {
  store: IdbCheckpointStore;
  manifest: CheckpointManifest;
  meta: ExportMetadata;
}

export async function storedCheckpoint(id: string): Promise<StoredCheckpoint> {
  const store = await checkpointStore();
  const manifest = await store.manifest(id);
  if (!manifest) throw new Error(`no checkpoint "${id}" (deleted in another tab?)`);
  // The exported unet/ carries the base model's config, so the base model must be the one loaded.
  const { info, pipeline } = loadedModel();
  if (info.name !== manifest.baseModel) throw new Error(`this checkpoint was trained from "${manifest.baseModel}": load that model first`);
  const meta = { baseModel: manifest.baseModel, captionTemplate: manifest.captionTemplate, predictionType: pipeline.metadata.predictionType, step: manifest.step, mode: manifest.mode };
  return { store, manifest, meta };
}

/** The checkpoint as the files other tools read: a diffusers unet/ folder, or a PEFT-keyed LoRA file. */
export async function checkpointFiles({ store, manifest, meta }: StoredCheckpoint, dtype: 'f16' | 'f32'): Promise<ExportedFile[]> {
  const weights = await loadCheckpointWeights(store, manifest.id);
  const alpha = (manifest.runState?.state as { config?: { alpha?: number } } | undefined)?.config?.alpha;
  return manifest.mode === 'lora' ? exportLora(weights, alpha ?? 4, meta) : exportDiffusersUnet(weights, loadedModel().unetConfig, meta, dtype);
}

export async function exportCheckpoint(id: string, dtype: 'f16' | 'f32'): Promise<ExportedCheckpoint> {
  const files = await checkpointFiles(await storedCheckpoint(id), dtype);
  return { files: await Promise.all(files.map(async (f) => ({ path: f.path, data: new Uint8Array(await f.blob.arrayBuffer()) }))) };
}
