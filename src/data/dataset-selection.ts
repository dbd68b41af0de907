// Turns a scan into the training set: class names (CLIP or WordNet for ImageNet-Sketch), captions from the
// editable template, the chosen classes, a per-class cap chosen by a seeded draw, and a few samples per
// class for the thumbnail grid. Cheap: editing the template or the subset never rescans the folder.

import { Philox } from '../random/philox';
import { DatasetError, type DatasetEntry, type DatasetLayout, type ScannedImage, type SkippedFile } from './dataset-entry';
import type { DatasetScan } from './dataset-scan';
import { synsetClassName, type ClassNameSource } from './synset-names';

export const DEFAULT_CAPTION_TEMPLATE = 'sketch of {name}';

export interface DatasetSelection {
  /** Name table for ImageNet-Sketch synsets; default 'clip'. */
  names?: ClassNameSource;
  /** `{name}` becomes the class name; used by class-folder layouts. Default "sketch of {name}". */
  captionTemplate?: string;
  /** Class ids (folder names, synsets) or class names to keep; all when absent. */
  classes?: readonly string[];
  /** At most this many images per class, drawn with `seed`. */
  maxPerClass?: number;
  seed?: number;
  /** Entries per class kept for the thumbnail grid; default 4. */
  samplesPerClass?: number;
}

export interface DatasetClass {
  id: string;
  name: string;
  /** Usable images of this class in the folder. */
  available: number;
  /** Images of this class in the training set. */
  selected: number;
  samples: DatasetEntry[];
}

export interface Dataset {
  source: string;
  layout: DatasetLayout;
  names: ClassNameSource;
  captionTemplate: string;
  /** Training images in sorted path order. */
  entries: DatasetEntry[];
  classes: DatasetClass[];
  skipped: SkippedFile[];
}

export function captionFromTemplate(template: string, name: string): string {
  return template.replaceAll('{name}', name);
}

/** `count` distinct indices below `n`, by a partial Fisher-Yates shuffle, returned in ascending order. */
function drawIndices(n: number, count: number, random: Philox): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  const u = random.uniform(count);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(u[i]! * (n - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, count).sort((a, b) => a - b);
}

export function selectDataset(scan: DatasetScan, selection: DatasetSelection = {}): Dataset {
  const names = selection.names ?? 'clip';
  const captionTemplate = selection.captionTemplate ?? DEFAULT_CAPTION_TEMPLATE;
  if (!captionTemplate.includes('{name}')) {
    throw new DatasetError(`The caption template "${captionTemplate}" has no {name}; every image would get the same caption.`);
  }
  const { maxPerClass } = selection;
  if (maxPerClass !== undefined && (!Number.isInteger(maxPerClass) || maxPerClass < 1)) {
    throw new DatasetError(`Images per class must be a positive whole number, got ${maxPerClass}.`);
  }
  const className = (id: string): string => {
    const synset = scan.layout === 'imagenet-sketch' ? scan.synsets?.get(id) : undefined;
    return synset ? synsetClassName(synset, names) : id;
  };

  const byClass = new Map<string, ScannedImage[]>();
  for (const image of scan.images) {
    const list = byClass.get(image.classId);
    if (list) list.push(image);
    else byClass.set(image.classId, [image]);
  }
  let ids = [...byClass.keys()].sort();
  if (selection.classes) {
    const wanted = new Map(selection.classes.map((c) => [c.trim().toLowerCase(), c]));
    const matches = (id: string) => wanted.has(id.toLowerCase()) || wanted.has(className(id).toLowerCase());
    const unknown = [...wanted].filter(([key]) => !ids.some((id) => id.toLowerCase() === key || className(id).toLowerCase() === key));
    if (unknown.length > 0) {
      throw new DatasetError(`No class named ${unknown.map(([, c]) => `"${c}"`).join(', ')} in "${scan.source}" (it has ${ids.length} classes).`);
    }
    ids = ids.filter(matches);
  }

  const random = new Philox(selection.seed ?? 0);
  const samplesPerClass = selection.samplesPerClass ?? 4;
  const classes: DatasetClass[] = [];
  const entries: DatasetEntry[] = [];
  for (const id of ids) {
    const images = byClass.get(id)!;
    const name = className(id);
    const kept =
      maxPerClass !== undefined && images.length > maxPerClass ? drawIndices(images.length, maxPerClass, random).map((i) => images[i]!) : images;
    const classEntries = kept.map((image) => ({ ...image, caption: image.caption ?? captionFromTemplate(captionTemplate, name) }));
    entries.push(...classEntries);
    classes.push({ id, name, available: images.length, selected: kept.length, samples: classEntries.slice(0, samplesPerClass) });
  }
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { source: scan.source, layout: scan.layout, names, captionTemplate, entries, classes, skipped: scan.skipped };
}
