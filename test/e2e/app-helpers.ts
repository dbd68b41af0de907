// Driving the app's views: open it with the engine ready, switch tabs, hand it folders the ways a user
// does (a real OS-level drop through CDP, an OPFS folder behind the directory picker), catch downloads.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import { APP_URL } from './browser';

export async function openApp(browser: Browser, options: { gpu?: boolean } = {}): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  if (options.gpu === false) {
    await page.addInitScript(() => {
      delete (Navigator.prototype as { gpu?: unknown }).gpu;
    });
  }
  await page.goto(`${APP_URL}?e2e`);
  const ready = options.gpu === false ? /WebGPU unavailable/ : /^GPU ready$/;
  await expect.poll(() => page.getByTestId('gpu-status').textContent(), { timeout: 60_000 }).toMatch(ready);
  return page;
}

export async function showView(page: Page, name: 'Model' | 'Generate' | 'Train' | 'Checkpoints' | 'Stencil'): Promise<Locator> {
  await page.getByRole('tab', { name }).click();
  const panel = page.getByRole('tabpanel', { name });
  await panel.waitFor({ state: 'visible' });
  return panel;
}

/** A real folder drop on `target` (CDP Input.dispatchDragEvent): the page gets real FileSystemDirectoryHandles. */
export async function dropFolder(page: Page, target: Locator, absPath: string): Promise<void> {
  await target.scrollIntoViewIfNeeded();
  const box = (await target.boundingBox())!;
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  const cdp = await page.context().newCDPSession(page);
  const data = { items: [], files: [absPath], dragOperationsMask: 1 };
  for (const type of ['dragEnter', 'dragOver', 'drop'] as const) await cdp.send('Input.dispatchDragEvent', { type, x, y, data });
  await cdp.detach();
}

function listFiles(dir: string, skip: (path: string) => boolean): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path, skip) : skip(path) ? [] : [path];
  });
}

/**
 * Copies a folder from disk into the page's Origin Private File System as `name`, and makes
 * showDirectoryPicker return it: the app's picker code path then runs unchanged on an OPFS handle.
 */
export async function pickerReturnsOpfsCopy(page: Page, dir: string, name: string, skip: (path: string) => boolean = () => false): Promise<void> {
  const files = listFiles(dir, skip).map((p) => ({ path: relative(dir, p), base64: readFileSync(p).toString('base64') }));
  await page.evaluate(
    async ({ name, files }) => {
      const root = await navigator.storage.getDirectory();
      const top = await root.getDirectoryHandle(name, { create: true });
      for (const f of files) {
        const parts = f.path.split('/');
        let d = top;
        for (const part of parts.slice(0, -1)) d = await d.getDirectoryHandle(part, { create: true });
        const w = await (await d.getFileHandle(parts[parts.length - 1], { create: true })).createWritable();
        await w.write(Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0)));
        await w.close();
      }
      Object.assign(window, { showDirectoryPicker: async () => top });
    },
    { name, files },
  );
}

/** Clicks `button` and returns the downloaded file's name and bytes. */
export async function download(page: Page, button: Locator): Promise<{ name: string; bytes: Buffer }> {
  const [dl] = await Promise.all([page.waitForEvent('download'), button.click()]);
  const path = await dl.path();
  return { name: dl.suggestedFilename(), bytes: readFileSync(path) };
}
