// Checkpoints as folders (Node CLI): DIR/checkpoint-<step>/ holds manifest.json (the same manifest as in
// IndexedDB), weights.bin and, on the newest checkpoint, run-state.bin, each the tensors' bytes end to end.
// A save writes a hidden temporary folder and renames it into place, so a checkpoint folder is complete
// or absent; leftovers of interrupted saves are swept when the store opens.

import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
import type { StorageUsage } from './storage-info';
import { StorageQuotaError, isOutOfSpace } from './storage-quota-error';
import { readTensorsFromChunks, tensorBytes } from './tensor-stream';

const CHECKPOINT_FOLDER = /^checkpoint-(\d+)$/;
/** `.checkpoint-<step>.tmp-<uuid>`: a save or delete in progress. `.old-`: the folder a re-save replaces. */
const WORK_FOLDER = /^\.(checkpoint-\d+)\.(tmp|old)-[0-9a-f-]+$/;

const exists = (path: string): Promise<boolean> => stat(path).then(
  () => true,
  () => false,
);

async function diskSpace(dir: string): Promise<StorageUsage | undefined> {
  try {
    const { blocks, bfree, bavail, bsize } = await statfs(dir);
    return { usage: (blocks - bfree) * bsize, quota: blocks * bsize, free: bavail * bsize };
  } catch {
    return undefined;
  }
}

async function writeTensorFile(path: string, tensors: TensorSet, stream: TensorStream): Promise<void> {
  const file = await open(path, 'w');
  try {
    for await (const piece of tensorBytes(tensors, stream)) {
      for (let done = 0; done < piece.length; ) done += (await file.write(piece, done, piece.length - done)).bytesWritten;
    }
    await file.sync();
  } finally {
    await file.close();
  }
}

export class FileCheckpointStore implements CheckpointStore {
  private constructor(
    readonly dir: string,
    private readonly chunkBytes: number,
  ) {}

  /** Creates DIR if needed and finishes or removes what interrupted saves and deletes left behind. */
  static async open(dir: string, options: { chunkBytes?: number } = {}): Promise<FileCheckpointStore> {
    await mkdir(dir, { recursive: true });
    for (const name of await readdir(dir)) {
      const match = WORK_FOLDER.exec(name);
      if (!match) continue;
      const [, id, kind] = match;
      // An `.old-` folder whose replacement never arrived is still the checkpoint: put it back.
      if (kind === 'old' && !(await exists(join(dir, id!)))) await rename(join(dir, name), join(dir, id!));
      else await rm(join(dir, name), { recursive: true, force: true });
    }
    return new FileCheckpointStore(dir, options.chunkBytes ?? MAX_CHUNK_BYTES);
  }

