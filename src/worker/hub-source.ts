// A Hugging Face repo as a DirectorySource: its file list comes from the hub's tree API (kept in the OPFS
// cache so a downloaded model opens offline), and each file is downloaded into the cache when first read.
import type { DirectorySource, FileLike } from '../io/file-source';
import { opfsByteCache } from '../weights/opfs-cache';
import { HubError, hubFile } from '../weights/hub';
import type { ByteCache } from '../weights/byte-cache';
import type { HandlerContext } from './handler-context';
import type { HubRepoInfo } from './messages';

const ENDPOINT = 'https://huggingface.co';
const REVISION = 'main';
const WEIGHTED = ['unet', 'vae', 'text_encoder'];

interface TreeEntry {
  type: 'file' | 'directory';
  path: string;
  size: number;
}

function headers(token?: string): HeadersInit {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function api<T>(url: string, token: string | undefined, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, { headers: headers(token), signal });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new HubError('offline', `cannot reach ${ENDPOINT}: offline or unreachable (${(e as Error).message}); models downloaded before still load offline`);
  }
  if (response.status === 401 || response.status === 403) {
    throw new HubError('gated', `${url}: access denied (HTTP ${response.status}); the repo is gated or private: accept its licence on the hub and add an access token`);
  }
  if (response.status === 404) throw new HubError('not-found', `no such repo on the hub (${url}); check the id, e.g. stable-diffusion-v1-5/stable-diffusion-v1-5`);
  if (!response.ok) throw new HubError('http', `${url}: HTTP ${response.status} ${response.statusText}`);
  return (await response.json()) as T;
}

/** JSON from the hub's API, kept in the cache after the first fetch so that a downloaded model opens offline. */
async function cachedJson<T>(cache: ByteCache, key: string, fetchJson: () => Promise<T>): Promise<T> {
  const cached = await cache.get(key);
  if (cached) return JSON.parse(new TextDecoder().decode(await cached.read(0, cached.size))) as T;
  const value = await fetchJson();
  await cache.write(key, 0, new TextEncoder().encode(JSON.stringify(value)));
  await cache.complete(key);
  return value;
}

async function repoTree(repo: string, token: string | undefined, cache: ByteCache, signal?: AbortSignal): Promise<TreeEntry[]> {
  return cachedJson(cache, `${repo}/${REVISION}/.tree.json`, async () =>
    (await api<TreeEntry[]>(`${ENDPOINT}/api/models/${repo}/tree/${REVISION}?recursive=true`, token, signal)).filter((e) => e.type === 'file'),
  );
}

/** The weight file a load reads for each component: the fp16 variant where the repo has one. */
function filesToDownload(tree: TreeEntry[]): TreeEntry[] {
  const small = tree.filter((e) => e.path === 'model_index.json' || /^(unet|vae|text_encoder|tokenizer|scheduler)\/[^/]+\.(json|txt)$/.test(e.path));
  const weights = WEIGHTED.flatMap((c) => {
    const inFolder = tree.filter((e) => e.path.startsWith(`${c}/`) && e.path.endsWith('.safetensors'));
    const fp16 = inFolder.filter((e) => e.path.includes('.fp16.'));
    return fp16.length ? fp16 : inFolder;
  });
  return [...small, ...weights];
}

export async function hubInfo(repo: string, token: string | undefined, signal: AbortSignal): Promise<HubRepoInfo> {
  const cache = await opfsByteCache();
  // The licence is cached with the file list: offline, a downloaded repo is checked and loaded as before.
  const { license, gated } = await cachedJson(cache, `${repo}/${REVISION}/.model.json`, async () => {
    const model = await api<{ cardData?: { license?: string }; gated?: boolean | string }>(`${ENDPOINT}/api/models/${repo}`, token, signal);
    return { license: model.cardData?.license ?? 'unknown', gated: Boolean(model.gated) };
  });
  const files = filesToDownload(await repoTree(repo, token, cache, signal)).map(({ path, size }) => ({ path, size }));
  return {
    repo,
    license,
    gated,
    files,
    totalBytes: files.reduce((n, f) => n + f.size, 0),
  };
}

export async function hubDirectory(repo: string, token: string | undefined, ctx: HandlerContext): Promise<DirectorySource> {
  const cache = await opfsByteCache();
  const tree = await repoTree(repo, token, cache, ctx.signal);
  const listed = new Map(tree.map((e) => [e.path, e]));
  const download = (path: string): Promise<FileLike> =>
    hubFile(repo, path, {
      cache,
      token,
      revision: REVISION,
      signal: ctx.signal,
      onProgress: ({ loaded, total }) => ctx.progress(loaded, total, `downloading ${path}`),
    });
  const lazy = (entry: TreeEntry): FileLike => ({
    path: entry.path,
    name: entry.path.split('/').pop()!,
    size: entry.size,
    read: async (offset, length) => (await download(entry.path)).read(offset, length),
    blob: async () => (await download(entry.path)).blob(),
  });
  return {
    name: repo,
    files: async () => tree.map(lazy),
    file: async (path) => (listed.has(path) ? download(path) : undefined),
  };
}
