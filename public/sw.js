// Offline use: the app shell and its assets are cached as they are fetched, so after the first visit the
// app opens without a network. Pages are network-first (a new build wins when online); hashed assets are
// cache-first. Cached responses keep their COOP/COEP headers, so the page stays cross-origin isolated.
const CACHE = 'stencil-diffusion-shell-v1';

/** Built chunks a script names (the main bundle names the engine worker, the worker its lazy chunks). */
function chunksNamedIn(text) {
  return [...text.matchAll(/(?:assets\/|\.\/)([\w-]+(?:\.[\w-]+)*\.(?:js|css|wasm))/g)].map((m) => `/assets/${m[1]}`);
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      const page = await fetch('/', { cache: 'no-cache' });
      const html = await page.clone().text();
      await cache.put('/', page);
      // What index.html names, the chunks those scripts name (two levels reach the worker's chunks), and
      // the tables the dataset scanner reads.
      const seen = new Set(['/favicon.svg', '/imagenet-synsets.tsv', '/imagenet-clip-classnames.tsv']);
      let next = [...html.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]);
      for (let level = 0; level < 3 && next.length; level++) {
        const found = [];
        for (const url of next.filter((u) => !seen.has(u))) {
          seen.add(url);
          const response = await fetch(url);
          if (!response.ok) continue;
          await cache.put(url, response.clone());
          if (url.endsWith('.js')) found.push(...chunksNamedIn(await response.text()));
        }
        next = found;
      }
      await cache.addAll(['/favicon.svg', '/imagenet-synsets.tsv', '/imagenet-clip-classnames.tsv']);
    })(),
  );
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
      await self.clients.claim();
    })(),
  );
});

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put('/', response.clone());
    return response;
  } catch {
    return (await cache.match('/', { ignoreVary: true })) || Response.error();
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  // The page asks with CORS (crossorigin, module workers); the install step fetched without: ignore Vary.
  const hit = await cache.match(request, { ignoreVary: true });
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok && response.type === 'basic') await cache.put(request, response.clone());
  return response;
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  event.respondWith(request.mode === 'navigate' ? networkFirst(request) : cacheFirst(request));
});
