// Checkpoints in IndexedDB. Tensor bytes go to the `chunks` store as ArrayBuffers of at most 64 MiB under
// a key unique to this save; the manifest is written last, in one transaction that also drops what it
// replaces. So a save that dies midway leaves only unreferenced chunks, which the next open sweeps, and the
// previous checkpoint stays listed and loadable.

import {
  CHECKPOINT_FORMAT_VERSION,
  DEFAULT_KEEP,
  MAX_CHUNK_BYTES,
  compareCheckpoints,
  layoutTensors,
  streamOf,
  summarize,
  validateSave,
  type CheckpointManifest,
  type CheckpointStore,
  type CheckpointSummary,
  type CheckpointToSave,
  type LoadedTensor,
  type ReadOptions,
  type SaveOptions,
  type TensorSet,
  type TensorStream,
} from './checkpoint-format';
import type { StencilDatabase } from './stencil-database';
import { estimateStorage, type StorageUsage } from './storage-info';
import { StorageQuotaError, isOutOfSpace } from './storage-quota-error';
import { chunksOf, readTensorsFromChunks, tensorBytes } from './tensor-stream';

/** Held while a save runs, so another tab's sweep never takes chunks whose manifest is not written yet. */
const WRITE_LOCK = 'stencil-diffusion:checkpoint-writes';

function streamRange(key: string): IDBKeyRange {
  return IDBKeyRange.bound([key, 0], [key, Infinity]);
}

function streamKeys(manifest: CheckpointManifest): string[] {
  return manifest.runState ? [manifest.weights.key, manifest.runState.key] : [manifest.weights.key];
}

export interface IdbCheckpointStoreOptions {
  /** Bytes per stored chunk, at most 64 MiB (smaller in tests). */
  chunkBytes?: number;
  /** Free-space probe for quota errors; navigator.storage.estimate() by default. */
  estimate?: () => Promise<StorageUsage | undefined>;
}

export class IdbCheckpointStore implements CheckpointStore {
  private constructor(
    private readonly db: StencilDatabase,
    private readonly chunkBytes: number,
    private readonly estimate: () => Promise<StorageUsage | undefined>,
  ) {}

