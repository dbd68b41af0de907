// Hugging Face hub downloads: {endpoint}/{repo}/resolve/{revision}/{path}, into a ByteCache, with byte progress,
// resume by HTTP Range from whatever a previous attempt left, and errors that say what to do.
import type { FileLike } from '../io/file-source';
import type { ByteCache } from './byte-cache';

export interface HubOptions {
  cache: ByteCache;
  /** Default https://huggingface.co; a mirror works the same way. */
  endpoint?: string;
  revision?: string;
  /** Access token for gated repos (sent as a Bearer token). */
  token?: string;
  onProgress?: (progress: { path: string; loaded: number; total: number }) => void;
  /** Automatic resumes after a dropped connection before giving up (default 3). */
  retries?: number;
  signal?: AbortSignal;
}

export type HubErrorKind = 'offline' | 'not-found' | 'gated' | 'quota' | 'interrupted' | 'http';

export class HubError extends Error {
  constructor(
    readonly kind: HubErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

// Network chunks are gathered into writes of this size: fewer, larger cache writes.
const WRITE_BATCH_BYTES = 16 * 1024 * 1024;

export function hubUrl(endpoint: string, repo: string, revision: string, path: string): string {
  const encoded = path.split('/').map(encodeURIComponent).join('/');
  return `${endpoint.replace(/\/+$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}/${encoded}`;
}

/** The file from the cache, downloading (or finishing) it first when needed. */
export async function hubFile(repo: string, path: string, options: HubOptions): Promise<FileLike> {
  const revision = options.revision ?? 'main';
  const key = `${repo}/${revision}/${path}`;
  const cached = await options.cache.get(key);
  if (cached) return cached;
  const retries = options.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    try {
      await download(repo, revision, path, key, options);
      break;
    } catch (e) {
      if (!(e instanceof HubError && e.kind === 'interrupted') || attempt >= retries) throw e;
    }
  }
  await options.cache.complete(key);
  return (await options.cache.get(key))!;
}

async function download(repo: string, revision: string, path: string, key: string, options: HubOptions): Promise<void> {
  const url = hubUrl(options.endpoint ?? 'https://huggingface.co', repo, revision, path);
  const have = await options.cache.size(key);
  const headers: Record<string, string> = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (have > 0) headers.Range = `bytes=${have}-`;
  let response: Response;
  try {
    response = await fetch(url, { headers, signal: options.signal });
  } catch (e) {
    if (options.signal?.aborted) throw e;
    throw new HubError('offline', `cannot reach ${url}: offline or the host is unreachable (${(e as Error).message}); files already downloaded still work offline`);
  }
  if (response.status === 416 && have > 0) {
    // Our partial entry is not a prefix of this file (it changed upstream): start again from byte 0.
    await response.body?.cancel();
    return downloadFrom(0, url, path, key, options, await fetch(url, { headers: omitRange(headers), signal: options.signal }));
  }
  return downloadFrom(response.status === 206 ? have : 0, url, path, key, options, response);
}

function omitRange(headers: Record<string, string>): Record<string, string> {
  const { Range: _, ...rest } = headers;
  return rest;
}

async function downloadFrom(offset: number, url: string, path: string, key: string, options: HubOptions, response: Response): Promise<void> {
  checkStatus(response, url, path);
  const total = totalSize(response, offset);
  const body = response.body;
  if (!body) throw new HubError('http', `${url}: the response has no body`);
  const reader = body.getReader();
  let loaded = offset;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    const batch = new Uint8Array(pendingBytes);
    let at = 0;
    for (const p of pending) {
      batch.set(p, at);
      at += p.length;
    }
    try {
      await options.cache.write(key, loaded - pendingBytes, batch);
    } catch (e) {
      throw quotaOrRethrow(e, path, total);
    }
    pending = [];
    pendingBytes = 0;
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      pending.push(value);
      pendingBytes += value.length;
      loaded += value.length;
      options.onProgress?.({ path, loaded, total });
      if (pendingBytes >= WRITE_BATCH_BYTES) await flush();
    }
  } catch (e) {
    if (e instanceof HubError || options.signal?.aborted) throw e;
    await flush();
    throw new HubError('interrupted', `${url}: download interrupted at ${loaded} of ${total} bytes (${(e as Error).message}); it resumes from there`);
  }
  await flush();
  if (total >= 0 && loaded !== total) {
    throw new HubError('interrupted', `${url}: download stopped at ${loaded} of ${total} bytes; it resumes from there`);
  }
}

function checkStatus(response: Response, url: string, path: string): void {
  if (response.ok) return;
  const repoUrl = url.slice(0, url.indexOf('/resolve/'));
  if (response.status === 401 || response.status === 403) {
    throw new HubError('gated', `${path}: access denied (HTTP ${response.status}). The repository is gated or private: accept its licence at ${repoUrl} and add a Hugging Face access token`);
  }
  if (response.status === 404) throw new HubError('not-found', `${url}: not found (HTTP 404); check the repository id, revision and file name`);
  throw new HubError('http', `${url}: HTTP ${response.status} ${response.statusText}`);
}

/** The whole file's size: from Content-Range on a 206, else offset + Content-Length; -1 when unknown. */
function totalSize(response: Response, offset: number): number {
  const range = /\/(\d+)$/.exec(response.headers.get('content-range') ?? '');
  if (range) return Number(range[1]);
  const length = response.headers.get('content-length');
  return length === null ? -1 : offset + Number(length);
}

function quotaOrRethrow(e: unknown, path: string, total: number): unknown {
  const name = (e as { name?: string }).name;
  const code = (e as { code?: string }).code;
  if (name === 'QuotaExceededError' || code === 'ENOSPC') {
    return new HubError('quota', `${path}: storage is full (the file needs ${total} bytes); free space or allow persistent storage, then retry to resume`);
  }
  return e;
}