  async save(checkpoint: CheckpointToSave, options: SaveOptions = {}): Promise<CheckpointManifest> {
    const keep = options.keep ?? DEFAULT_KEEP;
    validateSave(checkpoint, keep);
    const id = `checkpoint-${checkpoint.step}`;
    const weights = layoutTensors(checkpoint.tensors, 'weights.bin', this.chunkBytes);
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
      const stream = layoutTensors(checkpoint.runState.tensors, 'run-state.bin', this.chunkBytes);
      manifest.runState = { ...stream, state: checkpoint.runState.state };
      manifest.totalBytes += stream.totalBytes;
    }
    const work = join(this.dir, `.${id}.tmp-${randomUUID()}`);
    try {
      await mkdir(work);
      await writeTensorFile(join(work, weights.key), checkpoint.tensors, weights);
      if (checkpoint.runState && manifest.runState) await writeTensorFile(join(work, manifest.runState.key), checkpoint.runState.tensors, manifest.runState);
      await writeFile(join(work, 'manifest.json'), JSON.stringify(manifest, null, 1));
      await this.install(work, id);
    } catch (error) {
      await rm(work, { recursive: true, force: true });
      if (isOutOfSpace(error)) throw new StorageQuotaError(manifest.totalBytes, await diskSpace(this.dir), `checkpoint ${checkpoint.step} in ${this.dir}`);
      throw error;
    }
    await this.prune(manifest, keep);
    return manifest;
  }

  async list(runId?: string): Promise<CheckpointSummary[]> {
    const summaries: CheckpointSummary[] = [];
    for (const name of await readdir(this.dir)) {
      if (!CHECKPOINT_FOLDER.test(name)) continue;
      const manifest = await this.manifest(name);
      if (manifest && (runId === undefined || manifest.runId === runId)) summaries.push(summarize(manifest));
    }
    return summaries.sort(compareCheckpoints);
  }

  async manifest(id: string): Promise<CheckpointManifest | undefined> {
    if (!CHECKPOINT_FOLDER.test(id)) return undefined;
    const text = await readFile(join(this.dir, id, 'manifest.json'), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    return text === undefined ? undefined : (JSON.parse(text) as CheckpointManifest);
  }

  async *readTensors(id: string, options: ReadOptions = {}): AsyncGenerator<LoadedTensor> {
    const manifest = await this.manifest(id);
    if (!manifest) throw new Error(`no checkpoint "${id}" in ${this.dir}`);
    const stream = streamOf(manifest, options.part ?? 'weights');
    const file = await open(join(this.dir, id, stream.key), 'r');
    try {
      const readChunk = async (index: number): Promise<Uint8Array> => {
        const start = index * stream.chunkBytes;
        const bytes = new Uint8Array(Math.min(stream.chunkBytes, stream.totalBytes - start));
        for (let done = 0; done < bytes.length; ) {
          const { bytesRead } = await file.read(bytes, done, bytes.length - done, start + done);
          if (bytesRead === 0) throw new Error(`checkpoint "${id}" is damaged: ${stream.key} ends at byte ${start + done} of ${stream.totalBytes}`);
          done += bytesRead;
        }
        return bytes;
      };
      yield* readTensorsFromChunks(stream, readChunk, options.names);
    } finally {
      await file.close();
    }
  }

  async delete(id: string): Promise<void> {
    if (!CHECKPOINT_FOLDER.test(id) || !(await exists(join(this.dir, id)))) return;
    // Renamed first so a half-deleted folder is never mistaken for a checkpoint.
    const trash = join(this.dir, `.${id}.tmp-${randomUUID()}`);
    await rename(join(this.dir, id), trash);
    await rm(trash, { recursive: true, force: true });
  }

  /** Renames the finished folder into place; a folder it replaces is moved aside first and removed after. */
  private async install(work: string, id: string): Promise<void> {
    const target = join(this.dir, id);
    if (!(await exists(target))) return rename(work, target);
    const old = join(this.dir, `.${id}.old-${randomUUID()}`);
    await rename(target, old);
    await rename(work, target);
    await rm(old, { recursive: true, force: true });
  }

  /** Keeps the newest `keep` checkpoints of the run; only the newest keeps its run state. */
  private async prune(saved: CheckpointManifest, keep: number): Promise<void> {
    const summaries = (await this.list(saved.runId)).reverse();
    for (const old of summaries.slice(keep)) await this.delete(old.id);
    if (!saved.runState) return;
    for (const summary of summaries.slice(0, keep)) {
      if (summary.id === saved.id || !summary.hasRunState) continue;
      const { runState, ...rest } = (await this.manifest(summary.id))!;
      const folder = join(this.dir, summary.id);
      // The manifest stops referring to run-state.bin (atomically, by rename) before the file goes.
      await writeFile(join(folder, 'manifest.json.tmp'), JSON.stringify({ ...rest, totalBytes: rest.weights.totalBytes }, null, 1));
      await rename(join(folder, 'manifest.json.tmp'), join(folder, 'manifest.json'));
      await rm(join(folder, runState!.key), { force: true });
    }
  }
}
