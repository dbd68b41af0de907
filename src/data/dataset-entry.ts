// The vocabulary shared by the dataset scanner, selection, loader and export: what one training image is,
// why a file was left out, and the error for a folder that cannot become a dataset.

import type { FileLike } from '../io/file-source';

export type DatasetLayout = 'imagenet-sketch' | 'class-folders' | 'caption-files' | 'imagefolder-metadata';

export type SkipReason =
  | 'not-an-image'
  | 'unsupported'
  | 'unreadable'
  | 'corrupt'
  | 'truncated'
  | 'too-small'
  | 'too-large'
  | 'no-caption'
  | 'missing';

export interface SkippedFile {
  path: string;
  reason: SkipReason;
  detail: string;
}

/** A usable image found by the scan. */
export interface ScannedImage {
  file: FileLike;
  /** Path relative to the source root. */
  path: string;
  width: number;
  height: number;
  /** Class folder name (a synset id for ImageNet-Sketch). */
  classId: string;
  /** The image's own caption (.txt file or metadata.jsonl); class layouts caption from a template instead. */
  caption?: string;
}

/** An image chosen for training, with its final caption. */
export interface DatasetEntry extends ScannedImage {
  caption: string;
}

export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}
