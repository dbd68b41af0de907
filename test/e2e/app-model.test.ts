// The Model view loads the built-in demo model, and the golden tiny SD 1.5 folder onto the GPU through every
// folder path a user has: the <input webkitdirectory> dialog, a real folder drop, and an OPFS folder behind
// the directory picker.
// A folder that is not a model gets an error that says what to choose instead.
import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectErrors, launch, screenshot } from './browser';
import { dropFolder, openApp, pickerReturnsOpfsCopy, showView } from './app-helpers';

const MODEL = resolve('test/fixtures/golden/tiny-sd15/model');

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

async function expectLoaded(page: Page, name: string): Promise<void> {
  const facts = page.getByTestId('loaded-model');
  await expect.poll(() => page.getByTestId('model-name').textContent().catch(() => ''), { timeout: 120_000 }).toBe(name);
  const text = await facts.textContent();
  expect(text).toMatch(/SD 1\.x/);
  expect(text).toMatch(/unet/);
  expect(text).toMatch(/PNDMScheduler/);
  expect(await page.getByTestId('model-weights').textContent()).toMatch(/^f32 · [\d.]+ MiB on the GPU/);
}

describe('Model view', () => {
  it('loads the built-in tiny demo model, clearly labelled', async () => {
    const page = await openApp(browser);
    const errors = collectErrors(page);
    await page.getByRole('button', { name: 'Load the tiny demo model' }).click();
    await expectLoaded(page, 'Tiny demo model (random weights)');
    expect(await page.getByTestId('loaded-model').textContent()).toMatch(/draws nothing meaningful/);
    await screenshot(page, 'view-model-demo');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('loads the tiny model folder through the folder input', async () => {
    const page = await openApp(browser);
    const errors = collectErrors(page);
    await showView(page, 'Model');
    await page.getByLabel('Or choose the model folder with the file dialog').setInputFiles(MODEL);
    await expectLoaded(page, 'model');
    await screenshot(page, 'view-model-loaded');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('loads it from a real folder drop on the drop zone', async () => {
    const page = await openApp(browser);
    await dropFolder(page, page.getByTestId('drop-model-folder'), MODEL);
    await expectLoaded(page, 'model');
    await page.close();
  });

  it('loads it from an OPFS folder handed to the directory picker, and explains a folder that is not a model', async () => {
    const page = await openApp(browser);
    await pickerReturnsOpfsCopy(page, MODEL, 'tiny-sd15-opfs', (p) => p.includes('.fp16.'));
    await page.getByRole('button', { name: 'Pick model folder…' }).click();
    await expectLoaded(page, 'tiny-sd15-opfs');

    await page.getByLabel('Or choose the model folder with the file dialog').setInputFiles(resolve(MODEL, 'tokenizer'));
    const error = page.getByTestId('error');
    await expect.poll(() => error.textContent().catch(() => ''), { timeout: 30_000 }).toMatch(/not a diffusers model folder/);
    expect(await error.textContent()).toMatch(/Choose a diffusers model folder/);
    await screenshot(page, 'view-model-error');
    await page.close();
  });
});
