// Generation in the browser: the golden tiny SD 1.5 (32 px, 4 steps, fixed seed) from the Generate view, with
// the progress bar running to the last step; the PNG download decodes at the chosen size and carries the
// A1111 `parameters`; the same image turned into a stencil downloads as a path-only SVG; the gallery keeps
// the result across a reload.
import { resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, readPngText } from '../../src/data/image-codec';
import { collectErrors, launch, screenshot } from './browser';
import { download, openApp, showView } from './app-helpers';

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

describe('Generate view', () => {
  it('generates with a fixed seed, shows the progress to the end, downloads a PNG with parameters and a stencil SVG', async () => {
    const page = await openApp(browser);
    const errors = collectErrors(page);
    await page.getByLabel('Or choose the model folder with the file dialog').setInputFiles(resolve('test/fixtures/golden/tiny-sd15/model'));
    await expect.poll(() => page.getByTestId('model-name').textContent().catch(() => ''), { timeout: 60_000 }).toBe('model');

    const panel = await showView(page, 'Generate');
    await panel.getByLabel('Prompt', { exact: true }).fill('a cat');
    await panel.getByLabel('Steps').fill('4');
    await panel.getByLabel('Width (px, multiple of 8)').fill('32');
    await panel.getByLabel('Height (px, multiple of 8)').fill('32');
    await panel.getByLabel('Seed', { exact: true }).fill('42');
    await panel.getByRole('button', { name: 'Generate', exact: true }).click();

    // The progress bar shows while it runs, up to its last step.
    const seen: string[] = [];
    const result = panel.getByTestId('result');
    await expect
      .poll(
        async () => {
          const text = await panel.getByTestId('progress').textContent().catch(() => null);
          if (text) seen.push(text);
          return result.count();
        },
        { timeout: 400_000, interval: 100 },
      )
      .toBe(1);
    // PNDM (the model's scheduler) runs one more timestep than steps, as diffusers does: 4 steps are 5 timesteps.
    expect(seen.some((t) => /^step 1 of 5 · [\d.]+ it\/s/.test(t))).toBe(true);
    expect(seen.some((t) => /^step 5 of 5/.test(t))).toBe(true);
    const parameters = await result.getByTestId('result-parameters').textContent();
    expect(parameters).toMatch(/^a cat, black silhouette/);
    expect(parameters).toMatch(/Steps: 4, Sampler: PLMS, CFG scale: 7\.5, Seed: 42, RNG: philox, Size: 32x32, Model: model/);
    await screenshot(page, 'view-generate-result');

    const png = await download(page, result.getByRole('button', { name: 'Download PNG' }));
    const image = await decodeImage(new Uint8Array(png.bytes), png.name);
    expect([image.width, image.height]).toEqual([32, 32]);
    expect(readPngText(new Uint8Array(png.bytes)).parameters).toBe(parameters);

    await result.getByRole('button', { name: 'Make a stencil' }).click();
    const stencil = result.getByTestId('stencil-preview');
    await expect.poll(() => stencil.textContent().catch(() => ''), { timeout: 30_000 }).toMatch(/32×32 px/);
    const svg = await download(page, result.getByRole('button', { name: 'Download SVG' }));
    const elements = new Set([...svg.bytes.toString('utf8').matchAll(/<([a-zA-Z][\w:-]*)/g)].map((m) => m[1]));
    expect([...elements].sort()).toEqual(['path', 'svg']);
    await screenshot(page, 'view-generate-stencil');

    // The gallery is kept in IndexedDB: after a reload the result is there with its parameters and PNG.
    await page.reload();
    await expect.poll(() => page.getByTestId('gpu-status').textContent(), { timeout: 60_000 }).toBe('GPU ready');
    const kept = (await showView(page, 'Generate')).getByTestId('result');
    await expect.poll(() => kept.count(), { timeout: 30_000 }).toBe(1);
    expect(await kept.getByTestId('result-parameters').textContent()).toBe(parameters);
    expect(await kept.getByRole('heading', { level: 3 }).textContent()).toBe('base model');
    const again = await download(page, kept.getByRole('button', { name: 'Download PNG' }));
    expect(again.bytes.equals(png.bytes)).toBe(true);
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: 'Clear gallery' }).click();
    await expect.poll(() => kept.count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  }, 420_000); // SwiftShader on a busy 2-core box: one to three minutes
});
