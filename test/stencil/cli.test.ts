import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/cli/args';
import stencil from '../../src/cli/commands/stencil';
import { decodeImage, encodePng } from '../../src/data/image-codec';
import { grayImage, paint, ring } from './draw';
import { parseSvg } from './svg-check';

const dir = mkdtempSync(join(tmpdir(), 'stencil-cli-'));
const input = join(dir, 'o.png');
writeFileSync(input, encodePng(paint(grayImage(100, 100, 240), 20, ring(50, 50, 15, 30))));

async function run(args: string[]) {
  const errors: string[] = [];
  const err = vi.spyOn(console, 'error').mockImplementation((m: string) => void errors.push(m));
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    return { code: await stencil.run(args), errors };
  } finally {
    err.mockRestore();
    log.mockRestore();
  }
}

describe('stencil command', () => {
  it('writes a path-only SVG with its physical size', async () => {
    const out = join(dir, 'o.svg');
    expect((await run(['--in', input, '--out', out, '--width-mm', '50', '--bridges', '2'])).code).toBe(0);
    const elements = parseSvg(readFileSync(out, 'utf8'));
    expect(elements[0].attrs.width).toBe('50mm');
    expect(new Set(elements.slice(1).map((e) => e.name))).toEqual(new Set(['path']));
  });

  it('writes a PNG at the chosen width', async () => {
    const out = join(dir, 'o.png.out.png');
    expect((await run(['--in', input, '--out', out, '--png-width', '200'])).code).toBe(0);
    const png = await decodeImage(new Uint8Array(readFileSync(out)), out);
    expect([png.width, png.height]).toEqual([200, 200]);
  });

  it('exits 2 with a clear message on an undecodable file or nothing to cut', async () => {
    const junk = join(dir, 'junk.png');
    writeFileSync(junk, 'not an image');
    const bad = await run(['--in', junk, '--out', join(dir, 'x.svg')]);
    expect(bad.code).toBe(2);
    expect(bad.errors.join('\n')).toMatch(/junk\.png: not a PNG, JPEG or WebP image/);
    const white = join(dir, 'white.png');
    writeFileSync(white, encodePng(grayImage(64, 64, 255)));
    const empty = await run(['--in', white, '--out', join(dir, 'x.svg')]);
    expect(empty.code).toBe(2);
    expect(empty.errors.join('\n')).toMatch(/nothing to cut/);
  });

  it('rejects bad flags as usage errors', async () => {
    await expect(run(['--in', input, '--out', join(dir, 'x.jpg')])).rejects.toThrow(UsageError);
    await expect(run(['--in', input, '--out', join(dir, 'x.svg'), '--threshold', 'dark'])).rejects.toThrow(/--threshold/);
    await expect(run(['--in', input, '--out', join(dir, 'x.svg'), '--layers', '4'])).rejects.toThrow(/--layers/);
    await expect(run(['--in', input, '--out', join(dir, 'x.svg'), '--adaptive', '--layers', '2'])).rejects.toThrow(/--adaptive/);
  });
});
