import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { encode as encodeJpeg } from 'jpeg-js';
import { afterEach, describe, expect, it } from 'vitest';
import { DatasetError } from '../../src/data/dataset-entry';
import { readImageSize } from '../../src/data/dataset-image-size';
import { scanDataset } from '../../src/data/dataset-scan';
import { selectDataset } from '../../src/data/dataset-selection';
import { inputFilesDirectory } from '../../src/data/directory-handles';
import { createImage } from '../../src/data/image';
import { encodePng } from '../../src/data/image-codec';
import { parseSynsetTables, type SynsetTable } from '../../src/data/synset-names';
import { blobFile } from '../../src/io/file-source';
import { nodeDirectory } from '../../src/io/node-file-source';

const synsets: SynsetTable = parseSynsetTables(
  await readFile('public/imagenet-synsets.tsv', 'utf8'),
  await readFile('public/imagenet-clip-classnames.tsv', 'utf8'),
);

/** A black stroke on white, different per `seed`. */
function sketchPng(width: number, height: number, seed = 0): Uint8Array {
  const img = createImage(width, height);
  img.data.fill(255);
  for (let x = 0; x < width; x++) {
    const y = Math.floor((height / 2) * (1 + Math.sin((x + seed * 7) / 5)) * 0.9);
    img.data.set([0, 0, 0, 255], (y * width + x) * 4);
  }
  return encodePng(img);
}

function sketchJpeg(width: number, height: number): Uint8Array {
  const data = Buffer.alloc(width * height * 4, 255);
  return new Uint8Array(encodeJpeg({ data, width, height }, 90).data);
}

let root: string | undefined;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
});

async function folder(files: Record<string, Uint8Array | string>): Promise<string> {
  root = await mkdtemp(join(tmpdir(), 'dataset-scan-'));
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}

const scanFolder = async (files: Record<string, Uint8Array | string>) => scanDataset(await nodeDirectory(await folder(files)), { synsets });

describe('synset tables', () => {
  it('joins WordNet and CLIP names by synset', () => {
    expect(synsets.size).toBe(1000);
    const springer = synsets.get('n02102040')!;
    expect(springer).toMatchObject({ index: 217, wordnetName: 'English springer', clipName: 'English Springer Spaniel' });
    expect(springer.allNames).toEqual(['English springer', 'English springer spaniel']);
    expect(synsets.get('n03126707')!.clipName).toBe('construction crane');
  });

  it('rejects a table with the wrong header or a missing class', () => {
    expect(() => parseSynsetTables('synset\tname\n', 'index\tsynset\tclip_name\n')).toThrow(/imagenet-synsets.tsv: expected the header/);
    const oneClass = 'index\tsynset\tfirst_name\tall_names\n0\tn01440764\ttench\ttench, Tinca tinca\n';
    expect(() => parseSynsetTables(oneClass, 'index\tsynset\tclip_name\n')).toThrow(/has 0 classes, imagenet-synsets.tsv has 1/);
  });
});

