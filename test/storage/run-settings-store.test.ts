import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RunStore, runLockName } from '../../src/storage/run-store';
import { SettingsStore } from '../../src/storage/settings-store';
import { openStencilDatabase, type StencilDatabase } from '../../src/storage/stencil-database';
import { estimateStorage, formatBytes, requestPersistentStorage } from '../../src/storage/storage-info';

let count = 0;
const open: StencilDatabase[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
  vi.unstubAllGlobals();
});

async function database(name = `runs-${++count}`): Promise<StencilDatabase> {
  const db = await openStencilDatabase(name);
  open.push(db);
  return db;
}

interface Config {
  lr: number;
  mode: 'full' | 'lora';
}

describe('training runs', () => {
  it('records config, progress, checkpoint and loss history across reopening', async () => {
    const name = `runs-${++count}`;
    const runs = new RunStore<Config>(await database(name));
    const run = await runs.create({ lr: 1e-4, mode: 'lora' }, 'run-1');
    expect(run).toMatchObject({ id: 'run-1', status: 'running', step: 0, losses: [], config: { lr: 1e-4, mode: 'lora' } });
    await runs.update('run-1', { step: 4, lastCheckpointId: 'run-1/checkpoint-4' });
    await runs.recordLosses('run-1', [
      { step: 3, loss: 0.5 },
      { step: 4, loss: 0.4 },
    ]);
    // A resumed run repeats steps after its checkpoint: those already recorded are not duplicated.
    await runs.recordLosses('run-1', [
      { step: 4, loss: 0.41 },
      { step: 5, loss: 0.3 },
    ]);
    const again = await new RunStore<Config>(await database(name)).get('run-1');
    expect(again).toMatchObject({ step: 4, lastCheckpointId: 'run-1/checkpoint-4', config: { lr: 1e-4 } });
    expect(again!.losses).toEqual([
      { step: 3, loss: 0.5 },
      { step: 4, loss: 0.4 },
      { step: 5, loss: 0.3 },
    ]);
    await expect(runs.update('missing', { step: 1 })).rejects.toThrow(/no training run "missing"/);
    await expect(runs.create({ lr: 1, mode: 'full' }, 'run-1')).rejects.toThrow();
  });

  it('offers to resume interrupted and paused runs that have a checkpoint', async () => {
    const runs = new RunStore<Config>(await database());
    for (const id of ['crashed', 'paused', 'done', 'no-checkpoint', 'live']) await runs.create({ lr: 1, mode: 'full' }, id);
    await runs.update('crashed', { lastCheckpointId: 'crashed/checkpoint-2' });
    await runs.update('paused', { status: 'paused', lastCheckpointId: 'paused/checkpoint-8' });
    await runs.update('done', { status: 'done', lastCheckpointId: 'done/checkpoint-9' });
    await runs.update('live', { lastCheckpointId: 'live/checkpoint-1' });
    // Another tab is training 'live' and holds its lock.
    vi.stubGlobal('navigator', { locks: { query: async () => ({ held: [{ name: runLockName('live') }] }) } });
    const resumable = await runs.resumable();
    expect(resumable.map((r) => [r.id, r.status]).sort()).toEqual([
      ['crashed', 'interrupted'],
      ['paused', 'paused'],
    ]);
    expect((await runs.get('no-checkpoint'))!.status).toBe('interrupted');
    expect((await runs.get('live'))!.status).toBe('running');
    await runs.delete('crashed');
    expect((await runs.list()).map((r) => r.id)).not.toContain('crashed');
  });
});

describe('settings', () => {
  it('stores small values by key, with a fallback for unset keys', async () => {
    const name = `settings-${++count}`;
    const settings = new SettingsStore(await database(name));
    expect(await settings.get('gpuMemoryGB', 8)).toBe(8);
    await settings.set('gpuMemoryGB', 12);
    await settings.set('captionTemplate', 'a drawing of {name}');
    const reopened = new SettingsStore(await database(name));
    expect(await reopened.get('gpuMemoryGB', 8)).toBe(12);
    expect(await reopened.get('captionTemplate', '')).toBe('a drawing of {name}');
    await reopened.delete('gpuMemoryGB');
    expect(await reopened.get('gpuMemoryGB', 8)).toBe(8);
    await expect(settings.set('x', undefined)).rejects.toThrow(/use delete/);
  });
});

describe('storage info', () => {
  it('reports usage and free space and asks for persistence when the API exists', async () => {
    expect(await estimateStorage()).toBeUndefined();
    expect(await requestPersistentStorage()).toBe(false);
    const persist = vi.fn(async () => true);
    vi.stubGlobal('navigator', { storage: { estimate: async () => ({ usage: 3e9, quota: 10e9 }), persisted: async () => false, persist } });
    expect(await estimateStorage()).toEqual({ usage: 3e9, quota: 10e9, free: 7e9 });
    expect(await requestPersistentStorage()).toBe(true);
    expect(persist).toHaveBeenCalledOnce();
  });

  it('formats byte counts', () => {
    expect([512, 1500, 64 * 1024 * 1024, 3.4e9, 12e12].map(formatBytes)).toEqual(['512 bytes', '1.50 KB', '67.1 MB', '3.40 GB', '12.0 TB']);
  });
});
