/**
 * The whole client in headless Chromium on IndexedDB, against the shared server: sign in, first
 * sync with checksums, an offline mutation shown at once and counted as waiting, pushed once online.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { type BrowserSdk, openBrowserSdk } from "./browser.js";
import { PASSWORD, sharedServerUrl } from "./harness.js";

let sdk: BrowserSdk;
beforeAll(async () => {
  sdk = await openBrowserSdk();
});
afterAll(async () => {
  await sdk?.close();
});

test("a PWA's life in Chromium: first sync into IndexedDB, offline edit, back online", async () => {
  const outcome = (await sdk.page.evaluate(`(async () => {
    const { createClient, IndexedDbStorage } = await import("/sdk.js");
    let offline = false;
    const net = (input, init) => offline ? Promise.reject(new TypeError("offline")) : fetch(input, init);
    const storage = new IndexedDbStorage("browser-e2e");
    const client = createClient({ baseUrl: ${JSON.stringify(sharedServerUrl())}, storage, fetch: net, WebSocket: null, indexes: { product: ["sku"] } });
    const me = await client.signIn("supplier-b", ${JSON.stringify(PASSWORD)});
    const first = await client.sync();
    const products = await client.query("product", {});
    const bySku = await client.query("product", { sku: products[0].sku });
    offline = true;
    await client.mutate("profile.update", { display_name: "Edited in Chromium" });
    const shown = (await client.query("user", { id: me.id }))[0].display_name;
    const waiting = (await client.pending()).waiting;
    const failed = await client.sync().then(() => "synced", (e) => e.name);
    const status = client.status;
    offline = false;
    const second = await client.sync();
    await client.close();
    const reopened = createClient({ baseUrl: ${JSON.stringify(sharedServerUrl())}, storage: new IndexedDbStorage("browser-e2e"), WebSocket: null });
    const kept = (await reopened.query("user", { id: me.id }))[0].display_name;
    const rows = (await reopened.query("product", {})).length;
    await reopened.close();
    return { pulled: first.pulled, repaired: first.repaired, products: products.length, bySku: bySku.length, shown, waiting, failed,
      online: status.online, results: second.results.map((r) => r.status), kept, rows };
  })()`)) as Record<string, unknown>;
  expect(outcome.pulled as number).toBeGreaterThan(100);
  expect(outcome).toMatchObject({
    repaired: [],
    bySku: 1,
    shown: "Edited in Chromium",
    waiting: 1,
    failed: "NetworkError",
    online: false,
    results: ["applied"],
    kept: "Edited in Chromium",
  });
  expect(outcome.rows).toBe(outcome.products);
});
