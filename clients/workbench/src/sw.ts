// The service worker: precaches the shell and every built file, answers navigations under the
// app's scope with the cached shell (so a reload with no network still opens), and serves
// assets cache-first. API calls (outside /app/) are never touched: the SDK owns the network.

declare const __PRECACHE__: string[];
declare const __VERSION__: string;
declare const __BASE__: string;
const sw = self as unknown as ServiceWorkerGlobalScope;

const CACHE = `fieldsync-app-${__VERSION__}`;

sw.addEventListener("install", (event: ExtendableEvent) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(__PRECACHE__.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener("activate", (event: ExtendableEvent) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("fieldsync-app-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener("fetch", (event: FetchEvent) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== sw.location.origin || !url.pathname.startsWith(__BASE__)) return;
  if (request.mode === "navigate") {
    // Every page of the app is the one shell; the router reads the path.
    event.respondWith(
      caches.match(__BASE__, { cacheName: CACHE }).then((hit) => hit ?? fetch(request)),
    );
    return;
  }
  event.respondWith(
    caches.match(request, { cacheName: CACHE, ignoreSearch: true }).then((hit) => hit ?? fetch(request)),
  );
});

sw.addEventListener("message", (event: ExtendableMessageEvent) => {
  if (event.data === "version") event.source?.postMessage({ version: __VERSION__ });
});
