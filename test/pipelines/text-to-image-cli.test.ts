// `npm run stencil -- generate` end to end on the golden tiny SD 1.5 folder: PNG with the A1111 parameters
// chunk, and the stencil SVG.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import generate from '../../src/cli/commands/generate';
import { decodeImage, readPngText } from '../../src/data/image-codec';
import { parseParameters } from '../../src/pipelines/png-parameters';
import { modelDir } from '../models/golden';

const dir = mkdtempSync(join(tmpdir(), 'generate-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('generate writes the PNG with its parameters and the stencil SVG', async () => {
  const png = join(dir, 'x.png');
  const svg = join(dir, 'x.svg');
  const argv = ['--model', modelDir('tiny-sd15'), '--prompt', 'a cat', '--steps', '2', '--width', '32', '--height', '32', '--seed', '7', '--out', png, '--stencil', svg];
  expect(await generate.run(argv)).toBe(0);
  const bytes = new Uint8Array(readFileSync(png));
  const image = await decodeImage(bytes, png);
  expect([image.width, image.height]).toEqual([32, 32]);
  const parameters = parseParameters(readPngText(bytes, png).parameters);
  expect(parameters.prompt).toMatch(/^a cat, black silhouette/);
  expect(parameters.negative).toMatch(/^color, colorful/);
  expect(parameters).toMatchObject({ steps: 2, scheduler: 'pndm', cfg: 7.5, seed: 7, rng: 'philox', width: 32, height: 32, model: 'model' });
  expect(readFileSync(svg, 'utf8')).toMatch(/<svg[^>]*>/);
});
