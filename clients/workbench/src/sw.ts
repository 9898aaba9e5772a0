// The service worker: precaches the shell and every built file, answers navigations under the
// app's scope with the cached shell (so a reload with no network still opens), and serves
// assets cache-first. API calls (outside /app/) are never touched: the SDK owns the network.
// Pushes (FCM web push) arrive here: a repeat of one already handled (same data.push_id, which
// at-least-once delivery can send twice) is dropped; the others are shown and tell open pages.
import { IndexedDbStorage } from "@fieldsync/client/indexeddb";
import { acceptPush, SeenPushes } from "@fieldsync/client/pushes";

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

// The ids of pushes handled, in a database of their own (the page's replica is not opened here).
const PUSH_DB = "fieldsync-workbench-pushes";
let seen: Promise<SeenPushes> | null = null;

function seenPushes(): Promise<SeenPushes> {
  seen ??= (async () => {
    const storage = new IndexedDbStorage(PUSH_DB);
    await storage.open();
    return new SeenPushes(storage);
  })().catch((error: unknown) => {
    seen = null;
    throw error;
  });
  return seen;
}

async function onPush(message: PushMessageData | null): Promise<void> {
  let payload: unknown = null;
  try {
    payload = message?.json() ?? null;
  } catch {
    payload = null; // not JSON: nothing we sent
  }
  const push = await acceptPush(await seenPushes(), payload);
  if (!push.show) return; // a second copy of a push already handled
  const pages = await sw.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const page of pages) page.postMessage({ type: "push", kind: push.kind, pushId: push.pushId });
  if (push.kind === "sync" || (push.title === null && push.body === null)) return; // data-only: the page syncs
  await sw.registration.showNotification(push.title ?? "fieldsync", {
    body: push.body ?? "",
    tag: push.tag ?? "",
    data: push.data,
    icon: `${__BASE__}icons/icon-192.png`,
  });
}

sw.addEventListener("push", (event: PushEvent) => {
  event.waitUntil(onPush(event.data));
});

sw.addEventListener("notificationclick", (event: NotificationEvent) => {
  event.notification.close();
  event.waitUntil(
    sw.clients.matchAll({ type: "window", includeUncontrolled: true }).then((pages) => {
      const open = pages.find((p) => new URL(p.url).pathname.startsWith(__BASE__));
      return open ? open.focus().then(() => undefined) : sw.clients.openWindow(__BASE__).then(() => undefined);
    }),
  );
});
