// Which layout a dataset folder has, decided from file names alone (plus metadata.jsonl), in this order:
// HF imagefolder `metadata.jsonl` (file_name, text), image + same-name `.txt` caption, then class folders,
// which are ImageNet-Sketch when every class folder is a known synset id (`sketch/<synset>/*.JPEG` or
// `<synset>/*`). Folders that wrap the whole dataset (`sketch/`, a zip's top folder) are looked through.

import { readText, type FileLike } from '../io/file-source';
import { DatasetError, type DatasetLayout, type SkippedFile } from './dataset-entry';
import { SYNSET_ID, type SynsetTable } from './synset-names';

/** An image the layout accepts; its header is checked afterwards. */
export interface PlannedImage {
  file: FileLike;
  classId: string;
  caption?: string;
  captionFile?: FileLike;
}

export interface LayoutPlan {
  layout: DatasetLayout;
  images: PlannedImage[];
  skipped: SkippedFile[];
}

/** Extensions treated as images; GIF, BMP, TIFF and AVIF are then reported as unsupported by their header. */
const IMAGE_EXTENSIONS = new Set(['png', 'jpg', 'jpeg', 'jpe', 'jfif', 'webp', 'gif', 'bmp', 'tif', 'tiff', 'avif']);

const extensionOf = (path: string): string => {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
};
const withoutExtension = (path: string): string => (extensionOf(path) ? path.slice(0, path.lastIndexOf('.')) : path);
const folderOf = (path: string): string => path.slice(0, path.lastIndexOf('/') + 1);

export const isImagePath = (path: string): boolean => IMAGE_EXTENSIONS.has(extensionOf(path));

/** Dot files and macOS archive debris, which no user means as data. */
export const isHiddenPath = (path: string): boolean => path.split('/').some((part) => part.startsWith('.') || part === '__MACOSX');

function notAnImage(file: FileLike): SkippedFile {
  const ext = extensionOf(file.path);
  return { path: file.path, reason: 'not-an-image', detail: ext ? `not an image (.${ext} file)` : 'not an image (no extension)' };
}

/**
 * Class of each image: the first folder below the folders shared by all images; images lying directly in
 * that shared folder take its name (or the source's name when it is the root).
 */
function classIds(paths: readonly string[], sourceName: string): string[] {
  let shared = paths.length > 0 ? folderOf(paths[0]!).split('/').slice(0, -1) : [];
  for (const path of paths) {
    const parts = folderOf(path).split('/').slice(0, -1);
    let n = 0;
    while (n < shared.length && n < parts.length && shared[n] === parts[n]) n++;
    shared = shared.slice(0, n);
  }
  const rootClass = shared[shared.length - 1] ?? sourceName;
  return paths.map((path) => {
    const parts = path.split('/');
    return parts.length - 1 > shared.length ? parts[shared.length]! : rootClass;
  });
}

async function readMetadata(file: FileLike): Promise<Map<string, string | undefined>> {
  const captions = new Map<string, string | undefined>();
  const lines = (await readText(file)).split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (error) {
      throw new DatasetError(`${file.path} line ${i + 1}: invalid JSON (${(error as Error).message})`);
    }
    const { file_name: fileName, text } = (row ?? {}) as { file_name?: unknown; text?: unknown };
    if (typeof fileName !== 'string') throw new DatasetError(`${file.path} line ${i + 1}: no "file_name" string`);
    captions.set(fileName.replace(/^\.\//, ''), typeof text === 'string' && text.trim() !== '' ? text.trim() : undefined);
  });
  return captions;
}

async function planMetadata(metadata: FileLike, files: readonly FileLike[]): Promise<Omit<LayoutPlan, 'layout'>> {
  const base = folderOf(metadata.path);
  const captions = await readMetadata(metadata);
  const images: PlannedImage[] = [];
  const skipped: SkippedFile[] = [];
  const found = new Set<string>();
  for (const file of files) {
    if (file === metadata) continue;
    if (!isImagePath(file.path)) {
      skipped.push(notAnImage(file));
      continue;
    }
    const key = file.path.startsWith(base) ? file.path.slice(base.length) : undefined;
    const caption = key === undefined ? undefined : captions.get(key);
    if (key !== undefined && captions.has(key)) found.add(key);
    if (caption === undefined) {
      const why = key !== undefined && captions.has(key) ? `has no "text" in ${metadata.path}` : `not listed in ${metadata.path}`;
      skipped.push({ path: file.path, reason: 'no-caption', detail: why });
    } else {
      images.push({ file, classId: '', caption });
    }
  }
  for (const key of captions.keys()) {
    if (!found.has(key)) skipped.push({ path: base + key, reason: 'missing', detail: `listed in ${metadata.path} but not found` });
  }
  return { images, skipped };
}

function planCaptionFiles(files: readonly FileLike[]): Omit<LayoutPlan, 'layout'> | undefined {
  const textByStem = new Map(files.filter((f) => extensionOf(f.path) === 'txt').map((f) => [withoutExtension(f.path), f]));
  const imageFiles = files.filter((f) => isImagePath(f.path));
  if (!imageFiles.some((f) => textByStem.has(withoutExtension(f.path)))) return undefined;
  const images: PlannedImage[] = [];
  const skipped: SkippedFile[] = [];
  const used = new Set<FileLike>();
  for (const file of files) {
    if (!isImagePath(file.path)) continue;
    const captionFile = textByStem.get(withoutExtension(file.path));
    if (captionFile) {
      used.add(captionFile);
      images.push({ file, classId: '', captionFile });
    } else {
      skipped.push({ path: file.path, reason: 'no-caption', detail: `no ${withoutExtension(file.name)}.txt caption beside it` });
    }
  }
  for (const file of files) if (!isImagePath(file.path) && !used.has(file)) skipped.push(notAnImage(file));
  return { images, skipped };
}

/** `files` are the visible files of the source, in sorted path order. */
export async function planLayout(sourceName: string, files: readonly FileLike[], synsets?: SynsetTable): Promise<LayoutPlan> {
  const metadata = files
    .filter((f) => f.name === 'metadata.jsonl')
    .sort((a, b) => a.path.split('/').length - b.path.split('/').length)[0];
  let layout: DatasetLayout;
  let plan: Omit<LayoutPlan, 'layout'> | undefined;
  if (metadata) {
    layout = 'imagefolder-metadata';
    plan = await planMetadata(metadata, files);
  } else {
    layout = 'caption-files';
    plan = planCaptionFiles(files);
  }
  if (!plan) {
    layout = 'class-folders';
    plan = {
      images: files.filter((f) => isImagePath(f.path)).map((file) => ({ file, classId: '' })),
      skipped: files.filter((f) => !isImagePath(f.path)).map(notAnImage),
    };
  }
  const ids = classIds(
    plan.images.map((image) => image.file.path),
    sourceName,
  );
  plan.images.forEach((image, i) => (image.classId = ids[i]!));
  if (layout === 'class-folders' && ids.length > 0 && synsets && ids.every((id) => SYNSET_ID.test(id) && synsets.has(id))) {
    layout = 'imagenet-sketch';
  }
  return { layout, ...plan };
}
