// A lost GPU device in the browser: the page says so, replaces the engine worker with a fresh one, and loads
// the model that was loaded before again, ready to generate; a training run lost with the device resumes
// from its last checkpoint in the new engine (the dataset folder opened again there) and finishes, its loss
// chart kept. The run starts over the engine's GPU memory budget, so it also shows the fallbacks taken
// (gradient checkpointing, then LoRA) and that the resumed run keeps them. One run covers both: each
// training session costs its shader compiles again on SwiftShader.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawSketchFolder } from '../fine-tune/sketch-folder';
import { collectErrors, launch, screenshot } from './browser';
import { openApp, showView } from './app-helpers';

const MODEL = resolve('test/fixtures/golden/tiny-sd15/model');
let browser: Browser;
let sketches: string;
beforeAll(async () => {
  browser = await launch();
  sketches = drawSketchFolder(['circle', 'bar'], 2, 64);
});
afterAll(async () => {
  await browser?.close();
  rmSync(sketches, { recursive: true, force: true });
});

type Handle = { stencilEngine: { call(m: string, p: object): Promise<unknown> } };

async function loadModel(page: Page): Promise<void> {
  await page.getByLabel('Or choose the model folder with the file dialog').setInputFiles(MODEL);
  await expect.poll(() => page.getByTestId('model-name').textContent().catch(() => ''), { timeout: 60_000 }).toBe('model');
}

function loseDevice(page: Page): Promise<unknown> {
  return page.evaluate(() => (window as unknown as Handle).stencilEngine.call('simulateDeviceLoss', {}));
}

describe('device lost', () => {
  it('restarts the engine and reloads the model', async () => {
    const page = await openApp(browser);
    await loadModel(page);
    await page.evaluate(() => Object.assign((window as unknown as { stencilEngine: object }).stencilEngine, { beforeLoss: true }));

    await loseDevice(page);
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

  // SwiftShader takes 6-11 s a step of the tiny UNet (30-45 s for the first, mostly compiles, paid again in
  // the new engine): 2 steps at 32 px, the device lost in step 2, one validation image of 1 denoising step.
  it('fits a run to the memory budget, resumes it from its last checkpoint after a device loss, and finishes it', async () => {
    const page = await openApp(browser);
    const errors = collectErrors(page);
    await loadModel(page);
    const panel = await showView(page, 'Train');
    await panel.getByLabel('Or choose the dataset folder with the file dialog').setInputFiles(sketches);
    await expect.poll(() => panel.getByTestId('dataset-report').textContent().catch(() => ''), { timeout: 60_000 }).toMatch(/4 usable images in 2 classes/);
    await panel.getByLabel('Resolution (px; 512, 384 or 256 for SD)').fill('32');
    await panel.getByLabel('Steps (0 = by epochs)').fill('2');
    await panel.getByLabel('Gradient accumulation').fill('1');
    await panel.getByLabel('Checkpoint every (steps)').fill('1');
    await panel.locator('summary', { hasText: 'Advanced' }).click();
    await panel.getByLabel('Validation images every (steps, 0 = off)').fill('2');
    await panel.getByLabel('Validation denoising steps').fill('1');
    await panel.getByLabel(/^Validation prompts/).fill('sketch of a circle');
    // The full UNet without gradient checkpointing (the form's default) is asked for; a budget just under
    // its plan with checkpointing leaves LoRA (the UI's budget goes down to 1 GB only, so the engine's is set).
    await page.evaluate(async () => {
      const engine = (window as unknown as { stencilEngine: { call(m: string, p: object): Promise<{ peak: number }> } }).stencilEngine;
      const checkpointed = await engine.call('trainingPlan', { mode: 'full', rank: 4, resolution: 32, batch: 1, gradCheckpointing: true });
      await engine.call('setMemoryBudget', { bytes: checkpointed.peak - 1 });
    });
    await panel.getByRole('button', { name: 'Start training' }).click();

    const fit = panel.getByTestId('memory-fit');
    await expect.poll(() => fit.textContent().catch(() => ''), { timeout: 60_000 }).toMatch(
      /^Changed to fit the GPU memory budget.*turned gradient checkpointing on: the plan of [\d.]+ MB exceeded the [\d.]+ MB budget.*switched from the full UNet to LoRA \(lr 1e-4\): the plan of/,
    );
    expect(await fit.locator('li').count()).toBe(2);
    await screenshot(page, 'train-memory-fit');

    const checkpoints = panel.getByTestId('run-checkpoints');
    await expect.poll(() => checkpoints.textContent().catch(() => ''), { timeout: 300_000, interval: 500 }).toMatch(/step 1 stored/);
    await loseDevice(page);
    const reset = panel.getByTestId('train-reset');
    await expect.poll(() => reset.textContent().catch(() => ''), { timeout: 30_000, interval: 250 }).toMatch(/^GPU reset: resuming from the checkpoint at step \d…/);
    const from = Number(/step (\d)/.exec((await reset.textContent())!)![1]);
    await screenshot(page, 'device-lost-train-resuming');
    // The engine restarted, loaded the model again, and the run goes on there.
    await expect.poll(() => page.getByTestId('gpu-status').textContent(), { timeout: 60_000 }).toBe('GPU ready');
    await expect.poll(() => page.getByTestId('model-name').textContent().catch(() => ''), { timeout: 60_000 }).toBe('model');

    const progress = panel.getByTestId('train-progress');
    await expect.poll(() => progress.textContent(), { timeout: 400_000, interval: 250 }).toMatch(/^step 2 of 2 · [\d.]+ it\/s · ETA .* · making validation images…$/);
    await expect.poll(() => panel.getByTestId('train-result').textContent().catch(() => ''), { timeout: 120_000, interval: 500 }).toBe('Finished: 2 steps.');
    expect(await reset.textContent()).toMatch(new RegExp(`^GPU reset after step \\d: resumed from the checkpoint at step ${from}\\.$`));
    // The chart kept the steps before the reset and charts each step once.
    expect(await panel.getByTestId('loss-chart').locator('circle').count()).toBe(2);
    expect(await checkpoints.textContent()).toMatch(/step 1 stored.*step 2 stored/);
    expect(await panel.getByTestId('validation-images').getByRole('img').getAttribute('alt')).toBe('Validation image at step 2: sketch of a circle');
    expect(await panel.getByTestId('resumable-runs').count()).toBe(0);
    expect(await panel.getByTestId('error').count()).toBe(0);
    await screenshot(page, 'device-lost-train-finished');
    // The resumed run kept the fitted settings: its checkpoints are LoRA ones.
    const rows = (await showView(page, 'Checkpoints')).getByTestId('checkpoint-list').locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.allTextContents()).toEqual([expect.stringMatching(/^2.*LoRA/), expect.stringMatching(/^1.*LoRA/)]);
    expect(errors).toEqual([]);
    await page.close();
  }, 900_000);
});
