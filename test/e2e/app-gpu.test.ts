// The built app in Chromium: the engine starts in its worker, a kernel runs there with the right
// result, Philox noise equals Node's bit for bit, and without WebGPU the page says what to do.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Philox } from '../../src/random/philox';
import type { EngineClient } from '../../src/worker/engine-client';
import { APP_URL, collectErrors, launch, screenshot } from './browser';

declare global {
  interface Window {
    stencilEngine: EngineClient;
  }
}

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

describe('app with WebGPU', () => {
  it('reaches GPU ready, runs a kernel in the worker, and draws the same Philox noise as Node', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = collectErrors(page);
    await page.goto(`${APP_URL}?e2e`);
    await expect.poll(() => page.getByTestId('gpu-status').textContent(), { timeout: 60_000 }).toBe('GPU ready');
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(await page.getByTestId('gpu-precision').textContent()).toMatch(/f32|f16/);

    await page.getByRole('button', { name: 'Run GPU self-test' }).click();
    await expect.poll(() => page.getByTestId('self-test').textContent(), { timeout: 60_000 }).toMatch(/passed|failed/);
    const result = await page.evaluate(() => window.stencilEngine.call('selfTest', {}));
    expect(result.kernelMaxError).toBe(0);
    expect(result.matmulRelError).toBeLessThan(1e-5);

    const pageNoise = await page.evaluate(() => window.stencilEngine.call('noise', { seed: 42, count: 4 * 8 * 8 }).then((a) => Array.from(a)));
    expect(pageNoise).toEqual(Array.from(new Philox(42).normal(4 * 8 * 8)));

    await screenshot(page, 'app-gpu-ready');
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('app without WebGPU', () => {
  it('explains what is missing instead of a blank page', async () => {
    const page = await browser.newPage();
    await page.addInitScript(() => {
      delete (Navigator.prototype as { gpu?: unknown }).gpu;
    });
    await page.goto(APP_URL);
    await expect.poll(() => page.getByTestId('gpu-status').textContent()).toMatch(/WebGPU unavailable/);
    expect(await page.getByRole('alert').textContent()).toMatch(/Chrome or Edge 121/);
    await screenshot(page, 'app-no-webgpu');
    await page.close();
  });

  it('explains a missing adapter (a browser without the WebGPU flag on a machine with no GPU)', async () => {
    const plain = await launch(false);
    try {
      const page = await plain.newPage();
      await page.goto(APP_URL);
      await expect.poll(() => page.getByTestId('gpu-status').textContent(), { timeout: 30_000 }).toMatch(/WebGPU unavailable/);
      expect(await page.getByRole('alert').textContent()).toMatch(/graphics acceleration|Chrome or Edge 121/);
      await screenshot(page, 'app-no-adapter');
    } finally {
      await plain.close();
    }
  });
});
