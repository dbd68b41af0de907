import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { afterEach, describe, expect, it } from 'vitest';
import { GalleryStore, type GalleryResult } from '../../src/storage/gallery-store';
import { StorageQuotaError } from '../../src/storage/storage-quota-error';
import { openStencilDatabase, type StencilDatabase } from '../../src/storage/stencil-database';

let count = 0;
const open: StencilDatabase[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

async function database(name: string): Promise<StencilDatabase> {
  const db = await openStencilDatabase(name);
  open.push(db);
  return db;
}

function result(weights: string, seed: number, bytes: number[]): GalleryResult {
  return {
    weights,
    prompt: 'a cat, black silhouette',
    negative: 'color',
    seed,
    parameters: `a cat\nSteps: 4, Seed: ${seed}`,
    images: [{ width: 32, height: 32, png: Uint8Array.from(bytes) }],
    notes: [],
  };
}

describe('gallery store', () => {
  it('keeps results and compare pairs across reopening, newest first, and deletes them', async () => {
    const name = `gallery-${++count}`;
    const first = new GalleryStore(await database(name));
    const single = await first.add([result('base model', 7, [1, 2, 3])]);
    const pair = await first.add([result('base model', 9, [4]), result('checkpoint at step 2', 9, [5, 6])]);
    expect(pair.id).toBeGreaterThan(single.id);
    open.pop()!.close();

    const reopened = new GalleryStore(await database(name));
    const list = await reopened.list();
    expect(list.map((r) => r.id)).toEqual([pair.id, single.id]);
    expect(list[0]!.results.map((r) => [r.weights, r.seed])).toEqual([
      ['base model', 9],
      ['checkpoint at step 2', 9],
    ]);
    expect([...list[0]!.results[1]!.images[0]!.png]).toEqual([5, 6]);
    expect(Date.parse(list[1]!.createdAt)).toBeGreaterThan(Date.now() - 60_000);

    await reopened.delete(single.id);
    expect((await reopened.list()).map((r) => r.id)).toEqual([pair.id]);
    await reopened.clear();
    expect(await reopened.list()).toEqual([]);
    await expect(reopened.add([])).rejects.toThrow(/at least one result/);
  });

  it('adds the gallery to a version-1 database without losing its settings', async () => {
    const name = `gallery-${++count}`;
    const v1 = await openDB(name, 1, {
      upgrade(db) {
        db.createObjectStore('checkpoints', { keyPath: 'id' }).createIndex('runId', 'runId');
        db.createObjectStore('chunks');
        db.createObjectStore('runs', { keyPath: 'id' });
        db.createObjectStore('settings');
      },
    });
    await v1.put('settings', 'f16', 'precision');
    v1.close();
    const db = await database(name);
    expect(await db.get('settings', 'precision')).toBe('f16');
    await new GalleryStore(db).add([result('base model', 1, [9])]);
    expect(await new GalleryStore(db).list()).toHaveLength(1);
  });

  it('turns a full disk into a StorageQuotaError that says how much was needed', async () => {
    const full = { add: async () => Promise.reject(new DOMException('quota', 'QuotaExceededError')) } as unknown as StencilDatabase;
    const error = await new GalleryStore(full).add([result('base model', 1, [1, 2, 3, 4])]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageQuotaError);
    expect((error as StorageQuotaError).neededBytes).toBe(4);
    expect((error as Error).message).toMatch(/Not enough storage to save the image to the gallery/);
  });
});
