import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exportImagefolder } from '../../src/data/dataset-export';
import { DatasetLoader, loadTrainingImage } from '../../src/data/dataset-loader';
import { DataOrder } from '../../src/data/dataset-order';
import { scanDataset } from '../../src/data/dataset-scan';
import { selectDataset, type Dataset } from '../../src/data/dataset-selection';
import { createImage } from '../../src/data/image';
import { encodePng } from '../../src/data/image-codec';
import { blobFile } from '../../src/io/file-source';
import { nodeDirectory } from '../../src/io/node-file-source';

const roots: string[] = [];
afterEach(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

async function folder(files: Record<string, Uint8Array | string | Blob>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'dataset-loader-'));
  roots.push(root);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content instanceof Blob ? new Uint8Array(await content.arrayBuffer()) : content);
  }
  return root;
}

/** Left half black, right half transparent (so white after compositing): flips are visible. */
function halfPng(width: number, height: number): Uint8Array {
  const img = createImage(width, height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width / 2; x++) img.data.set([0, 0, 0, 255], (y * width + x) * 4);
  return encodePng(img);
}

async function classDataset(perClass: number): Promise<Dataset> {
  const files: Record<string, Uint8Array> = {};
  for (const cls of ['ant', 'bee']) for (let i = 0; i < perClass; i++) files[`${cls}/${i}.png`] = halfPng(64 + i, 64);
  return selectDataset(await scanDataset(await nodeDirectory(await folder(files))));
}

describe('data order', () => {
  it('is a permutation per epoch, different each epoch, and the same for the same seed', () => {
    const order = new DataOrder(10, 42, false);
    const epochs = [0, 1].map(() => Array.from({ length: 10 }, () => order.next().index));
    for (const epoch of epochs) expect([...epoch].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(epochs[0]).not.toEqual(epochs[1]);
    const again = new DataOrder(10, 42, false);
    expect(Array.from({ length: 10 }, () => again.next().index)).toEqual(epochs[0]);
    const otherSeed = new DataOrder(10, 43, false);
    expect(Array.from({ length: 10 }, () => otherSeed.next().index)).not.toEqual(epochs[0]);
  });

  it('resumes exactly from a JSON cursor, also at an epoch boundary', () => {
    for (const stop of [0, 3, 7, 14]) {
      const straight = new DataOrder(7, 9n, true);
      const reference = Array.from({ length: 30 }, () => straight.next());
      const first = new DataOrder(7, 9n, true);
      for (let i = 0; i < stop; i++) first.next();
      const resumed = DataOrder.fromState(JSON.parse(JSON.stringify(first.state())));
      expect(Array.from({ length: 30 - stop }, () => resumed.next())).toEqual(reference.slice(stop));
    }
  });

  it('flips about half the visits when asked, never otherwise, without changing the order', () => {
    const flipping = new DataOrder(200, 1, true);
    const plain = new DataOrder(200, 1, false);
    const visits = Array.from({ length: 200 }, () => [flipping.next(), plain.next()] as const);
    const flips = visits.filter(([f]) => f.flip).length;
    expect(flips).toBeGreaterThan(70);
    expect(flips).toBeLessThan(130);
    expect(visits.every(([f, p]) => f.index === p.index && !p.flip)).toBe(true);
  });
});

describe('training images', () => {
  it('gives [res, res, 3] floats in [-1, 1], composited over white, flipped on request', async () => {
    const dataset = await classDataset(1);
    const entry = dataset.entries[0]!;
    const pixels = await loadTrainingImage(entry, 32);
    expect(pixels.length).toBe(32 * 32 * 3);
    expect(Math.min(...pixels)).toBe(-1);
    expect(Math.max(...pixels)).toBe(1);
    // Row 0: black on the left, the transparent half white on the right; mirrored when flipped.
    expect([pixels[0], pixels[31 * 3]]).toEqual([-1, 1]);
    const flipped = await loadTrainingImage(entry, 32, true);
    expect([flipped[0], flipped[31 * 3]]).toEqual([1, -1]);
  });

  it('resumes the loader exactly and refuses a changed dataset', async () => {
    const dataset = await classDataset(3);
    const straight = new DatasetLoader(dataset, 16, { seed: 7, flip: true });
    const reference: string[] = [];
    for (let i = 0; i < 9; i++) {
      const s = await straight.next();
      reference.push(`${s.entry.path}:${s.flip}:${s.pixels[0]}`);
    }
    const first = new DatasetLoader(dataset, 16, { seed: 7, flip: true });
    for (let i = 0; i < 4; i++) await first.next();
    const state = JSON.parse(JSON.stringify(first.state()));
    const resumed = new DatasetLoader(dataset, 16, { state });
    const rest: string[] = [];
    for (let i = 4; i < 9; i++) {
      const s = await resumed.next();
      rest.push(`${s.entry.path}:${s.flip}:${s.pixels[0]}`);
    }
    expect(rest).toEqual(reference.slice(4));
    const recaptioned = { ...dataset, entries: dataset.entries.map((e) => ({ ...e, caption: `drawing of ${e.classId}` })) };
    expect(() => new DatasetLoader(recaptioned, 16, { state })).toThrow(/dataset changed/);
  });

  it('skips and reports an image that fails to decode at load time, and fails clearly when none load', async () => {
    const dataset = await classDataset(2);
    const broken = dataset.entries[1]!;
    // The header was fine at scan time; the pixel data is garbage now.
    const bytes = new Uint8Array(await (await broken.file.blob()).arrayBuffer());
    bytes.fill(7, 43, bytes.length - 16);
    broken.file = blobFile(new Blob([bytes]), broken.path);
    const loader = new DatasetLoader(dataset, 16, { seed: 1, flip: false });
    const seen = new Set<string>();
    for (let i = 0; i < 9; i++) seen.add((await loader.next()).entry.path);
    expect(seen.size).toBe(3);
    expect(seen.has(broken.path)).toBe(false);
    expect(loader.skipped).toEqual([{ path: broken.path, reason: 'corrupt', detail: expect.stringContaining(broken.path) }]);

    for (const entry of dataset.entries) entry.file = blobFile(new Blob(['not an image']), entry.path);
    await expect(new DatasetLoader(dataset, 16, { seed: 1, flip: false }).next()).rejects.toThrow(/None of the 4 images could be loaded/);
  });
});

describe('imagefolder export', () => {
  it('round-trips: scanning the exported folder gives the same images and captions', async () => {
    const dataset = await classDataset(2);
    const files = await exportImagefolder(dataset);
    expect(files.map((f) => f.path)).toEqual([...dataset.entries.map((e) => e.path), 'metadata.jsonl']);
    const metadata = (await files.at(-1)!.blob.text()).trim().split('\n').map((line) => JSON.parse(line));
    expect(metadata[0]).toEqual({ file_name: 'ant/0.png', text: 'sketch of ant' });
    const exported = await folder(Object.fromEntries(files.map((f) => [f.path, f.blob])));
    const rescanned = selectDataset(await scanDataset(await nodeDirectory(exported)));
    expect(rescanned.layout).toBe('imagefolder-metadata');
    expect(rescanned.entries.map((e) => [e.path, e.caption, e.classId])).toEqual(dataset.entries.map((e) => [e.path, e.caption, e.classId]));
  });
});
