// The Checkpoints view lists what is in the browser's real IndexedDB (a persistent profile, so it survives
// a browser restart) and deletes a checkpoint with its chunks. The checkpoint is written the way the
// IndexedDB store lays one out: chunks first, then the manifest.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layoutTensors, MAX_CHUNK_BYTES, type CheckpointManifest } from '../../src/storage/checkpoint-format';
import { APP_URL, chromiumPath, screenshot } from './browser';
import { showView } from './app-helpers';

let profile: string;
beforeAll(() => {
  profile = mkdtempSync(join(tmpdir(), 'sd-e2e-profile-'));
});
afterAll(() => rmSync(profile, { recursive: true, force: true }));

function openProfile(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    args: ['--enable-unsafe-webgpu'],
    viewport: { width: 1280, height: 800 },
  });
}

async function openApp(context: BrowserContext): Promise<Page> {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(APP_URL);
  await expect.poll(() => page.getByTestId('gpu-status').textContent(), { timeout: 60_000 }).toBe('GPU ready');
  return page;
}

function manifest(step: number, loss: number): { manifest: CheckpointManifest; bytes: number[] } {
  const bytes = Array.from({ length: 32 }, (_, i) => i);
  const weights = layoutTensors({ 'conv_in.weight': { dtype: 'f16', shape: [4, 4], bytes: new Uint8Array(bytes) } }, `run-1/${step}`, MAX_CHUNK_BYTES);
  return {
    manifest: {
      format: 1,
      id: `run-1-step-${step}`,
      runId: 'run-1',
      step,
      createdAt: new Date(Date.UTC(2026, 10, 25, 10, step)).toISOString(),
      loss,
      mode: 'full',
      baseModel: 'tiny-sd15',
      captionTemplate: 'sketch of {name}',
      weights,
      totalBytes: weights.totalBytes,
    },
    bytes,
  };
}

async function putCheckpoint(page: Page, c: ReturnType<typeof manifest>): Promise<void> {
  await page.evaluate(async ({ manifest, bytes }) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open('stencil-diffusion');
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const put = (store: string, value: unknown, key?: IDBValidKey) =>
      new Promise<void>((resolve, reject) => {
        const tx = db.transaction(store, 'readwrite');
        tx.objectStore(store).put(value, key);
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
      });
    await put('chunks', new Uint8Array(bytes).buffer, [manifest.weights.key, 0]);
    await put('checkpoints', manifest);
    db.close();
  }, c);
}

describe('Checkpoints view', () => {
  it('lists checkpoints from IndexedDB across a browser restart and deletes one', async () => {
    let context = await openProfile();
    let page = await openApp(context);
    let panel = await showView(page, 'Checkpoints');
    expect(await panel.textContent()).toMatch(/No checkpoints yet/);
    await putCheckpoint(page, manifest(2, 0.1234));
    await putCheckpoint(page, manifest(4, 0.0987));
    await context.close();

    context = await openProfile();
    page = await openApp(context);
    panel = await showView(page, 'Checkpoints');
    const rows = panel.getByTestId('checkpoint-list').locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.nth(0).textContent()).toMatch(/^4.*0\.0987.*full UNet.*32 B/);
    expect(await panel.getByRole('button', { name: 'Load the checkpoint at step 4 into the generator' }).isDisabled()).toBe(true);
    await screenshot(page, 'view-checkpoints');

    page.once('dialog', (d) => d.accept());
    await panel.getByRole('button', { name: 'Delete the checkpoint at step 4' }).click();
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.nth(0).textContent()).toMatch(/^2.*0\.1234/);
    const chunks = await page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const r = indexedDB.open('stencil-diffusion');
          r.onsuccess = () => {
            const req = r.result.transaction('chunks').objectStore('chunks').count();
            req.onsuccess = () => resolve(req.result);
          };
        }),
    );
    expect(chunks).toBe(1);
    await context.close();
  });
});
