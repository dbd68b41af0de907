// The checkpoint manifest and tensor payloads shared by the IndexedDB store (browser) and the folder store
// (Node CLI), independent of tfjs: a checkpoint is named tensors (f32 or f16 bytes) laid end to end in one
// byte stream, stored in fixed-size chunks, plus JSON describing where each tensor lies.

export const CHECKPOINT_FORMAT_VERSION = 1;

export type TensorDtype = 'f32' | 'f16';

export const DTYPE_BYTES: Record<TensorDtype, number> = { f32: 4, f16: 2 };

/** A tensor's bytes (little-endian; f16 as IEEE half bits): whole, or as pieces from an async source such as GPU readbacks. */
export type TensorBytes = Uint8Array | AsyncIterable<Uint8Array>;

export interface TensorPayload {
  dtype: TensorDtype;
  shape: readonly number[];
  bytes: TensorBytes;
}

/** Tensors by name; they are stored in this object's key order. */
export type TensorSet = Readonly<Record<string, TensorPayload>>;

export interface TensorEntry {
  name: string;
  dtype: TensorDtype;
  shape: number[];
  /** Byte range [begin, end) in the stream. */
  begin: number;
  end: number;
}

/** One stored byte stream: its location key (chunk key prefix or file name), layout and chunking. */
export interface TensorStream {
  key: string;
  tensors: TensorEntry[];
  totalBytes: number;
  chunkBytes: number;
}

export type CheckpointMode = 'full' | 'lora';

export interface CheckpointManifest {
  format: typeof CHECKPOINT_FORMAT_VERSION;
  id: string;
  runId: string;
  step: number;
  /** ISO 8601. */
  createdAt: string;
  loss?: number;
  mode: CheckpointMode;
  baseModel: string;
  captionTemplate: string;
  weights: TensorStream;
  /** Optimizer moments and the JSON state (step, RNG, data cursor) needed to resume; only on a run's newest checkpoint. */
  runState?: TensorStream & { state: unknown };
  /** Weights plus run state. */
  totalBytes: number;
}

export interface CheckpointToSave {
  runId: string;
  step: number;
  loss?: number;
  mode: CheckpointMode;
  baseModel: string;
  captionTemplate: string;
  tensors: TensorSet;
  runState?: { state: unknown; tensors: TensorSet };
}

export interface SaveOptions {
  /** Checkpoints of this run kept after saving, newest (highest step) first; default 3. */
  keep?: number;
}

export interface CheckpointSummary {
  id: string;
  runId: string;
  step: number;
  loss?: number;
  totalBytes: number;
  createdAt: string;
  mode: CheckpointMode;
  hasRunState: boolean;
  /** The model it was trained from: only that one can use it. */
  baseModel: string;
  captionTemplate: string;
}

export type CheckpointPart = 'weights' | 'run-state';

export interface LoadedTensor {
  name: string;
  dtype: TensorDtype;
  shape: number[];
  bytes: Uint8Array;
}

export interface ReadOptions {
  part?: CheckpointPart;
  /** Only these tensors; all when absent. */
  names?: readonly string[];
}

/** What both checkpoint stores offer. */
export interface CheckpointStore {
  /** Writes all tensor bytes, then the manifest; only then is the checkpoint listed. */
  save(checkpoint: CheckpointToSave, options?: SaveOptions): Promise<CheckpointManifest>;
  /** Ascending by run, then step. */
  list(runId?: string): Promise<CheckpointSummary[]>;
  manifest(id: string): Promise<CheckpointManifest | undefined>;
  /** Streams tensors back in stored order, one chunk in memory at a time. */
  readTensors(id: string, options?: ReadOptions): AsyncGenerator<LoadedTensor>;
  delete(id: string): Promise<void>;
}

export const DEFAULT_KEEP = 3;
/** Chrome fails on single IndexedDB values near 128 MiB (and on 1 GiB everywhere); 64 MiB is safe. */
export const MAX_CHUNK_BYTES = 64 * 1024 * 1024;

export function layoutTensors(tensors: TensorSet, key: string, chunkBytes: number): TensorStream {
  const entries: TensorEntry[] = [];
  let offset = 0;
  for (const [name, { dtype, shape }] of Object.entries(tensors)) {
    if (!(dtype in DTYPE_BYTES)) throw new Error(`tensor "${name}": dtype must be f32 or f16, got ${String(dtype)}`);
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`tensor "${name}": bad shape [${shape.join(', ')}]`);
    const bytes = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    entries.push({ name, dtype, shape: [...shape], begin: offset, end: offset + bytes });
    offset += bytes;
  }
  return { key, tensors: entries, totalBytes: offset, chunkBytes };
}

export function validateSave(checkpoint: CheckpointToSave, keep: number): void {
  if (!Number.isSafeInteger(checkpoint.step) || checkpoint.step < 0) throw new RangeError(`checkpoint step must be a whole number ≥ 0, got ${checkpoint.step}`);
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keep must be at least 1, got ${keep}`);
}

export function summarize(manifest: CheckpointManifest): CheckpointSummary {
  const { id, runId, step, loss, totalBytes, createdAt, mode, baseModel, captionTemplate } = manifest;
  const summary: CheckpointSummary = { id, runId, step, totalBytes, createdAt, mode, hasRunState: manifest.runState !== undefined, baseModel, captionTemplate };
  if (loss !== undefined) summary.loss = loss;
  return summary;
}

export function streamOf(manifest: CheckpointManifest, part: CheckpointPart): TensorStream {
  if (part === 'weights') return manifest.weights;
  if (!manifest.runState) throw new Error(`checkpoint ${manifest.id} has no run state (only the newest checkpoint of a run keeps it)`);
  return manifest.runState;
}

export function compareCheckpoints(a: CheckpointSummary, b: CheckpointSummary): number {
  return a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : a.step - b.step;
}
