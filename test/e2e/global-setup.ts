// Serves the built app (dist/) with the production COOP/COEP headers for the browser specs.
import { existsSync } from 'node:fs';
import { preview, type PreviewServer } from 'vite';

let server: PreviewServer | undefined;

export async function setup() {
  if (!existsSync('dist/index.html')) throw new Error('dist/ is missing: run `npx vite build` first (npm test does)');
  server = await preview({ preview: { port: 4173, strictPort: true }, logLevel: 'warn' });
}

export async function teardown() {
  await server?.close();
}
