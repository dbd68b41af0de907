// Dataset folders in the worker: the scan is kept here, so changing the subset or caption template never
// rescans the folder; the page gets counts, skipped files and a few sample images per class.
import { handleDirectory, inputFilesDirectory } from '../data/directory-handles';
import { scanDataset, type DatasetScan } from '../data/dataset-scan';
import { selectDataset, type Dataset, type DatasetSelection } from '../data/dataset-selection';
import { parseSynsetTables, type SynsetTable } from '../data/synset-names';
import type { HandlerContext } from './handler-context';
import type { DatasetReport, FolderSource } from './messages';

let scan: DatasetScan | undefined;
let synsets: Promise<SynsetTable> | undefined;

/** The ImageNet synset names shipped in public/ (needed to recognise ImageNet-Sketch folders). */
function synsetTable(): Promise<SynsetTable> {
  const text = (name: string) =>
    fetch(new URL(`/${name}`, self.location.origin)).then((r) => {
      if (!r.ok) throw new Error(`${name}: HTTP ${r.status}`);
      return r.text();
    });
  synsets ??= Promise.all([text('imagenet-synsets.tsv'), text('imagenet-clip-classnames.tsv')]).then(([s, c]) => parseSynsetTables(s, c));
  return synsets;
}

function directoryOf(source: FolderSource) {
  return source.kind === 'folder-handle' ? handleDirectory(source.handle) : inputFilesDirectory(source.files);
}

export async function scanFolder(source: FolderSource, ctx: HandlerContext): Promise<DatasetReport> {
  scan = await scanDataset(directoryOf(source), {
    synsets: await synsetTable(),
    onProgress: (checked, total) => ctx.progress(checked, total, `checked ${checked} of ${total} images`),
  });
  return report({});
}

/** The training set the user chose from the opened folder. */
export function chosenDataset(selection: DatasetSelection): Dataset {
  if (!scan) throw new Error('no dataset folder has been opened yet: open one in the Train view');
  return selectDataset(scan, selection);
}

export async function report(selection: DatasetSelection): Promise<DatasetReport> {
  const dataset = chosenDataset(selection);
  const classes = await Promise.all(
    dataset.classes.map(async (c) => ({
      id: c.id,
      name: c.name,
      available: c.available,
      selected: c.selected,
      caption: c.samples[0]?.caption ?? '',
      thumbnails: await Promise.all(c.samples.map(async (s) => ({ path: s.path, blob: await s.file.blob() }))),
    })),
  );
  return {
    source: dataset.source,
    layout: dataset.layout,
    images: scan!.images.length,
    selected: dataset.entries.length,
    classes,
    skipped: dataset.skipped,
  };
}