  /** Opens the store on a database from openStencilDatabase() and sweeps chunks no manifest refers to. */
  static async open(db: StencilDatabase, options: IdbCheckpointStoreOptions = {}): Promise<IdbCheckpointStore> {
    const chunkBytes = options.chunkBytes ?? MAX_CHUNK_BYTES;
    if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > MAX_CHUNK_BYTES) {
      throw new RangeError(`chunkBytes must be between 1 and ${MAX_CHUNK_BYTES}, got ${chunkBytes}`);
    }
    const store = new IdbCheckpointStore(db, chunkBytes, options.estimate ?? estimateStorage);
    const locks = globalThis.navigator?.locks;
    if (locks) await locks.request(WRITE_LOCK, { ifAvailable: true }, (lock) => (lock ? store.sweepOrphans() : undefined));
    else await store.sweepOrphans();
    return store;
  }

  async save(checkpoint: CheckpointToSave, options: SaveOptions = {}): Promise<CheckpointManifest> {
    const keep = options.keep ?? DEFAULT_KEEP;
    validateSave(checkpoint, keep);
    const id = `${checkpoint.runId}/checkpoint-${checkpoint.step}`;
    // A fresh key per save: re-saving a step never overwrites the chunks its current manifest points at.
    const prefix = `${id}#${crypto.randomUUID()}`;
    const weights = layoutTensors(checkpoint.tensors, `${prefix}/weights`, this.chunkBytes);
    const manifest: CheckpointManifest = {
      format: CHECKPOINT_FORMAT_VERSION,
      id,
      runId: checkpoint.runId,
      step: checkpoint.step,
      createdAt: new Date().toISOString(),
      mode: checkpoint.mode,
      baseModel: checkpoint.baseModel,
      captionTemplate: checkpoint.captionTemplate,
      weights,
      totalBytes: weights.totalBytes,
    };
    if (checkpoint.loss !== undefined) manifest.loss = checkpoint.loss;
    if (checkpoint.runState) {
      const stream = layoutTensors(checkpoint.runState.tensors, `${prefix}/run-state`, this.chunkBytes);
      manifest.runState = { ...stream, state: checkpoint.runState.state };
      manifest.totalBytes += stream.totalBytes;
    }
    const write = async (): Promise<void> => {
      try {
        await this.writeStream(checkpoint.tensors, weights);
        if (checkpoint.runState && manifest.runState) await this.writeStream(checkpoint.runState.tensors, manifest.runState);
        await this.commit(manifest);
      } catch (error) {
        // Best effort: if even the cleanup fails, the sweep on the next open removes these chunks.
        await this.deleteStreams(streamKeys(manifest)).catch(() => undefined);
        if (isOutOfSpace(error)) throw new StorageQuotaError(manifest.totalBytes, await this.estimate(), `the checkpoint at step ${checkpoint.step}`);
        throw error;
      }
    };
    const locks = globalThis.navigator?.locks;
    await (locks ? locks.request(WRITE_LOCK, write) : write());
    await this.prune(manifest, keep);
    return manifest;
  }

  async list(runId?: string): Promise<CheckpointSummary[]> {
    const manifests = runId === undefined ? await this.db.getAll('checkpoints') : await this.db.getAllFromIndex('checkpoints', 'runId', runId);
    return manifests.map(summarize).sort(compareCheckpoints);
  }

  manifest(id: string): Promise<CheckpointManifest | undefined> {
    return this.db.get('checkpoints', id);
  }

  async *readTensors(id: string, options: ReadOptions = {}): AsyncGenerator<LoadedTensor> {
    const manifest = await this.manifest(id);
    if (!manifest) throw new Error(`no checkpoint "${id}"`);
    const stream = streamOf(manifest, options.part ?? 'weights');
    const readChunk = async (index: number): Promise<Uint8Array> => {
      const buffer = await this.db.get('chunks', [stream.key, index]);
      if (!buffer) throw new Error(`checkpoint "${id}" is damaged: chunk ${index} of ${stream.key} is missing`);
      return new Uint8Array(buffer);
    };
    yield* readTensorsFromChunks(stream, readChunk, options.names);
  }

  async delete(id: string): Promise<void> {
    const tx = this.db.transaction(['checkpoints', 'chunks'], 'readwrite');
    const manifest = await tx.objectStore('checkpoints').get(id);
    if (manifest) {
      await tx.objectStore('checkpoints').delete(id);
      for (const key of streamKeys(manifest)) await tx.objectStore('chunks').delete(streamRange(key));
    }
    await tx.done;
  }

  private async writeStream(tensors: TensorSet, stream: TensorStream): Promise<void> {
    let index = 0;
    for await (const chunk of chunksOf(tensorBytes(tensors, stream), stream.chunkBytes)) {
      await this.db.put('chunks', chunk.buffer, [stream.key, index++]);
    }
  }

  /** Makes the checkpoint visible and drops the chunks of the one it replaces, atomically. */
  private async commit(manifest: CheckpointManifest): Promise<void> {
    const tx = this.db.transaction(['checkpoints', 'chunks'], 'readwrite');
    const replaced = await tx.objectStore('checkpoints').get(manifest.id);
    await tx.objectStore('checkpoints').put(manifest);
    if (replaced) for (const key of streamKeys(replaced)) await tx.objectStore('chunks').delete(streamRange(key));
    await tx.done;
  }

  private async deleteStreams(keys: readonly string[]): Promise<void> {
    const tx = this.db.transaction('chunks', 'readwrite');
    for (const key of keys) await tx.store.delete(streamRange(key));
    await tx.done;
  }

  /** Keeps the newest `keep` checkpoints of the run; only the newest keeps its (large) run state. */
  private async prune(saved: CheckpointManifest, keep: number): Promise<void> {
    const manifests = (await this.db.getAllFromIndex('checkpoints', 'runId', saved.runId)).sort((a, b) => b.step - a.step);
    for (const old of manifests.slice(keep)) await this.delete(old.id);
    if (!saved.runState) return;
    for (const { runState, ...rest } of manifests.slice(0, keep)) {
      if (rest.id === saved.id || !runState) continue;
      const tx = this.db.transaction(['checkpoints', 'chunks'], 'readwrite');
      await tx.objectStore('checkpoints').put({ ...rest, totalBytes: rest.weights.totalBytes });
      await tx.objectStore('chunks').delete(streamRange(runState.key));
      await tx.done;
    }
  }

  private async sweepOrphans(): Promise<void> {
    const tx = this.db.transaction(['checkpoints', 'chunks'], 'readwrite');
    const referenced = new Set((await tx.objectStore('checkpoints').getAll()).flatMap(streamKeys));
    const orphans = new Set((await tx.objectStore('chunks').getAllKeys()).map(([key]) => key).filter((key) => !referenced.has(key)));
    for (const key of orphans) await tx.objectStore('chunks').delete(streamRange(key));
    await tx.done;
  }
}
