// Scans a dataset folder: detects its layout, checks every image's header (format, size, truncation),
// reads per-image captions and reports each file it leaves out and why. Everything is in sorted path order.

import { readText, type DirectorySource } from '../io/file-source';
import { DatasetError, type DatasetLayout, type ScannedImage, type SkipReason, type SkippedFile } from './dataset-entry';
import { readImageSize, type ImageSize } from './dataset-image-size';
import { isHiddenPath, planLayout, type PlannedImage } from './dataset-layouts';
import { ImageDecodeError } from './image-codec';
import type { SynsetTable } from './synset-names';

export const MIN_IMAGE_SIDE = 64;
export const MAX_IMAGE_SIDE = 8192;
/** Header reads in flight at once: enough to hide per-file latency without opening thousands of files. */
const CONCURRENT_READS = 32;

export interface DatasetScan {
  source: string;
  layout: DatasetLayout;
  images: ScannedImage[];
  skipped: SkippedFile[];
  /** The synset table the scan matched ImageNet-Sketch folders against. */
  synsets?: SynsetTable;
}

export interface ScanOptions {
  /** Needed to recognise ImageNet-Sketch folders. */
  synsets?: SynsetTable;
  /** Called after each image is checked. */
  onProgress?: (checked: number, total: number) => void;
}

type Checked = { image: ScannedImage } | { skip: SkippedFile };

async function check(planned: PlannedImage): Promise<Checked> {
  const { file } = planned;
  const skip = (reason: SkipReason, detail: string): Checked => ({ skip: { path: file.path, reason, detail } });
  let size: ImageSize;
  try {
    size = await readImageSize(file);
  } catch (error) {
    if (error instanceof ImageDecodeError) {
      return skip(error.reason, error.message.slice(error.fileName.length + 2));
    }
    return skip('unreadable', `could not be read (${error instanceof Error ? error.message : String(error)})`);
  }
  const { width, height } = size;
  if (Math.min(width, height) < MIN_IMAGE_SIDE) return skip('too-small', `${width}x${height} is smaller than ${MIN_IMAGE_SIDE} px`);
  if (Math.max(width, height) > MAX_IMAGE_SIDE) return skip('too-large', `${width}x${height} is larger than ${MAX_IMAGE_SIDE} px`);
  let caption = planned.caption;
  if (planned.captionFile) {
    try {
      caption = (await readText(planned.captionFile)).trim();
    } catch (error) {
      return skip('unreadable', `caption ${planned.captionFile.path} could not be read (${(error as Error).message})`);
    }
    if (caption === '') return skip('no-caption', `caption ${planned.captionFile.path} is empty`);
  }
  const image: ScannedImage = { file, path: file.path, width, height, classId: planned.classId };
  if (caption !== undefined) image.caption = caption;
  return { image };
}

async function checkAll(planned: readonly PlannedImage[], onProgress?: ScanOptions['onProgress']): Promise<Checked[]> {
  const results: Checked[] = new Array(planned.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < planned.length) {
      const i = next++;
      results[i] = await check(planned[i]!);
      onProgress?.(++done, planned.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_READS, planned.length) }, worker));
  return results;
}

const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

export async function scanDataset(source: DirectorySource, options: ScanOptions = {}): Promise<DatasetScan> {
  const files = (await source.files()).filter((f) => !isHiddenPath(f.path));
  if (files.length === 0) throw new DatasetError(`The folder "${source.name}" is empty.`);
  const plan = await planLayout(source.name, files, options.synsets);
  const images: ScannedImage[] = [];
  const skipped = [...plan.skipped];
  for (const result of await checkAll(plan.images, options.onProgress)) {
    if ('image' in result) images.push(result.image);
    else skipped.push(result.skip);
  }
  skipped.sort(byPath);
  if (images.length === 0) {
    const reasons = [...new Set(skipped.map((s) => s.reason))].join(', ');
    throw new DatasetError(
      `No usable images (PNG, JPEG or WebP, ${MIN_IMAGE_SIDE}–${MAX_IMAGE_SIDE} px) in "${source.name}": ` +
        `${files.length} file${files.length === 1 ? '' : 's'} looked at, ${skipped.length} skipped (${reasons}).`,
    );
  }
  const scan: DatasetScan = { source: source.name, layout: plan.layout, images: images.sort(byPath), skipped };
  if (plan.layout === 'imagenet-sketch') scan.synsets = options.synsets;
  return scan;
}