describe('layout detection', () => {
  it('reads ImageNet-Sketch (sketch/<synset>/*.JPEG) with CLIP or WordNet names', async () => {
    const scan = await scanFolder({
      'sketch/n02102040/sketch_0.JPEG': sketchJpeg(80, 96),
      'sketch/n02102040/sketch_1.JPEG': sketchJpeg(96, 80),
      'sketch/n01440764/sketch_0.JPEG': sketchJpeg(64, 64),
    });
    expect(scan.layout).toBe('imagenet-sketch');
    expect(scan.images.map((i) => [i.path, i.classId, i.width, i.height])).toEqual([
      ['sketch/n01440764/sketch_0.JPEG', 'n01440764', 64, 64],
      ['sketch/n02102040/sketch_0.JPEG', 'n02102040', 80, 96],
      ['sketch/n02102040/sketch_1.JPEG', 'n02102040', 96, 80],
    ]);
    const clip = selectDataset(scan);
    expect(clip.entries.map((e) => e.caption)).toEqual(['sketch of tench', 'sketch of English Springer Spaniel', 'sketch of English Springer Spaniel']);
    expect(clip.classes.map((c) => [c.id, c.name, c.selected])).toEqual([
      ['n01440764', 'tench', 1],
      ['n02102040', 'English Springer Spaniel', 2],
    ]);
    const wordnet = selectDataset(scan, { names: 'wordnet', captionTemplate: 'a drawing of a {name}' });
    expect(wordnet.entries[1]!.caption).toBe('a drawing of a English springer');
  });

  it('reads <synset>/* without the sketch/ folder, and one synset folder on its own', async () => {
    const png = sketchPng(64, 64);
    expect((await scanFolder({ 'n02102040/a.png': png, 'n01440764/b.png': png })).layout).toBe('imagenet-sketch');
    const single = await scanFolder({ 'sketch/n02102040/a.png': png, 'sketch/n02102040/b.png': png });
    expect(single.layout).toBe('imagenet-sketch');
    expect(selectDataset(single).entries[0]!.caption).toBe('sketch of English Springer Spaniel');
  });

  it('treats unknown or non-synset folder names as class-name folders', async () => {
    const png = sketchPng(64, 64);
    const scan = await scanFolder({ 'cats/a.png': png, 'house plans/b.png': png, 'n99999999/c.png': png });
    expect(scan.layout).toBe('class-folders');
    expect(selectDataset(scan).entries.map((e) => e.caption)).toEqual(['sketch of cats', 'sketch of house plans', 'sketch of n99999999']);
  });

  it('names the class after the folder when images lie at the root', async () => {
    const dir = await folder({ 'a.png': sketchPng(64, 64) });
    const scan = await scanDataset(await nodeDirectory(dir));
    expect(selectDataset(scan).entries[0]!.caption).toBe(`sketch of ${dir.split('/').pop()}`);
  });

  it('reads image + same-name .txt captions and skips images without one', async () => {
    const png = sketchPng(64, 64);
    const scan = await scanFolder({ 'a.png': png, 'a.txt': ' a cat sitting \n', 'b.png': png, 'b.txt': 'a dog', 'c.png': png, 'notes.txt': 'hello' });
    expect(scan.layout).toBe('caption-files');
    const dataset = selectDataset(scan);
    expect(dataset.entries.map((e) => [e.path, e.caption])).toEqual([
      ['a.png', 'a cat sitting'],
      ['b.png', 'a dog'],
    ]);
    expect(dataset.skipped.map((s) => [s.path, s.reason])).toEqual([
      ['c.png', 'no-caption'],
      ['notes.txt', 'not-an-image'],
    ]);
  });

  it('reads metadata.jsonl (file_name, text) and reports unlisted and missing files', async () => {
    const png = sketchPng(64, 64);
    const metadata = [
      { file_name: 'images/x.png', text: 'sketch of a boat' },
      { file_name: 'images/y.png', text: 'sketch of a tree' },
      { file_name: 'images/gone.png', text: 'lost' },
    ];
    const scan = await scanFolder({
      'train/metadata.jsonl': metadata.map((m) => JSON.stringify(m)).join('\n'),
      'train/images/x.png': png,
      'train/images/y.png': png,
      'train/images/z.png': png,
    });
    expect(scan.layout).toBe('imagefolder-metadata');
    expect(selectDataset(scan).entries.map((e) => [e.path, e.caption])).toEqual([
      ['train/images/x.png', 'sketch of a boat'],
      ['train/images/y.png', 'sketch of a tree'],
    ]);
    expect(scan.skipped.map((s) => [s.path, s.reason])).toEqual([
      ['train/images/gone.png', 'missing'],
      ['train/images/z.png', 'no-caption'],
    ]);
  });

  it('names the line of a broken metadata.jsonl', async () => {
    await expect(scanFolder({ 'metadata.jsonl': '{"file_name": "a.png", "text": "x"}\n{oops', 'a.png': sketchPng(64, 64) })).rejects.toThrow(
      /metadata.jsonl line 2: invalid JSON/,
    );
  });
});

