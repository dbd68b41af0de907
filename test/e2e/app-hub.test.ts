// Loading a Hugging Face repo in the Model view against a mocked hub (Playwright routing of
// https://huggingface.co, which catches the engine worker's fetches in this Chromium): licence and size,
// the download with its progress bar into the OPFS cache, a connection that ends early (resumed by an HTTP
// Range request), a cancel mid-file (resumed from the same byte in the same worker), and the same repo
// loaded from the cache with the network off after a reload.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/ui/format';
import { APP_URL, collectErrors, launch, screenshot } from './browser';
import { showView } from './app-helpers';

const MODEL = resolve('test/fixtures/golden/tiny-sd15/model');
const REPO = 'test-org/tiny-sd15';
const LICENSE = 'creativeml-openrail-m';
// The weight file whose first response ends early, and where.
const CUT_FILE = 'unet/diffusion_pytorch_model.fp16.safetensors';
const CUT_AT = 1_000_000;

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? listFiles(join(dir, name)) : [join(dir, name)]));
}
const files = new Map(listFiles(MODEL).map((p) => [relative(MODEL, p), readFileSync(p)]));
// A load reads the fp16 weights where a repo has them, and every config and tokenizer file.
const downloaded = [...files.keys()].filter((p) => !p.endsWith('.safetensors') || p.includes('.fp16.')).sort();

/** The hub's API and file server as the app uses them, logging every request with its Range header. */
class FakeHub {
  readonly requests: { path: string; range?: string }[] = [];
  /** Routed requests reach this handler even under context.setOffline(true): fail them as the network would. */
  offline = false;
  private resolveCalls = new Map<string, number>();
  /** True while the request after the early end (the automatic Range resume) is held, until release(). */
  holding = false;
  private releaseHeld = () => {};

  release(): void {
    this.releaseHeld();
  }

