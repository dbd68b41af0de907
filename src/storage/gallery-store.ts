// The Generate view's gallery: every result with the parameters it was made with, kept in IndexedDB so it
// survives reloads. A record holds one result, or two made on the same seed (base model vs a checkpoint).
import { StorageQuotaError, isOutOfSpace } from './storage-quota-error';
import { estimateStorage } from './storage-info';
import type { StencilDatabase } from './stencil-database';

export interface GalleryImage {
  width: number;
  height: number;
  /** PNG with the A1111 `parameters` text chunk. */
  png: Uint8Array;
}

export interface GalleryResult {
  /** The UNet weights used: 'base model' or a checkpoint's label. */
  weights: string;
  prompt: string;
  negative: string;
  seed: number;
  parameters: string;
  images: GalleryImage[];
  notes: string[];
}

export interface GalleryRecord {
  id: number;
  /** ISO 8601. */
  createdAt: string;
  results: GalleryResult[];
}

export class GalleryStore {
  constructor(private readonly db: StencilDatabase) {}

  /** Newest first. */
  async list(): Promise<GalleryRecord[]> {
    return (await this.db.getAll('gallery')).reverse();
  }

  async add(results: GalleryResult[]): Promise<GalleryRecord> {
    if (results.length === 0) throw new RangeError('a gallery record needs at least one result');
    const record: Omit<GalleryRecord, 'id'> = { createdAt: new Date().toISOString(), results };
    try {
      const id = await this.db.add('gallery', record as GalleryRecord);
      return { ...record, id };
    } catch (e) {
      if (!isOutOfSpace(e)) throw e;
      const bytes = results.reduce((n, r) => n + r.images.reduce((m, i) => m + i.png.byteLength, 0), 0);
      throw new StorageQuotaError(bytes, await estimateStorage().catch(() => undefined), 'the image to the gallery');
    }
  }

  async delete(id: number): Promise<void> {
    await this.db.delete('gallery', id);
  }

  async clear(): Promise<void> {
    await this.db.clear('gallery');
  }
}