describe('skipped files', () => {
  it('reports each bad file with its reason and keeps the good ones', async () => {
    const good = sketchPng(70, 64);
    const scan = await scanFolder({
      'dogs/good.png': good,
      'dogs/fake.png': 'just some text pretending to be a PNG',
      'dogs/cut.png': good.subarray(0, Math.floor(good.length / 2)),
      'dogs/tiny.png': sketchPng(32, 32),
      'dogs/huge.png': hugePngHeader(9000, 100),
      'dogs/readme.pdf': '%PDF-1.4',
      'dogs/anim.gif': 'GIF89a....',
      'dogs/.DS_Store': 'mac',
    });
    expect(scan.images.map((i) => i.path)).toEqual(['dogs/good.png']);
    expect(scan.skipped.map((s) => [s.path, s.reason])).toEqual([
      ['dogs/anim.gif', 'unsupported'],
      ['dogs/cut.png', 'truncated'],
      ['dogs/fake.png', 'not-an-image'],
      ['dogs/huge.png', 'too-large'],
      ['dogs/readme.pdf', 'not-an-image'],
      ['dogs/tiny.png', 'too-small'],
    ]);
    expect(scan.skipped.find((s) => s.path === 'dogs/tiny.png')!.detail).toBe('32x32 is smaller than 64 px');
  });

  it('gives a clear error for an empty folder and for one without usable images', async () => {
    await expect(scanFolder({})).rejects.toThrow(/is empty/);
    const error = await scanFolder({ 'a.txt': 'x', 'b.png': sketchPng(16, 16) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as Error).message).toMatch(/No usable images .* 2 files looked at, 2 skipped \(not-an-image, too-small\)/);
  });

  it('reports progress', async () => {
    const calls: [number, number][] = [];
    await scanDataset(await nodeDirectory(await folder({ 'a/x.png': sketchPng(64, 64), 'a/y.png': sketchPng(64, 64) })), {
      onProgress: (done, total) => calls.push([done, total]),
    });
    expect(calls).toEqual([
      [1, 2],
      [2, 2],
    ]);
  });
});

/** A PNG whose IHDR says width x height, with an IEND: the header reader must not need the pixels. */
function hugePngHeader(width: number, height: number): Uint8Array {
  const png = sketchPng(64, 64);
  const out = png.slice();
  new DataView(out.buffer).setUint32(16, width);
  new DataView(out.buffer).setUint32(20, height);
  return out;
}

describe('image size from headers', () => {
  const sizeOf = (bytes: Uint8Array, name = 'x') => readImageSize(blobFile(new Blob([new Uint8Array(bytes)]), name));

  it('reads PNG and JPEG sizes', async () => {
    expect(await sizeOf(sketchPng(123, 45))).toEqual({ format: 'png', width: 123, height: 45 });
    expect(await sizeOf(sketchJpeg(67, 89))).toEqual({ format: 'jpeg', width: 67, height: 89 });
  });

  it('follows JPEG segments that lie past the first 64 KB', async () => {
    const jpeg = sketchJpeg(100, 70);
    const app = new Uint8Array(4 + 65000);
    app.set([0xff, 0xe1, 65002 >> 8, 65002 & 0xff]);
    // Two big APP1 segments push the frame header to ~130 KB.
    const padded = new Uint8Array([...jpeg.subarray(0, 2), ...app, ...app, ...jpeg.subarray(2)]);
    expect(await sizeOf(padded)).toEqual({ format: 'jpeg', width: 100, height: 70 });
    await expect(sizeOf(padded.subarray(0, padded.length - 10))).rejects.toThrow(/truncated JPEG/);
  });

  it('reads the three WebP headers', async () => {
    const riff = (chunk: string, body: number[]) => {
      const bytes = new Uint8Array(40);
      const v = new DataView(bytes.buffer);
      bytes.set(new TextEncoder().encode(`RIFF____WEBP${chunk}`));
      v.setUint32(4, bytes.length - 8, true);
      bytes.set(body, 20);
      return bytes;
    };
    // VP8: frame tag, start code, width 300 | scale bits, height 200.
    expect(await sizeOf(riff('VP8 ', [0, 0, 0, 0x9d, 0x01, 0x2a, 300 & 0xff, (300 >> 8) | 0x40, 200, 0]))).toEqual({ format: 'webp', width: 300, height: 200 });
    // VP8L: signature, (w-1) | (h-1) << 14 in little-endian bits.
    const bits = (640 - 1) | ((480 - 1) << 14);
    expect(await sizeOf(riff('VP8L', [0x2f, bits & 0xff, (bits >> 8) & 0xff, (bits >> 16) & 0xff, bits >>> 24]))).toEqual({ format: 'webp', width: 640, height: 480 });
    // VP8X: flags, reserved, 24-bit w-1, 24-bit h-1.
    expect(await sizeOf(riff('VP8X', [0x10, 0, 0, 0, 0x0f, 0x27, 0, 0x1f, 0x4e, 0]))).toEqual({ format: 'webp', width: 10000, height: 20000 });
  });
});

