import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckpointToSave, LoadedTensor, TensorPayload, TensorSet } from '../../src/storage/checkpoint-format';
import { IdbCheckpointStore } from '../../src/storage/checkpoint-store';
import { openStencilDatabase, type StencilDatabase } from '../../src/storage/stencil-database';
import { StorageQuotaError } from '../../src/storage/storage-quota-error';

const CHUNK = 48;
let dbCount = 0;
const open: StencilDatabase[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

async function database(name: string): Promise<StencilDatabase> {
  const db = await openStencilDatabase(name);
  open.push(db);
  return db;
}

async function freshStore(options: Parameters<typeof IdbCheckpointStore.open>[1] = {}) {
  const name = `checkpoints-${++dbCount}`;
  const db = await database(name);
  return { name, db, store: await IdbCheckpointStore.open(db, { chunkBytes: CHUNK, ...options }) };
}

/** Deterministic, non-repeating bytes (xorshift), different per seed. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function* pieces(data: Uint8Array, size: number, failAfter = Infinity): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) {
    if (i >= failAfter) throw new Error('GPU readback failed');
    yield data.subarray(i, i + size);
  }
}

/** Weights: an f32 tensor spanning several chunks, a streamed f16 tensor, a scalar. */
function weights(seed: number, failAfter?: number): TensorSet {
  return {
    'conv_in.weight': { dtype: 'f32', shape: [4, 3, 3, 2], bytes: bytes(4 * 3 * 3 * 2 * 4, seed) },
    'conv_in.bias': { dtype: 'f16', shape: [50], bytes: pieces(bytes(100, seed + 1), 7, failAfter) },
    scale: { dtype: 'f32', shape: [], bytes: bytes(4, seed + 2) },
  };
}

function checkpoint(step: number, extra: Partial<CheckpointToSave> = {}): CheckpointToSave {
  return { runId: 'run-a', step, loss: 0.1 / step, mode: 'full', baseModel: 'tiny-sd', captionTemplate: 'sketch of {name}', tensors: weights(step), ...extra };
}

const runState = (step: number) => ({ state: { step, rng: { seed: '42', offset: step * 8 } }, tensors: { 'conv_in.weight.exp_avg': { dtype: 'f32', shape: [100], bytes: bytes(400, 1000 + step) } as TensorPayload } });

async function collect(generator: AsyncGenerator<LoadedTensor>): Promise<Record<string, LoadedTensor>> {
  const out: Record<string, LoadedTensor> = {};
  for await (const tensor of generator) out[tensor.name] = tensor;
  return out;
}

async function expectWeights(store: IdbCheckpointStore, id: string, seed: number) {
  const loaded = await collect(store.readTensors(id));
  expect(Object.keys(loaded)).toEqual(['conv_in.weight', 'conv_in.bias', 'scale']);
  expect(loaded['conv_in.weight']).toEqual({ name: 'conv_in.weight', dtype: 'f32', shape: [4, 3, 3, 2], bytes: bytes(288, seed) });
  expect(loaded['conv_in.bias']!.bytes).toEqual(bytes(100, seed + 1));
  expect(loaded.scale!.bytes).toEqual(bytes(4, seed + 2));
}

/** Chunk stream keys in the database, and whether each belongs to a listed manifest. */
async function chunkKeys(db: StencilDatabase) {
  const keys = await db.getAllKeys('chunks');
  const referenced = new Set((await db.getAll('checkpoints')).flatMap((m) => [m.weights.key, ...(m.runState ? [m.runState.key] : [])]));
  return { count: keys.length, orphans: keys.filter(([key]) => !referenced.has(key)).length };
}

describe('IndexedDB checkpoint store', () => {
  it('saves and loads back identical bytes, in chunks no larger than the limit', async () => {
    const { db, store } = await freshStore();
    const manifest = await store.save(checkpoint(1, { runState: runState(1) }));
    expect(manifest.weights.totalBytes).toBe(288 + 100 + 4);
    expect(manifest.totalBytes).toBe(392 + 400);
    expect(manifest.weights.tensors.map((t) => [t.name, t.begin, t.end])).toEqual([
      ['conv_in.weight', 0, 288],
      ['conv_in.bias', 288, 388],
      ['scale', 388, 392],
    ]);
    await expectWeights(store, manifest.id, 1);
    const state = await collect(store.readTensors(manifest.id, { part: 'run-state' }));
    expect(state['conv_in.weight.exp_avg']!.bytes).toEqual(bytes(400, 1001));
    expect(Object.keys(await collect(store.readTensors(manifest.id, { names: ['scale'] })))).toEqual(['scale']);
    await expect(collect(store.readTensors(manifest.id, { names: ['nope'] }))).rejects.toThrow(/no tensor named "nope"/);

    const chunks = await db.getAll('chunks');
    expect(chunks.length).toBe(Math.ceil(392 / CHUNK) + Math.ceil(400 / CHUNK));
    expect(chunks.every((c) => c instanceof ArrayBuffer && c.byteLength <= CHUNK)).toBe(true);

    const [summary] = await store.list();
    expect(summary).toEqual({ id: manifest.id, runId: 'run-a', step: 1, loss: 0.1, totalBytes: 792, createdAt: manifest.createdAt, mode: 'full', hasRunState: true, baseModel: 'tiny-sd', captionTemplate: 'sketch of {name}' });
    expect(Date.parse(summary!.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    expect((await store.manifest(manifest.id))!.runState!.state).toEqual({ step: 1, rng: { seed: '42', offset: 8 } });
  });

  it('rejects a payload whose size does not match its shape, and keeps nothing of it', async () => {
    const { db, store } = await freshStore();
    const bad = checkpoint(1, { tensors: { w: { dtype: 'f16', shape: [10], bytes: bytes(21, 1) } } });
    await expect(store.save(bad)).rejects.toThrow(/tensor "w": \[10\] f16 needs 20 bytes, got 21 or more/);
    expect(await store.list()).toEqual([]);
    expect((await chunkKeys(db)).count).toBe(0);
  });

  it('an interrupted save leaves the previous checkpoint listed and loadable, and no orphan chunks', async () => {
    const { name, db, store } = await freshStore();
    await store.save(checkpoint(1));
    const failing = checkpoint(2, { tensors: weights(2, 49) });
    await expect(store.save(failing)).rejects.toThrow('GPU readback failed');
    expect((await store.list()).map((c) => c.step)).toEqual([1]);
    await expectWeights(store, 'run-a/checkpoint-1', 1);
    expect(await chunkKeys(db)).toEqual({ count: Math.ceil(392 / CHUNK), orphans: 0 });

    const reopened = await IdbCheckpointStore.open(await database(name), { chunkBytes: CHUNK });
    await expectWeights(reopened, 'run-a/checkpoint-1', 1);
    expect((await chunkKeys(db)).orphans).toBe(0);
  });

  it('sweeps the chunks of a save that never finished (a closed tab) when the store opens', async () => {
    const { name, db, store } = await freshStore();
    await store.save(checkpoint(1));
    let stalled!: () => void;
    const reached = new Promise<void>((resolve) => (stalled = resolve));
    async function* stallsMidway(): AsyncGenerator<Uint8Array> {
      yield bytes(64, 9);
      stalled();
      await new Promise(() => undefined); // the tab is gone: never resumes
    }
    void store.save(checkpoint(2, { tensors: { w: { dtype: 'f32', shape: [64], bytes: stallsMidway() } } }));
    await reached;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await chunkKeys(db)).orphans).toBeGreaterThan(0);
    expect((await store.list()).map((c) => c.step)).toEqual([1]);

    const reopened = await IdbCheckpointStore.open(await database(name), { chunkBytes: CHUNK });
    expect(await chunkKeys(db)).toEqual({ count: Math.ceil(392 / CHUNK), orphans: 0 });
    await expectWeights(reopened, 'run-a/checkpoint-1', 1);
  });

  it('keeps the last K checkpoints per run and the run state only on the newest', async () => {
    const { db, store } = await freshStore();
    await store.save({ ...checkpoint(1), runId: 'run-b' });
    for (const step of [10, 20, 30, 40, 50]) await store.save(checkpoint(step, { runState: runState(step) }));
    expect((await store.list('run-a')).map((c) => [c.step, c.hasRunState, c.totalBytes])).toEqual([
      [30, false, 392],
      [40, false, 392],
      [50, true, 792],
    ]);
    expect((await store.list()).map((c) => c.id)).toEqual(['run-a/checkpoint-30', 'run-a/checkpoint-40', 'run-a/checkpoint-50', 'run-b/checkpoint-1']);
    await expectWeights(store, 'run-a/checkpoint-30', 30);
    await expect(collect(store.readTensors('run-a/checkpoint-40', { part: 'run-state' }))).rejects.toThrow(/has no run state/);
    expect(await chunkKeys(db)).toEqual({ count: 4 * Math.ceil(392 / CHUNK) + Math.ceil(400 / CHUNK), orphans: 0 });

    await store.save(checkpoint(60), { keep: 1 });
    expect((await store.list('run-a')).map((c) => c.step)).toEqual([60]);
    await store.delete('run-b/checkpoint-1');
    expect(await store.list('run-b')).toEqual([]);
    expect(await chunkKeys(db)).toEqual({ count: Math.ceil(392 / CHUNK), orphans: 0 });
  });

  it('re-saving a step replaces it and frees the old chunks', async () => {
    const { db, store } = await freshStore();
    await store.save(checkpoint(5));
    await store.save(checkpoint(5, { tensors: weights(77) }));
    await expectWeights(store, 'run-a/checkpoint-5', 77);
    expect(await chunkKeys(db)).toEqual({ count: Math.ceil(392 / CHUNK), orphans: 0 });
  });

  it('turns a quota error into StorageQuotaError, keeping the previous checkpoint and no partial chunks', async () => {
    const usage = { usage: 9_900_000_000, quota: 10_000_000_000, free: 100_000_000 };
    const { db, store } = await freshStore({ estimate: async () => usage });
    await store.save(checkpoint(1));
    const put = IDBObjectStore.prototype.put;
    let chunkPuts = 0;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name === 'chunks' && ++chunkPuts === 3) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return put.apply(this, args);
    };
    let error: unknown;
    try {
      await store.save(checkpoint(2, { runState: runState(2) }));
    } catch (e) {
      error = e;
    } finally {
      IDBObjectStore.prototype.put = put;
    }
    expect(error).toBeInstanceOf(StorageQuotaError);
    expect(error).toMatchObject({ neededBytes: 792, available: usage });
    expect((error as Error).message).toBe(
      'Not enough storage to save the checkpoint at step 2: it needs 792 bytes and 100 MB is free (9.90 GB of 10.0 GB used). ' +
        'The previous checkpoint is kept. Delete old checkpoints or runs, keep fewer checkpoints, or free disk space.',
    );
    expect((await store.list()).map((c) => c.step)).toEqual([1]);
    await expectWeights(store, 'run-a/checkpoint-1', 1);
    expect(await chunkKeys(db)).toEqual({ count: Math.ceil(392 / CHUNK), orphans: 0 });
  });

  it('refuses chunks above 64 MiB and bad steps', async () => {
    await expect(freshStore({ chunkBytes: 65 * 1024 * 1024 })).rejects.toThrow(/chunkBytes must be between/);
    const { store } = await freshStore();
    await expect(store.save(checkpoint(1.5))).rejects.toThrow(/whole number/);
    await expect(store.save(checkpoint(1), { keep: 0 })).rejects.toThrow(/keep must be at least 1/);
  });
});
