// Training images in training order: decode, alpha over white, resize the shorter side and center crop
// (diffusers' Resize → CenterCrop → RandomHorizontalFlip), [-1, 1] NHWC. An image that fails to load is
// reported and passed over; it never stops a run.

import { DatasetError, type DatasetEntry, type SkipReason, type SkippedFile } from './dataset-entry';
import { DataOrder, type DataOrderState } from './dataset-order';
import type { Dataset } from './dataset-selection';
import { compositeOverWhite, resizeShorterSideAndCenterCrop, toNHWCFloat, type RGBAImage } from './image';
import { ImageDecodeError, decodeImage } from './image-codec';

function flipHorizontal(img: RGBAImage): RGBAImage {
  const out = new Uint32Array(img.width * img.height);
  const src = new Uint32Array(img.data.buffer, img.data.byteOffset, out.length);
  for (let y = 0; y < img.height; y++) {
    const row = y * img.width;
    for (let x = 0; x < img.width; x++) out[row + x] = src[row + img.width - 1 - x]!;
  }
  return { width: img.width, height: img.height, data: new Uint8ClampedArray(out.buffer) };
}

/** One training image as [resolution, resolution, 3] floats in [-1, 1]. Throws ImageDecodeError for a bad file. */
export async function loadTrainingImage(entry: DatasetEntry, resolution: number, flip = false): Promise<Float32Array> {
  const bytes = await entry.file.read(0, entry.file.size);
  const cropped = resizeShorterSideAndCenterCrop(compositeOverWhite(await decodeImage(bytes, entry.path)), resolution);
  return toNHWCFloat(flip ? flipHorizontal(cropped) : cropped);
}

/** FNV-1a over paths and captions: a resumed run must see the same dataset in the same order. */
export function datasetFingerprint(entries: readonly DatasetEntry[]): string {
  let hash = 0x811c9dc5;
  const bytes = new TextEncoder().encode(entries.map((e) => `${e.path}\n${e.caption}\n`).join(''));
  for (const b of bytes) hash = Math.imul(hash ^ b, 0x01000193) >>> 0;
  return `${entries.length}:${hash.toString(16).padStart(8, '0')}`;
}

export interface DatasetLoaderState {
  order: DataOrderState;
  fingerprint: string;
}

export interface TrainingSample {
  entry: DatasetEntry;
  /** [resolution, resolution, 3] in [-1, 1]. */
  pixels: Float32Array;
  flip: boolean;
  epoch: number;
  position: number;
}

export interface DatasetLoaderOptions {
  resolution: number;
  seed: number | bigint;
  flip: boolean;
}

export class DatasetLoader {
  /** Images that failed at load time, each reported once. */
  readonly skipped: SkippedFile[] = [];
  private readonly order: DataOrder;
  private readonly failed = new Set<number>();
  private readonly fingerprint: string;

  /** With `state`, continues exactly where that state was saved (its seed and flip setting win). */
  constructor(
    private readonly dataset: Dataset,
    private readonly resolution: number,
    options: Omit<DatasetLoaderOptions, 'resolution'> | { state: DatasetLoaderState },
  ) {
    if (dataset.entries.length === 0) throw new DatasetError('The dataset has no images.');
    this.fingerprint = datasetFingerprint(dataset.entries);
    if ('state' in options) {
      if (options.state.fingerprint !== this.fingerprint) {
        throw new DatasetError('The dataset changed since this run was saved (different images or captions); it cannot resume exactly.');
      }
      this.order = DataOrder.fromState(options.state.order);
    } else {
      this.order = new DataOrder(dataset.entries.length, options.seed, options.flip);
    }
  }

  state(): DatasetLoaderState {
    return { order: this.order.state(), fingerprint: this.fingerprint };
  }

  async next(): Promise<TrainingSample> {
    const entries = this.dataset.entries;
    while (this.failed.size < entries.length) {
      const visit = this.order.next();
      if (this.failed.has(visit.index)) continue;
      const entry = entries[visit.index]!;
      try {
        const pixels = await loadTrainingImage(entry, this.resolution, visit.flip);
        return { entry, pixels, flip: visit.flip, epoch: visit.epoch, position: visit.position };
      } catch (error) {
        this.failed.add(visit.index);
        const reason: SkipReason = error instanceof ImageDecodeError ? error.reason : 'unreadable';
        this.skipped.push({ path: entry.path, reason, detail: error instanceof Error ? error.message : String(error) });
      }
    }
    throw new DatasetError(`None of the ${entries.length} images could be loaded; the first failure: ${this.skipped[0]?.detail}`);
  }
}