describe('subsetting', () => {
  const classFolders = async () => {
    const files: Record<string, Uint8Array> = {};
    for (const cls of ['apple', 'boat', 'cat']) for (let i = 0; i < 6; i++) files[`${cls}/${i}.png`] = sketchPng(64, 64, i);
    return scanFolder(files);
  };

  it('keeps the chosen classes, matched by id or name, and caps images per class deterministically', async () => {
    const scan = await classFolders();
    const picked = selectDataset(scan, { classes: ['Boat', 'cat'], maxPerClass: 3, seed: 5 });
    expect(picked.classes.map((c) => [c.id, c.available, c.selected])).toEqual([
      ['boat', 6, 3],
      ['cat', 6, 3],
    ]);
    expect(picked.entries.map((e) => e.path)).toEqual([...picked.entries.map((e) => e.path)].sort());
    expect(selectDataset(scan, { classes: ['Boat', 'cat'], maxPerClass: 3, seed: 5 }).entries.map((e) => e.path)).toEqual(picked.entries.map((e) => e.path));
    const otherSeeds = [6, 7, 8].map((seed) => selectDataset(scan, { maxPerClass: 3, seed }).entries.map((e) => e.path).join());
    expect(new Set(otherSeeds).size).toBeGreaterThan(1);
    expect(picked.classes[0]!.samples.length).toBe(3);
    expect(selectDataset(scan, { samplesPerClass: 2 }).classes.every((c) => c.samples.length === 2)).toBe(true);
  });

  it('rejects unknown classes and a template without {name}', async () => {
    const scan = await classFolders();
    expect(() => selectDataset(scan, { classes: ['apple', 'zebra'] })).toThrow(/No class named "zebra"/);
    expect(() => selectDataset(scan, { captionTemplate: 'a sketch' })).toThrow(/has no \{name\}/);
    expect(() => selectDataset(scan, { maxPerClass: 0 })).toThrow(/positive whole number/);
  });
});

describe('<input webkitdirectory> files', () => {
  const inputFile = (relativePath: string, bytes: Uint8Array | string) => {
    const file = new File([typeof bytes === 'string' ? bytes : new Uint8Array(bytes)], relativePath.split('/').pop()!);
    Object.defineProperty(file, 'webkitRelativePath', { value: relativePath });
    return file;
  };

  it('strips the chosen folder name, sorts the paths and scans like a folder', async () => {
    const png = sketchPng(64, 64);
    const source = inputFilesDirectory([inputFile('ds/sketch/n02102040/b.png', png), inputFile('ds/sketch/n01440764/a.png', png), inputFile('ds/notes.md', '#')]);
    expect(source.name).toBe('ds');
    expect((await source.files()).map((f) => f.path)).toEqual(['notes.md', 'sketch/n01440764/a.png', 'sketch/n02102040/b.png']);
    expect((await source.file('sketch/n01440764/a.png'))!.size).toBe(png.length);
    const scan = await scanDataset(source, { synsets });
    expect(scan.layout).toBe('imagenet-sketch');
    expect(selectDataset(scan).entries.map((e) => e.caption)).toEqual(['sketch of tench', 'sketch of English Springer Spaniel']);
  });
});
