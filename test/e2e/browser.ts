// Debian's Chromium through playwright-core, headless with WebGPU on SwiftShader (never Playwright's
// own browser download).
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const APP_URL = 'http://localhost:4173/';

export function chromiumPath(): string {
  const found = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find(existsSync);
  if (!found) throw new Error('Debian chromium is not installed: run `sudo bash scripts/install-prereqs.sh`');
  return found;
}

export function launch(webgpu = true): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: webgpu ? ['--enable-unsafe-webgpu'] : [] });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync('artifacts', { recursive: true });
  await page.screenshot({ path: `artifacts/${name}.png`, fullPage: true });
}

/** Uncaught page errors, for the test to assert there were none. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}
