import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ByteCache } from '../../src/weights/byte-cache';
import { HubError, hubFile } from '../../src/weights/hub';
import { nodeByteCache } from '../../src/weights/node-cache';

const FILE = randomBytes(3 * 1024 * 1024 + 17);
const GATED_TOKEN = 'hf_test_token';
let server: Server;
let endpoint: string;
let root: string;
/** Drop the connection after this many body bytes on the next full or ranged response (once). */
let dropAfter: number | undefined;
let ranges: (string | undefined)[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '';
    ranges.push(req.headers.range);
    if (url.startsWith('/org/gated/') && req.headers.authorization !== `Bearer ${GATED_TOKEN}`) {
      res.writeHead(401).end('gated');
      return;
    }
    if (!/^\/org\/(repo|gated)\/resolve\/main\/unet\/model\.safetensors$/.test(url)) {
      res.writeHead(404).end('not found');
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const body = FILE.subarray(start);
    res.writeHead(m ? 206 : 200, {
      'content-length': body.length,
      ...(m ? { 'content-range': `bytes ${start}-${FILE.length - 1}/${FILE.length}` } : {}),
    });
    if (dropAfter !== undefined) {
      const cut = dropAfter;
      dropAfter = undefined;
      res.write(body.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'hub-cache-'));
  dropAfter = undefined;
  ranges = [];
  return () => rm(root, { recursive: true, force: true });
});

async function hubError(promise: Promise<unknown>): Promise<HubError> {
  const e = await promise.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(HubError);
  return e as HubError;
}

describe('hub download', () => {
  it('downloads into the cache with byte progress, then serves the cached file without the network', async () => {
    const cache = nodeByteCache(root);
    const seen: number[] = [];
    const file = await hubFile('org/repo', 'unet/model.safetensors', { endpoint, cache, onProgress: (p) => seen.push(p.loaded) });
    expect(Buffer.from(await file.read(0, file.size)).equals(FILE)).toBe(true);
    expect(seen[seen.length - 1]).toBe(FILE.length);
    expect(seen.every((v, i) => i === 0 || v >= seen[i - 1])).toBe(true);
    const again = await hubFile('org/repo', 'unet/model.safetensors', { endpoint: 'http://127.0.0.1:9', cache });
    expect(again.size).toBe(FILE.length);
    expect((await readFile(join(root, 'org/repo/main/unet/model.safetensors'))).equals(FILE)).toBe(true);
  });

  it('resumes with a Range request after the connection drops mid-file, giving the exact bytes', async () => {
    const cache = nodeByteCache(root);
    dropAfter = 1024 * 1024 + 5;
    const interrupted = await hubError(hubFile('org/repo', 'unet/model.safetensors', { endpoint, cache, retries: 0 }));
    expect(interrupted.kind).toBe('interrupted');
    const partial = await cache.size('org/repo/main/unet/model.safetensors');
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(FILE.length);
    expect(await cache.get('org/repo/main/unet/model.safetensors')).toBeUndefined();

    const file = await hubFile('org/repo', 'unet/model.safetensors', { endpoint, cache });
    expect(ranges[ranges.length - 1]).toBe(`bytes=${partial}-`);
    expect(Buffer.from(await file.read(0, file.size)).equals(FILE)).toBe(true);
  });

  it('resumes automatically within one call when retries are allowed', async () => {
    dropAfter = 200_000;
    const file = await hubFile('org/repo', 'unet/model.safetensors', { endpoint, cache: nodeByteCache(root) });
    expect(ranges).toHaveLength(2);
    expect(ranges[1]).toMatch(/^bytes=\d+-$/);
    expect(Buffer.from(await file.read(0, file.size)).equals(FILE)).toBe(true);
  });

  it('says what went wrong: 404, gated without a token, offline, storage full', async () => {
    const cache = nodeByteCache(root);
    expect((await hubError(hubFile('org/repo', 'unet/missing.safetensors', { endpoint, cache }))).kind).toBe('not-found');
    const gated = await hubError(hubFile('org/gated', 'unet/model.safetensors', { endpoint, cache }));
    expect(gated.kind).toBe('gated');
    expect(gated.message).toMatch(/access token/);
    const withToken = await hubFile('org/gated', 'unet/model.safetensors', { endpoint, cache, token: GATED_TOKEN });
    expect(withToken.size).toBe(FILE.length);
    const offline = await hubError(hubFile('org/repo', 'unet/model.safetensors', { endpoint: 'http://127.0.0.1:9', cache: nodeByteCache(join(root, 'other')) }));
    expect(offline.kind).toBe('offline');
    const full: ByteCache = {
      ...nodeByteCache(join(root, 'full')),
      write: async () => {
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      },
    };
    expect((await hubError(hubFile('org/repo', 'unet/model.safetensors', { endpoint, cache: full }))).kind).toBe('quota');
  });
});
