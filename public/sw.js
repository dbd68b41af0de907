// Offline use: the app shell and its assets are cached as they are fetched, so after the first visit the
// app opens without a network. Pages are network-first (a new build wins when online); hashed assets are
// cache-first. Cached responses keep their COOP/COEP headers, so the page stays cross-origin isolated.
const CACHE = 'stencil-diffusion-shell-v1';

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      const page = await fetch('/', { cache: 'no-cache' });
      const html = await page.clone().text();
      await cache.put('/', page);
      // The scripts and styles index.html names; the rest (the engine worker chunk) is cached when fetched.
      const assets = [...html.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]);
      await cache.addAll(assets);
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

/** The page sends the URLs it loaded before this worker took control, so they work offline too. */
self.addEventListener('message', (event) => {
  const urls = event.data?.cacheUrls;
  if (!Array.isArray(urls)) return;
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      Promise.all(urls.filter((u) => new URL(u).origin === self.location.origin).map((u) => cache.match(u).then((hit) => hit || cache.add(u)))),
    ),
  );
});

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put('/', response.clone());
    return response;
  } catch {
    return (await cache.match('/')) || Response.error();
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request);
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