  async handle(route: Route): Promise<void> {
    const url = new URL(route.request().url());
    const range = (await route.request().headerValue('range')) ?? undefined;
    this.requests.push({ path: url.pathname, range });
    if (this.offline) return route.abort('internetdisconnected');
    const cors = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'Content-Range, Accept-Ranges' };
    const json = (body: unknown) => route.fulfill({ status: 200, headers: cors, contentType: 'application/json', body: JSON.stringify(body) });
    if (url.pathname === `/api/models/${REPO}`) return json({ id: REPO, cardData: { license: LICENSE }, gated: false });
    if (url.pathname === `/api/models/${REPO}/tree/main` && url.searchParams.get('recursive') === 'true') {
      const dirs = [...new Set([...files.keys()].filter((p) => p.includes('/')).map((p) => p.split('/')[0]))];
      return json([
        ...dirs.map((path) => ({ type: 'directory', path, size: 0 })),
        ...[...files].map(([path, bytes]) => ({ type: 'file', path, size: bytes.length })),
      ]);
    }
    const prefix = `/${REPO}/resolve/main/`;
    const path = url.pathname.startsWith(prefix) ? decodeURIComponent(url.pathname.slice(prefix.length)) : '';
    const bytes = files.get(path);
    if (!bytes) return route.fulfill({ status: 404, headers: cors, body: 'Entry not found' });
    const call = (this.resolveCalls.get(path) ?? 0) + 1;
    this.resolveCalls.set(path, call);
    const headers = { ...cors, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    if (path === CUT_FILE && call === 1) {
      // The connection ends early: the full Content-Length, fewer bytes.
      return route.fulfill({ status: 200, headers: { ...headers, 'content-length': String(bytes.length) }, body: bytes.subarray(0, CUT_AT) });
    }
    if (path === CUT_FILE && call === 2) {
      this.holding = true;
      await new Promise<void>((r) => (this.releaseHeld = r));
      // The page has cancelled it meanwhile, so this abort may find no request left.
      return route.abort().catch(() => undefined);
    }
    const start = Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1] ?? 0);
    if (start === 0) return route.fulfill({ status: 200, headers: { ...headers, 'content-length': String(bytes.length) }, body: bytes });
    return route.fulfill({
      status: 206,
      headers: { ...headers, 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}`, 'content-length': String(bytes.length - start) },
      body: bytes.subarray(start),
    });
  }
}

let browser: Browser;
let context: BrowserContext;
let page: Page;
const hub = new FakeHub();
beforeAll(async () => {
  browser = await launch();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.route('https://huggingface.co/**', (route) => hub.handle(route));
});
afterAll(async () => {
  await browser?.close();
});

async function gpuReady(): Promise<void> {
  await expect.poll(() => page.getByTestId('gpu-status').textContent(), { timeout: 60_000 }).toBe('GPU ready');
}

async function checkLicence(): Promise<void> {
  const panel = await showView(page, 'Model');
  await panel.getByLabel('Repository').fill(REPO);
  await panel.getByRole('button', { name: 'Check licence and size' }).click();
  const info = page.getByTestId('hub-info');
  await info.waitFor({ timeout: 30_000 });
  const total = downloaded.reduce((n, p) => n + files.get(p)!.length, 0);
  expect(await info.textContent()).toContain(`Licence: ${LICENSE}`);
  expect(await info.textContent()).toContain(`Download: ${formatBytes(total)} in ${downloaded.length} files`);
  await info.getByLabel(`I accept the ${LICENSE} licence`).check();
}

async function expectLoaded(): Promise<void> {
  await expect.poll(() => page.getByTestId('model-name').textContent().catch(() => ''), { timeout: 60_000 }).toBe(REPO);
  expect(await page.getByTestId('loaded-model').textContent()).toMatch(/SD 1\.x/);
}

/** SHA-256 of a cached file, read from the page's OPFS (no access handle is open between downloads). */
function cachedSha256(path: string): Promise<string> {
  return page.evaluate(async (parts) => {
    let dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('models');
    for (const p of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(p);
    const file = await (await dir.getFileHandle(`${parts[parts.length - 1]}.partial`)).getFile();
    const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', await file.arrayBuffer()));
    return [...hash].map((b) => b.toString(16).padStart(2, '0')).join('');
  }, `${REPO}/main/${path}`.split('/'));
}

describe('Hugging Face hub', () => {
  it('checks licence and size, downloads with progress, resumes by Range after an early end and a cancel, and loads', async () => {
    page = await context.newPage();
    const errors = collectErrors(page);
    await page.goto(APP_URL);
    await gpuReady();
    await checkLicence();

    const load = page.getByRole('button', { name: 'Download and load' });
    await load.click();
    await expect.poll(() => hub.holding, { timeout: 30_000 }).toBe(true);
    const progress = page.getByTestId('progress');
    await expect.poll(() => progress.textContent(), { timeout: 10_000 }).toContain(`downloading ${CUT_FILE}`);
    const fraction = await progress.locator('progress').evaluate((e: HTMLProgressElement) => e.value);
    expect(fraction).toBeCloseTo(CUT_AT / files.get(CUT_FILE)!.length, 3);
    await screenshot(page, 'view-model-hub-progress');
    await progress.getByRole('button', { name: 'Cancel' }).click();
    await progress.waitFor({ state: 'detached' });
    hub.release();

    await load.click();
    await expectLoaded();
    await screenshot(page, 'view-model-hub-loaded');

    const resolves = hub.requests.filter((r) => r.path.includes('/resolve/'));
    const cut = resolves.filter((r) => r.path.endsWith(CUT_FILE)).map((r) => r.range);
    // First try, the automatic resume after the early end, the resume after the cancel.
    expect(cut).toEqual([undefined, `bytes=${CUT_AT}-`, `bytes=${CUT_AT}-`]);
    expect([...new Set(resolves.map((r) => r.path.slice(`/${REPO}/resolve/main/`.length)))].sort()).toEqual(downloaded);
    expect(await cachedSha256(CUT_FILE)).toBe(createHash('sha256').update(files.get(CUT_FILE)!).digest('hex'));
    expect(errors).toEqual([]);
  });

  it('loads the same repo from the OPFS cache with the network off, after a reload', async () => {
    // The service worker must hold the app shell before the reload can go offline.
    await page.evaluate(() => navigator.serviceWorker.ready);
    await expect
      .poll(() => page.evaluate(async () => (await (await caches.open('stencil-diffusion-shell-v1')).keys()).some((r) => /engine-worker/.test(r.url))))
      .toBe(true);
    const before = hub.requests.length;
    await context.setOffline(true);
    hub.offline = true;
    await page.reload();
    await gpuReady();
    await checkLicence();
    await page.getByRole('button', { name: 'Download and load' }).click();
    await expectLoaded();
    expect(hub.requests.slice(before)).toEqual([]);
    await screenshot(page, 'view-model-hub-offline');
  });
});
