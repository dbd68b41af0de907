// Offline use: after a visit the service worker serves the app shell and the engine worker, so the app
// opens without a network, still cross-origin isolated, and the stencil (no network, no model) works.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../src/data/image-codec';
import { APP_URL, launch, screenshot } from './browser';
import { showView } from './app-helpers';

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

describe('offline', () => {
  it('opens and cuts a stencil with the network off after one visit', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(APP_URL);
    await expect.poll(() => page.getByTestId('gpu-status').textContent(), { timeout: 60_000 }).toBe('GPU ready');
    await page.evaluate(() => navigator.serviceWorker.ready);
    // Installed means the shell, the engine worker and its chunks are cached.
    await expect
      .poll(() => page.evaluate(async () => (await (await caches.open('stencil-diffusion-shell-v1')).keys()).some((r) => /engine-worker/.test(r.url))))
      .toBe(true);

    await context.setOffline(true);
    await page.reload();
    await expect.poll(() => page.getByTestId('gpu-status').textContent(), { timeout: 60_000 }).toBe('GPU ready');
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);

    const panel = await showView(page, 'Stencil');
    const data = new Uint8ClampedArray(64 * 64 * 4).fill(255);
    for (let y = 16; y < 48; y++) for (let x = 16; x < 48; x++) data.fill(0, (y * 64 + x) * 4, (y * 64 + x) * 4 + 3);
    await panel.getByLabel('Image to turn into a stencil').setInputFiles({
      name: 'square.png',
      mimeType: 'image/png',
      buffer: Buffer.from(encodePng({ width: 64, height: 64, data })),
    });
    await expect.poll(() => page.getByTestId('stencil-preview').textContent().catch(() => ''), { timeout: 30_000 }).toMatch(/64×64 px/);
    await screenshot(page, 'app-offline');
    await context.close();
  });
});
