// Out of GPU memory in the page: a new run whose memory plan exceeds the engine's budget takes the
// fallbacks the CLI takes (gradient checkpointing, then LoRA), says which, and trains with them: its
// checkpoint is a LoRA one.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawSketchFolder } from '../fine-tune/sketch-folder';
import { collectErrors, launch, screenshot } from './browser';
import { openApp, showView } from './app-helpers';

let browser: Browser;
let sketches: string;
beforeAll(async () => {
  browser = await launch();
  sketches = drawSketchFolder(['circle', 'bar'], 1, 64);
});
afterAll(async () => {
  await browser?.close();
  rmSync(sketches, { recursive: true, force: true });
});

type Handle = { stencilEngine: { call(m: string, p: object): Promise<{ peak: number }> } };

describe('training under a small GPU memory budget', () => {
  it('fits a new run to the budget, says what changed, and trains the fitted run', async () => {
    const page = await openApp(browser);
    const errors = collectErrors(page);
    await page.getByLabel('Or choose the model folder with the file dialog').setInputFiles(resolve('test/fixtures/golden/tiny-sd15/model'));
    await expect.poll(() => page.getByTestId('model-name').textContent().catch(() => ''), { timeout: 60_000 }).toBe('model');
    const panel = await showView(page, 'Train');
    await panel.getByLabel('Or choose the dataset folder with the file dialog').setInputFiles(sketches);
    await expect.poll(() => panel.getByTestId('dataset-report').textContent().catch(() => ''), { timeout: 60_000 }).toMatch(/2 usable images in 2 classes/);
    await panel.getByLabel('Resolution (px; 512, 384 or 256 for SD)').fill('32');
    await panel.getByLabel('Steps (0 = by epochs)').fill('1');
    await panel.getByLabel('Gradient accumulation').fill('1');
    // The full UNet without gradient checkpointing (the form's default) is asked for; a budget just under
    // its plan with checkpointing leaves LoRA (the UI's budget goes down to 1 GB only, so the engine's is set).
    await page.evaluate(async () => {
      const engine = (window as unknown as Handle).stencilEngine;
      const checkpointed = await engine.call('trainingPlan', { mode: 'full', rank: 4, resolution: 32, batch: 1, gradCheckpointing: true });
      await engine.call('setMemoryBudget', { bytes: checkpointed.peak - 1 });
    });
    await panel.getByRole('button', { name: 'Start training' }).click();

    const fit = panel.getByTestId('memory-fit');
    await expect.poll(() => fit.textContent().catch(() => ''), { timeout: 60_000 }).toMatch(
      /^Changed to fit the GPU memory budget.*turned gradient checkpointing on: the plan of [\d.]+ MB exceeded the [\d.]+ MB budget.*switched from the full UNet to LoRA \(lr 1e-4\): the plan of/,
    );
    expect(await fit.locator('li').count()).toBe(2);
    await expect.poll(() => panel.getByTestId('train-result').textContent().catch(() => ''), { timeout: 300_000, interval: 500 }).toBe('Finished: 1 step.');
    await screenshot(page, 'train-memory-fit');
    const checkpoints = await showView(page, 'Checkpoints');
    const rows = checkpoints.getByTestId('checkpoint-list').locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toMatch(/LoRA/);
    expect(errors).toEqual([]);
    await page.close();
  }, 420_000);
});
