import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckpointStore, CheckpointToSave, LoadedTensor, TensorSet } from '../../src/storage/checkpoint-format';
import { FileCheckpointStore } from '../../src/storage/file-checkpoint-store';
import { StorageQuotaError } from '../../src/storage/storage-quota-error';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'file-checkpoints-'));
  dirs.push(dir);
  return dir;
}

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 17 + ((i * i) >> 3)) & 0xff);

async function* failingAfter(data: Uint8Array, n: number, error: Error): AsyncGenerator<Uint8Array> {
  yield data.subarray(0, n);
  throw error;
}

function tensors(seed: number): TensorSet {
  return {
    'unet.a': { dtype: 'f16', shape: [3, 7], bytes: bytes(42, seed) },
    'unet.b': { dtype: 'f32', shape: [10], bytes: bytes(40, seed + 1) },
  };
}

function checkpoint(step: number, extra: Partial<CheckpointToSave> = {}): CheckpointToSave {
  return { runId: 'cli-run', step, mode: 'lora', baseModel: 'tiny-sd', captionTemplate: 'sketch of {name}', tensors: tensors(step), ...extra };
}

async function load(store: CheckpointStore, id: string, part: 'weights' | 'run-state' = 'weights'): Promise<Record<string, LoadedTensor>> {
  const out: Record<string, LoadedTensor> = {};
  for await (const t of store.readTensors(id, { part })) out[t.name] = t;
  return out;
}

describe('folder checkpoint store', () => {
  it('writes checkpoint-<step>/ with the shared manifest and loads identical bytes', async () => {
    const dir = await tempDir();
    const store = await FileCheckpointStore.open(join(dir, 'out'), { chunkBytes: 16 });
    const state = { state: { step: 3 }, tensors: { m: { dtype: 'f32', shape: [5], bytes: bytes(20, 9) } } as TensorSet };
    await store.save(checkpoint(3, { loss: 0.25, runState: state }));
    expect((await readdir(join(dir, 'out'))).sort()).toEqual(['checkpoint-3']);
    expect((await readdir(join(dir, 'out', 'checkpoint-3'))).sort()).toEqual(['manifest.json', 'run-state.bin', 'weights.bin']);
    const manifest = JSON.parse(await readFile(join(dir, 'out', 'checkpoint-3', 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ format: 1, id: 'checkpoint-3', runId: 'cli-run', step: 3, loss: 0.25, mode: 'lora', totalBytes: 102 });
    expect(manifest.weights.tensors[1]).toEqual({ name: 'unet.b', dtype: 'f32', shape: [10], begin: 42, end: 82 });
    const loaded = await load(store, 'checkpoint-3');
    expect(loaded['unet.a']!.bytes).toEqual(bytes(42, 3));
    expect(loaded['unet.b']!.bytes).toEqual(bytes(40, 4));
    expect((await load(store, 'checkpoint-3', 'run-state')).m!.bytes).toEqual(bytes(20, 9));
    expect(await store.list()).toEqual([expect.objectContaining({ id: 'checkpoint-3', step: 3, loss: 0.25, totalBytes: 102, hasRunState: true })]);
  });

  it('a failed save leaves no folder behind and the previous checkpoint intact', async () => {
    const dir = await tempDir();
    const store = await FileCheckpointStore.open(dir);
    await store.save(checkpoint(1));
    const broken = checkpoint(2, { tensors: { 'unet.a': { dtype: 'f32', shape: [100], bytes: failingAfter(bytes(400, 1), 100, new Error('readback failed')) } } });
    await expect(store.save(broken)).rejects.toThrow('readback failed');
    expect(await readdir(dir)).toEqual(['checkpoint-1']);
    expect((await load(store, 'checkpoint-1'))['unet.a']!.bytes).toEqual(bytes(42, 1));
  });

  it('sweeps temporary folders of a crashed save and restores a folder whose replacement never arrived', async () => {
    const dir = await tempDir();
    const first = await FileCheckpointStore.open(dir);
    await first.save(checkpoint(1));
    await first.save(checkpoint(2));
    // A crash mid-save, and a crash between the two renames of a re-save of step 2.
    await mkdir(join(dir, '.checkpoint-3.tmp-0f0e0d0c-0000-4000-8000-000000000000'));
    await writeFile(join(dir, '.checkpoint-3.tmp-0f0e0d0c-0000-4000-8000-000000000000', 'weights.bin'), 'partial');
    await rename(join(dir, 'checkpoint-2'), join(dir, '.checkpoint-2.old-0f0e0d0c-0000-4000-8000-000000000001'));
    const store = await FileCheckpointStore.open(dir);
    expect((await readdir(dir)).sort()).toEqual(['checkpoint-1', 'checkpoint-2']);
    expect((await load(store, 'checkpoint-2'))['unet.b']!.bytes).toEqual(bytes(40, 3));
  });

  it('replaces a re-saved step, keeps the last K and run state only on the newest', async () => {
    const dir = await tempDir();
    const store = await FileCheckpointStore.open(dir);
    const runState = (step: number) => ({ state: { step }, tensors: { m: { dtype: 'f32' as const, shape: [2], bytes: bytes(8, step) } } });
    for (const step of [100, 200, 300]) await store.save(checkpoint(step, { runState: runState(step) }), { keep: 2 });
    await store.save(checkpoint(300, { tensors: tensors(7), runState: runState(300) }), { keep: 2 });
    expect((await store.list()).map((c) => [c.id, c.hasRunState, c.totalBytes])).toEqual([
      ['checkpoint-200', false, 82],
      ['checkpoint-300', true, 90],
    ]);
    expect(await readdir(join(dir, 'checkpoint-200'))).not.toContain('run-state.bin');
    expect((await load(store, 'checkpoint-300'))['unet.a']!.bytes).toEqual(bytes(42, 7));
    expect((await readdir(dir)).sort()).toEqual(['checkpoint-200', 'checkpoint-300']);
    await store.delete('checkpoint-200');
    expect((await store.list()).map((c) => c.step)).toEqual([300]);
  });

  it('turns a full disk into StorageQuotaError with the free space', async () => {
    const dir = await tempDir();
    const store = await FileCheckpointStore.open(dir);
    await store.save(checkpoint(1));
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const error = await store
      .save(checkpoint(2, { tensors: { w: { dtype: 'f16', shape: [64], bytes: failingAfter(bytes(128, 1), 64, enospc) } } }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageQuotaError);
    expect((error as StorageQuotaError).neededBytes).toBe(128);
    expect((error as StorageQuotaError).available!.free).toBeGreaterThan(0);
    expect((error as Error).message).toMatch(/needs 128 bytes and .* is free .*The previous checkpoint is kept/);
    expect(await readdir(dir)).toEqual(['checkpoint-1']);
  });
});
