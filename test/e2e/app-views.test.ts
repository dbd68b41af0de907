// Every view with and without WebGPU: Generate keeps its settings across reloads and shows the full
// prompt; Train scans a small sketch folder (input and real drop) into a report with skipped files and a
// subset; tabs work from the keyboard; without WebGPU each view says what is missing. Screenshots of all.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../src/data/image-codec';
import { collectErrors, launch, screenshot } from './browser';
import { dropFolder, openApp, showView } from './app-helpers';

let browser: Browser;
let sketches: string;

/** A square sketch: a dark stroke on white, different per seed. */
function sketch(size: number, seed: number): Uint8Array {
  const data = new Uint8ClampedArray(size * size * 4).fill(255);
  for (let i = 0; i < size; i++) {
    const x = (i * (seed + 1)) % size;
    data.fill(30, (i * size + x) * 4, (i * size + x) * 4 + 3);
  }
  return encodePng({ width: size, height: size, data });
}

beforeAll(async () => {
  browser = await launch();
  sketches = join(mkdtempSync(join(tmpdir(), 'sd-e2e-')), 'sketches');
  for (const [cls, n] of [['cat', 3], ['house', 2]] as const) {
    mkdirSync(join(sketches, cls), { recursive: true });
    for (let i = 0; i < n; i++) writeFileSync(join(sketches, cls, `${i}.png`), sketch(64, i));
  }
  writeFileSync(join(sketches, 'cat', 'tiny.png'), sketch(32, 9));
  writeFileSync(join(sketches, 'house', 'notes.txt'), 'not an image');
});
afterAll(async () => {
  await browser?.close();
  rmSync(join(sketches, '..'), { recursive: true, force: true });
});

describe('views with WebGPU', () => {
  it('Generate: full prompt per style, settings kept across a reload, Generate waits for a model', async () => {
    const page = await openApp(browser);
    const errors = collectErrors(page);
    const panel = await showView(page, 'Generate');
    await panel.getByLabel('Prompt', { exact: true }).fill('a fox');
    await expect.poll(() => panel.getByTestId('full-prompt').textContent()).toMatch(/a fox, black silhouette, high contrast/);
    await panel.getByLabel('Prompt style').selectOption('sketch');
    await expect.poll(() => panel.getByTestId('full-prompt').textContent()).toMatch(/sketch of a fox/);
    await panel.getByLabel('Steps').fill('4');
    expect(await panel.getByRole('button', { name: 'Generate', exact: true }).isDisabled()).toBe(true);
    expect(await panel.textContent()).toMatch(/Load a model first/);
    await screenshot(page, 'view-generate');

    await page.reload();
    await expect.poll(() => page.getByTestId('gpu-status').textContent(), { timeout: 60_000 }).toBe('GPU ready');
    const again = page.getByRole('tabpanel', { name: 'Generate' });
    await again.waitFor({ state: 'visible' });
    expect(await again.getByLabel('Prompt', { exact: true }).inputValue()).toBe('a fox');
    expect(await again.getByLabel('Steps').inputValue()).toBe('4');
    expect(await again.getByLabel('Prompt style').inputValue()).toBe('sketch');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('Train: scans a sketch folder into a report with skipped files and a subset; estimate follows', async () => {
    const page = await openApp(browser);
    const panel = await showView(page, 'Train');
    await panel.getByLabel('Or choose the dataset folder with the file dialog').setInputFiles(sketches);
    const report = page.getByTestId('dataset-report');
    await expect.poll(() => report.textContent().catch(() => ''), { timeout: 60_000 }).toMatch(/5 usable images in 2 classes/);
    expect(await report.textContent()).toMatch(/class-name folders/);
    expect(await report.textContent()).toMatch(/5 selected/);
    expect(await report.getByText('sketch of cat').count()).toBe(1);
    expect(await report.locator('img.thumb').count()).toBe(5);
    await page.getByTestId('skipped').locator('summary').click();
    const skipped = await page.getByTestId('skipped').textContent();
    expect(skipped).toMatch(/cat\/tiny\.png.*smaller than 64 px/);
    expect(skipped).toMatch(/house\/notes\.txt/);
    expect(await page.getByTestId('estimate').textContent()).toMatch(/5 images × 1 epoch ÷ \(batch 1 × accumulation 8\) = 1 optimizer step(?!s)/);

    await report.getByLabel('Train on house').uncheck();
    await expect.poll(() => report.textContent()).toMatch(/3 selected/);
    await report.getByLabel('Images per class (0 = all)').fill('2');
    await expect.poll(() => report.textContent()).toMatch(/2 selected/);
    expect(await panel.getByRole('button', { name: 'Start training' }).isDisabled()).toBe(true);
    await screenshot(page, 'view-train');

    // The same folder dropped on the zone: a real directory handle through the same scanner.
    await dropFolder(page, page.getByTestId('drop-dataset-folder'), sketches);
    await expect.poll(() => report.textContent(), { timeout: 60_000 }).toMatch(/5 selected/);
    await page.close();
  });

  it('the tabs from the keyboard', async () => {
    const page = await openApp(browser);
    await page.getByRole('tab', { name: 'Model' }).focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('End');
    expect(await page.getByRole('tab', { name: 'Stencil' }).getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('ArrowLeft');
    expect(await page.getByRole('tab', { name: 'Checkpoints' }).getAttribute('aria-selected')).toBe('true');
    expect(await page.getByRole('tabpanel', { name: 'Checkpoints' }).isVisible()).toBe(true);
    await page.close();
  });
});

describe('views without WebGPU', () => {
  it('each view shows the message; the dataset scan and stencil still work', async () => {
    const page = await openApp(browser, { gpu: false });
    for (const view of ['Model', 'Generate', 'Train', 'Checkpoints', 'Stencil'] as const) {
      const panel = await showView(page, view);
      expect(await page.getByRole('alert').textContent()).toMatch(/WebGPU unavailable.*Chrome or Edge 121/);
      if (view === 'Model' || view === 'Generate' || view === 'Train') {
        expect(await panel.getByTestId('needs-gpu').textContent()).toMatch(/needs WebGPU/);
      }
      if (view === 'Train') {
        await panel.getByLabel('Or choose the dataset folder with the file dialog').setInputFiles(sketches);
        await expect.poll(() => page.getByTestId('dataset-report').textContent().catch(() => ''), { timeout: 60_000 }).toMatch(/5 usable images/);
      }
      await screenshot(page, `view-${view.toLowerCase()}-no-webgpu`);
    }
    await page.close();
  });
});
