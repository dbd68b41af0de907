// A lost GPU device in the browser: the page says so, replaces the engine worker with a fresh one, and loads
// the model that was loaded before again, ready to generate.
import { resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, screenshot } from './browser';
import { openApp } from './app-helpers';

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

describe('device lost', () => {
  it('restarts the engine and reloads the model', async () => {
    const page = await openApp(browser);
    await page.getByLabel('Or choose the model folder with the file dialog').setInputFiles(resolve('test/fixtures/golden/tiny-sd15/model'));
    await expect.poll(() => page.getByTestId('model-name').textContent().catch(() => ''), { timeout: 60_000 }).toBe('model');
    await page.evaluate(() => Object.assign((window as unknown as { stencilEngine: object }).stencilEngine, { beforeLoss: true }));

    await page.evaluate(() => (window as unknown as { stencilEngine: { call(m: string, p: object): Promise<void> } }).stencilEngine.call('simulateDeviceLoss', {}));
    await expect.poll(() => page.getByTestId('device-lost').textContent().catch(() => ''), { timeout: 30_000 }).toMatch(/The GPU was reset \(GPU device lost \(simulated\)/);
    await expect.poll(() => page.getByTestId('gpu-status').textContent(), { timeout: 60_000 }).toBe('GPU ready');
    await expect.poll(() => page.getByTestId('model-name').textContent().catch(() => ''), { timeout: 60_000 }).toBe('model');
    // A new worker: the page's handle was replaced, and the new engine answers.
    expect(await page.evaluate(() => 'beforeLoss' in (window as unknown as { stencilEngine: object }).stencilEngine)).toBe(false);
    const test = await page.evaluate(() => (window as unknown as { stencilEngine: { call(m: string, p: object): Promise<{ kernelMaxError: number }> } }).stencilEngine.call('selfTest', {}));
    expect(test.kernelMaxError).toBe(0);
    await screenshot(page, 'device-lost-recovered');
    await page.close();
  }, 180_000);
});
