// Training in the browser, end to end: the golden tiny SD 1.5 loaded from its folder, a small drawn sketch
// folder opened and reported, a 4-step run at 32 px with a checkpoint every 2 steps; the progress and loss
// chart follow each step, the checkpoints appear in the Checkpoints view and are still there after a
// browser restart (real IndexedDB in a persistent profile), where the stopped run offers to resume and
// finishes with a validation image at its last step. Pause, resume and stop keep the run's state. The
// estimate plans LoRA storage from the loaded UNet. The last checkpoint then goes into the generator and is
// compared with the base model on one seed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../src/data/image-codec';
import { APP_URL, chromiumPath, collectErrors, screenshot } from './browser';
import { showView } from './app-helpers';

const MODEL = resolve('test/fixtures/golden/tiny-sd15/model');
let root: string;
let sketches: string;

/** A 64 px sketch: a dark ring of a radius that differs per image. */
function sketch(seed: number): Uint8Array {
  const size = 64;
  const data = new Uint8ClampedArray(size * size * 4).fill(255);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const r = Math.hypot(x - 32, y - 32);
      if (Math.abs(r - 12 - seed * 3) < 2) data.fill(20, (y * size + x) * 4, (y * size + x) * 4 + 3);
    }
  return encodePng({ width: size, height: size, data });
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sd-e2e-train-'));
  sketches = join(root, 'sketches');
  for (const cls of ['circle', 'ring']) {
    mkdirSync(join(sketches, cls), { recursive: true });
    for (let i = 0; i < 2; i++) writeFileSync(join(sketches, cls, `${i}.png`), sketch(i + (cls === 'ring' ? 2 : 0)));
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function openProfile(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(join(root, 'profile'), {
    executablePath: chromiumPath(),
    args: ['--enable-unsafe-webgpu'],
    viewport: { width: 1280, height: 800 },
  });
}

async function ready(context: BrowserContext): Promise<Page> {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(APP_URL);
  await expect.poll(() => page.getByTestId('gpu-status').textContent(), { timeout: 60_000 }).toBe('GPU ready');
  return page;
}

async function prepareRun(page: Page, steps: number): Promise<ReturnType<Page['getByRole']>> {
  await page.getByLabel('Or choose the model folder with the file dialog').setInputFiles(MODEL);
  await expect.poll(() => page.getByTestId('model-name').textContent().catch(() => ''), { timeout: 60_000 }).toBe('model');
  const panel = await showView(page, 'Train');
  await panel.getByLabel('Or choose the dataset folder with the file dialog').setInputFiles(sketches);
  await expect.poll(() => panel.getByTestId('dataset-report').textContent().catch(() => ''), { timeout: 60_000 }).toMatch(/4 usable images in 2 classes/);
  await panel.getByLabel('Resolution (px; 512, 384 or 256 for SD)').fill('32');
  await panel.getByLabel('Steps (0 = by epochs)').fill(String(steps));
  await panel.getByLabel('Gradient accumulation').fill('1');
  await panel.getByLabel('Checkpoint every (steps)').fill('2');
  return panel;
}

// SwiftShader takes 6-11 s per step of the tiny UNet on a busy 2-core box (30-45 s for the first, mostly shader
// compiles): one run covers it all.
describe('Train view', () => {
  it('trains with pause, resume and stop, charts the loss, stores checkpoints that survive a browser restart', async () => {
    let context = await openProfile();
    let page = await ready(context);
    const errors = collectErrors(page);
    const panel = await prepareRun(page, 4);
    const estimate = panel.getByTestId('estimate');
    expect(await estimate.textContent()).toMatch(/4 steps as set = 4 optimizer steps/);
    await expect.poll(() => estimate.textContent()).toMatch(/GPU memory plan: about [\d.]+ [KM]iB/);
    // The tiny UNet's attention projections at rank 4: 4 × 3520 adapter parameters.
    await panel.getByLabel('Mode', { exact: true }).selectOption('lora');
    await expect.poll(() => estimate.textContent()).toMatch(/checkpoints? of 27\.5 KiB \(f16 adapters, 14\.1 k parameters at rank 4\) \+ 165 KiB of resume state/);
    // Adapting the feed-forward layers too adds their adapters to the plan; none at all is refused.
    const adapters = async () => Number(/([\d.]+) k parameters at rank 4/.exec((await estimate.textContent()) ?? '')?.[1]);
    await panel.getByLabel('feed-forward (ff.net)').check();
    await expect.poll(adapters).toBeGreaterThan(14.1);
    await panel.getByLabel('feed-forward (ff.net)').uncheck();
    await panel.getByLabel('attention (to_q, to_k, to_v, to_out)').uncheck();
    expect(await panel.getByText('Choose at least one kind of module.').count()).toBe(1);
    await panel.getByLabel('attention (to_q, to_k, to_v, to_out)').check();
    await expect.poll(adapters).toBe(14.1);
    await panel.getByLabel('Mode', { exact: true }).selectOption('full');
    // One validation image of 2 denoising steps at step 4 only (SwiftShader is slow): the resumed run makes it.
    await panel.locator('summary', { hasText: 'Advanced' }).click();
    await panel.getByLabel('Validation images every (steps, 0 = off)').fill('4');
    await panel.getByLabel('Validation denoising steps').fill('2');
    await panel.getByLabel(/^Validation prompts/).fill('sketch of a circle');
    await panel.getByRole('button', { name: 'Start training' }).click();
    const progress = panel.getByTestId('train-progress');
    await expect.poll(() => progress.textContent(), { timeout: 240_000, interval: 1000 }).toMatch(/step [1-4] of 4 · [\d.]+ it\/s · ETA/);

    await panel.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => progress.textContent(), { timeout: 120_000, interval: 500 }).toMatch(/paused/);
    const pausedAt = await progress.textContent();
    await page.waitForTimeout(1500);
    expect(await progress.textContent()).toBe(pausedAt);
    await screenshot(page, 'view-train-paused');
    await panel.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => progress.textContent(), { timeout: 30_000 }).not.toMatch(/paused/);

    // Stop once the step-2 checkpoint is stored: the step in flight finishes, then the run stops with a checkpoint.
    await expect.poll(() => panel.getByTestId('run-checkpoints').textContent().catch(() => ''), { timeout: 240_000, interval: 1000 }).toMatch(/step 2 stored/);
    await panel.getByRole('button', { name: 'Stop' }).click();
    // Step 3 starts at once and takes seconds, far longer than the 1 s poll: the stop lands inside it.
    await expect.poll(() => panel.getByTestId('train-result').textContent().catch(() => ''), { timeout: 240_000, interval: 1000 }).toMatch(/^Stopped at step 3 of 4/);
    expect(await panel.getByTestId('loss-chart').locator('circle').count()).toBe(3);
    expect(await panel.getByTestId('loss-chart').textContent()).toMatch(/Loss [\d.]+ \(smoothed [\d.]+\) at step 3/);
    expect(await panel.getByTestId('run-checkpoints').textContent()).toMatch(/step 2 stored.*step 3 stored/);
    expect(await panel.getByTestId('resumable-runs').textContent()).toMatch(/Stopped at step 3 of 4/);
    await screenshot(page, 'view-train-run');

    const checkpoints = await showView(page, 'Checkpoints');
    await expect.poll(() => checkpoints.getByTestId('checkpoint-list').locator('tbody tr').count()).toBe(2);
    expect(errors).toEqual([]);
    await context.close();

    // After a browser restart the checkpoints are still there and the run offers to resume, exactly.
    context = await openProfile();
    page = await ready(context);
    const after = await showView(page, 'Checkpoints');
    const rows = after.getByTestId('checkpoint-list').locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.first().textContent()).toMatch(/^3\s*[\d.]+full UNet.*resumable/);
    await screenshot(page, 'view-checkpoints-after-training');

    const train = await prepareRun(page, 4);
    const resumable = train.getByTestId('resumable-runs');
    await expect.poll(() => resumable.textContent().catch(() => '')).toMatch(/Stopped at step 3 of 4 · full UNet · model on sketches/);
    await resumable.getByRole('button', { name: 'Resume run' }).click();
    await expect.poll(() => train.getByTestId('train-result').textContent().catch(() => ''), { timeout: 240_000, interval: 1000 }).toBe('Finished: 4 steps.');
    expect(await train.getByTestId('run-checkpoints').textContent()).toMatch(/step 4 stored/);
    // The chart shows the whole run: the three steps before the restart, then the resumed one.
    expect(await train.getByTestId('loss-chart').locator('circle').count()).toBe(4);
    expect(await train.getByTestId('resumable-runs').count()).toBe(0);
    const validation = train.getByTestId('validation-images');
    expect(await validation.getByRole('img').getAttribute('alt')).toBe('Validation image at step 4: sketch of a circle');
    expect(await validation.getByRole('img').evaluate((img: HTMLImageElement) => img.decode().then(() => img.naturalWidth))).toBe(32);
    expect(await validation.textContent()).toBe('Step 4 · sketch of a circle');
    await screenshot(page, 'view-train-validation');
    const final = await showView(page, 'Checkpoints');
    await expect.poll(() => final.getByTestId('checkpoint-list').locator('tbody tr').count()).toBe(3);

    // Export as a diffusers unet/ folder into a picked folder (OPFS stands in for the user's disk).
    await page.evaluate(async () => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('export', { create: true });
      Object.assign(window, { showDirectoryPicker: async () => dir });
    });
    await final.getByRole('button', { name: 'Export the checkpoint at step 4' }).click();
    await expect.poll(() => final.getByTestId('exported').textContent().catch(() => ''), { timeout: 60_000 }).toMatch(/unet\/config\.json, unet\/diffusion_pytorch_model\.safetensors written to the folder "export"/);
    const exported = await page.evaluate(async () => {
      const unet = await (await (await navigator.storage.getDirectory()).getDirectoryHandle('export')).getDirectoryHandle('unet');
      const bytes = new Uint8Array(await (await (await unet.getFileHandle('diffusion_pytorch_model.safetensors')).getFile()).arrayBuffer());
      const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
      const config = JSON.parse(await (await (await unet.getFileHandle('config.json')).getFile()).text());
      return { conv: header['conv_in.weight'], meta: header.__metadata__, cls: config._class_name };
    });
    expect(exported.conv.dtype).toBe('F16');
    expect(exported.meta).toMatchObject({ fine_tuned: 'true', base_model: 'model', step: '4' });
    expect(exported.cls).toBe('UNet2DConditionModel');
    await screenshot(page, 'view-checkpoints-exported');

    // The checkpoint into the generator, compared with the base model on one seed (the reference's comparison).
    await final.getByRole('button', { name: 'Load the checkpoint at step 4 into the generator' }).click();
    const generate = page.getByRole('tabpanel', { name: 'Generate' });
    await generate.waitFor({ state: 'visible' });
    const weights = generate.getByLabel('UNet weights');
    await expect.poll(() => weights.locator('option:checked').textContent()).toMatch(/^checkpoint at step 4 \(full UNet, loss [\d.]+, run \w{8}\)$/);
    expect(await generate.getByTestId('full-prompt').textContent()).toMatch(/Full prompt \(sketch\): sketch of a cat/);
    await generate.getByLabel('Prompt', { exact: true }).fill('a cat');
    await generate.getByLabel('Steps').fill('2');
    await generate.getByLabel('Width (px, multiple of 8)').fill('32');
    await generate.getByLabel('Height (px, multiple of 8)').fill('32');
    await generate.getByLabel('Seed', { exact: true }).fill('7');
    await generate.getByRole('button', { name: 'Compare with the base model' }).click();
    const comparison = generate.getByTestId('result');
    await expect.poll(() => comparison.count(), { timeout: 300_000, interval: 1000 }).toBe(1);
    const sets = comparison.getByTestId('result-set');
    expect(await sets.count()).toBe(2);
    expect(await sets.nth(0).getByRole('heading').textContent()).toBe('base model');
    expect(await sets.nth(1).getByRole('heading').textContent()).toMatch(/^checkpoint at step 4 \(full UNet, run \w{8}\)$/);
    const [base, tuned] = await Promise.all([0, 1].map((i) => sets.nth(i).getByTestId('result-parameters').textContent()));
    expect(base).toMatch(/^a cat, black silhouette[^]*Seed: 7,[^]*Model: model$/);
    expect(tuned).toMatch(/^sketch of a cat\n[^]*Seed: 7,[^]*Model: model, Checkpoint: checkpoint at step 4/);
    const pixels = await sets.evaluateAll((els) => els.map((el) => (el.querySelector('img') as HTMLImageElement).src));
    expect(pixels[0]).not.toBe(pixels[1]);
    await screenshot(page, 'view-generate-compare');
    await context.close();
  }, 900_000);
});
