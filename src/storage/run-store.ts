// Training-run records: settings, status, progress, newest checkpoint and loss history, so that after a
// reload, crash or closed tab the app can offer to resume.

import type { StencilDatabase } from './stencil-database';

export type RunStatus = 'running' | 'paused' | 'done' | 'interrupted';

export interface LossPoint {
  step: number;
  loss: number;
}

export interface RunRecord<Config = unknown> {
  id: string;
  /** ISO 8601. */
  createdAt: string;
  updatedAt: string;
  status: RunStatus;
  /** The run's training settings (structured-clonable). */
  config: Config;
  step: number;
  lastCheckpointId?: string;
  losses: LossPoint[];
}

export type RunUpdate = Partial<Pick<RunRecord, 'status' | 'step' | 'lastCheckpointId'>>;

/** The Web Lock a tab holds while it trains a run; a 'running' run whose lock nobody holds was interrupted. */
export function runLockName(runId: string): string {
  return `stencil-diffusion:run:${runId}`;
}

async function heldLockNames(): Promise<Set<string>> {
  const locks = globalThis.navigator?.locks;
  if (!locks) return new Set();
  const { held = [] } = await locks.query();
  return new Set(held.flatMap((lock) => (lock.name ? [lock.name] : [])));
}

export class RunStore<Config = unknown> {
  constructor(private readonly db: StencilDatabase) {}

  async create(config: Config, id: string = crypto.randomUUID()): Promise<RunRecord<Config>> {
    const now = new Date().toISOString();
    const run: RunRecord<Config> = { id, createdAt: now, updatedAt: now, status: 'running', config, step: 0, losses: [] };
    await this.db.add('runs', run);
    return run;
  }

  async get(id: string): Promise<RunRecord<Config> | undefined> {
    return (await this.db.get('runs', id)) as RunRecord<Config> | undefined;
  }

  /** Most recently updated first. */
  async list(): Promise<RunRecord<Config>[]> {
    const runs = (await this.db.getAll('runs')) as RunRecord<Config>[];
    return runs.sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0));
  }

  update(id: string, changes: RunUpdate): Promise<RunRecord<Config>> {
    return this.modify(id, (run) => Object.assign(run, changes));
  }

  /** Appends to the loss history; points at or before the last recorded step are dropped (a resumed run repeats them). */
  recordLosses(id: string, points: readonly LossPoint[]): Promise<RunRecord<Config>> {
    return this.modify(id, (run) => {
      const last = run.losses.at(-1)?.step ?? -Infinity;
      run.losses.push(...points.filter((p) => p.step > last));
    });
  }

  async delete(id: string): Promise<void> {
    await this.db.delete('runs', id);
  }

  /**
   * Runs that can be resumed: paused or interrupted, with a checkpoint. A run still marked 'running' whose
   * Web Lock no tab holds is marked 'interrupted' first (call this when the app starts).
   */
  async resumable(): Promise<RunRecord<Config>[]> {
    const held = await heldLockNames();
    for (const run of await this.list()) {
      if (run.status === 'running' && !held.has(runLockName(run.id))) await this.update(run.id, { status: 'interrupted' });
    }
    return (await this.list()).filter((run) => (run.status === 'paused' || run.status === 'interrupted') && run.lastCheckpointId !== undefined);
  }

  private async modify(id: string, change: (run: RunRecord<Config>) => void): Promise<RunRecord<Config>> {
    const tx = this.db.transaction('runs', 'readwrite');
    const run = (await tx.store.get(id)) as RunRecord<Config> | undefined;
    if (!run) throw new Error(`no training run "${id}"`);
    change(run);
    run.updatedAt = new Date().toISOString();
    await tx.store.put(run);
    await tx.done;
    return run;
  }
}
