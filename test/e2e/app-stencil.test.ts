// The Stencil view on an uploaded image: a ring ("O") gets a bridge in the instant preview, the controls
// change it, and the PNG and SVG downloads are what a cutter needs (PNG at the chosen size carrying its
// settings; SVG of paths only, at the chosen physical width). Works without WebGPU too.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, encodePng, readPngText } from '../../src/data/image-codec';
import { collectErrors, launch, screenshot } from './browser';
import { download, openApp, showView } from './app-helpers';

/** A black ring on white: its inner white disc is an island that needs a bridge. */
function ringPng(size = 128): Buffer {
  const data = new Uint8ClampedArray(size * size * 4).fill(255);
  const c = size / 2;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const r = Math.hypot(x - c + 0.5, y - c + 0.5);
      if (r > size * 0.18 && r < size * 0.36) data.fill(20, (y * size + x) * 4, (y * size + x) * 4 + 3);
    }
  return Buffer.from(encodePng({ width: size, height: size, data }));
}

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

async function uploadRing(page: Page) {
  const panel = await showView(page, 'Stencil');
  await panel.getByLabel('Image to turn into a stencil').setInputFiles({ name: 'ring.png', mimeType: 'image/png', buffer: ringPng() });
  await expect.poll(() => page.getByTestId('stencil-source').textContent().catch(() => '')).toBe('ring.png: 128×128 px');
  const caption = page.getByTestId('stencil-preview').locator('figcaption');
  await expect.poll(() => caption.textContent().catch(() => ''), { timeout: 30_000 }).toMatch(/1 islands, [1-9]\d* bridges/);
  return panel;
}

describe('Stencil view', () => {
  it('previews a bridged ring and downloads a PNG with its settings and a path-only SVG', async () => {
    const page = await openApp(browser);
    const errors = collectErrors(page);
    const panel = await uploadRing(page);

    await panel.getByLabel('Bridges per island').fill('2');
    const caption = page.getByTestId('stencil-preview').locator('figcaption');
    await expect.poll(() => caption.textContent()).toMatch(/1 islands, 2 bridges/);

    await panel.getByLabel('PNG width (px)').fill('256');
    await panel.getByLabel('Width (mm, 0 = no physical size)').fill('100');
    await screenshot(page, 'view-stencil');

    const png = await download(page, panel.getByRole('button', { name: 'Download PNG' }));
    expect(png.name).toBe('ring-stencil.png');
    const image = await decodeImage(new Uint8Array(png.bytes), png.name);
    expect([image.width, image.height]).toEqual([256, 256]);
    const settings = JSON.parse(readPngText(new Uint8Array(png.bytes)).stencil);
    expect(settings).toMatchObject({ threshold: 'auto', layers: 1, widthMm: 100, bridges: { perIsland: 2 } });

    const svg = await download(page, panel.getByRole('button', { name: 'Download SVG' }));
    const text = svg.bytes.toString('utf8');
    const elements = new Set([...text.matchAll(/<([a-zA-Z][\w:-]*)/g)].map((m) => m[1]));
    expect([...elements].sort()).toEqual(['path', 'svg']);
    expect(text).toMatch(/width="100mm"/);
    expect(text).toMatch(/ d="M/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('works without WebGPU, and says why an all-white stencil has nothing to cut', async () => {
    const page = await openApp(browser, { gpu: false });
    const panel = await uploadRing(page);
    await panel.getByLabel('Automatic (Otsu)').uncheck();
    await panel.getByLabel('Threshold', { exact: true }).fill('0');
    await expect.poll(() => panel.getByTestId('error').textContent().catch(() => '')).toMatch(/nothing to cut: the stencil is all white/);
    await screenshot(page, 'view-stencil-no-webgpu');
    await page.close();
  });
});
