// Small app settings (last model, caption template, GPU memory budget, ...) as key-value pairs in IndexedDB.

import type { StencilDatabase } from './stencil-database';

export class SettingsStore {
  constructor(private readonly db: StencilDatabase) {}

  /** The stored value, or `fallback` when the key was never set. */
  async get<T>(key: string, fallback: T): Promise<T> {
    const value = await this.db.get('settings', key);
    return value === undefined ? fallback : (value as T);
  }

  async set(key: string, value: unknown): Promise<void> {
    if (value === undefined) throw new TypeError(`setting "${key}": use delete() rather than storing undefined`);
    await this.db.put('settings', value, key);
  }

  async delete(key: string): Promise<void> {
    await this.db.delete('settings', key);
  }
}
