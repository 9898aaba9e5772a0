/**
 * Auth against a real server with 3-second access tokens: a token that expires while offline,
 * refresh before expiry, one refresh after a 401 and never a loop, a revoked device.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AuthError, FieldsyncHttpError, NetworkError } from "../src/errors.js";
import { eventually, type Phone, signedIn } from "./clients.js";
import { Server } from "./harness.js";

let server: Server;
const phones: Phone[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  server = await Server.start({ settings: { access_token_ttl_s: 3, sync_mutations_per_minute: 5 } });
});

afterAll(async () => {
  for (const p of phones) await p.client.close();
  await server?.stop();
});

async function rep(options = {}): Promise<Phone> {
  const p = await signedIn(server.url, "field-north", { refreshMarginS: 1, ...options });
  phones.push(p);
  return p;
}

describe("auth", () => {
  test("a token that expires while offline: work keeps queuing, and back online one refresh sends it", async () => {
    const { client, net } = await rep();
    await client.sync();
    net.offline = true;
    const expiredAt = client.session!.expiresAt;
    await sleep(Math.max(0, expiredAt - Date.now()) + 300);
    const m = await client.mutate("profile.update", { display_name: "Queued while expired" });
    await expect(client.sync()).rejects.toThrow(/offline/);
    expect((await client.pending()).waiting).toBe(1);
    net.offline = false;
    const before = net.calls.length;
    await client.sync();
    const calls = net.calls.slice(before);
    expect(calls.filter((c) => c.endsWith("/auth/refresh"))).toHaveLength(1);
    expect(calls[0]).toBe("POST /auth/refresh"); // refreshed before it tried the expired token
    expect((await client.result(m.id))?.status).toBe("applied");
    expect(client.session!.expiresAt).toBeGreaterThan(expiredAt);
  });

  test("a 401 refreshes once and retries once", async () => {
    const { client, net, storage, file } = await rep();
    await client.sync();
    // The stored token is damaged: the server answers 401, the SDK refreshes and goes on.
    const session = (await storage.getMeta("session")) as { accessToken: string };
    await storage.setMeta({ session: { ...session, accessToken: "x.y.z", expiresAt: Date.now() + 60_000 } });
    await client.close();
    const again = await reopen(file, net);
    const before = net.calls.length;
    await again.sync();
    const calls = net.calls.slice(before);
    expect(calls.slice(0, 3)).toEqual(["GET /sync/v1/pull", "POST /auth/refresh", "GET /sync/v1/pull"]);
    expect(calls.filter((c) => c.endsWith("/auth/refresh"))).toHaveLength(1);
    expect(calls.filter((c) => c.endsWith("/sync/v1/pull")).length).toBeGreaterThan(0);
    expect(again.status.signedIn).toBe(true);
  });

  test("the started loop refreshes before expiry (no 401 on the way)", async () => {
    const { client, net } = await rep();
    client.start();
    await eventually(() => net.count("/auth/refresh") >= 2, 12_000, "two refreshes");
    client.stop();
    expect(client.status.signedIn).toBe(true);
  });

  test("429 with Retry-After: the rest stays queued and the loop waits as told", async () => {
    const { client, net } = await rep({ pushBatch: 4 });
    await client.sync();
    // The server counts in minute windows aligned to the clock: a burst in a minute's last
    // seconds would be told to wait only a second, or straddle two windows and never be refused.
    const leftInMinute = 60_000 - (Date.now() % 60_000);
    if (leftInMinute < 8_000) await sleep(leftInMinute + 200);
    for (let n = 0; n < 8; n++) await client.mutate("profile.update", { display_name: `Burst ${n}` });
    const error = await client.sync().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(FieldsyncHttpError);
    expect(error).toMatchObject({ status: 429, code: "sync_rate_limited" });
    expect((error as FieldsyncHttpError).retryAfterMs).toBeGreaterThan(1000);
    expect((await client.pending()).waiting).toBe(4);
    const pushes = net.count("/sync/v1/push");
    client.start(); // backoff alone (50 ms base) would knock several times a second
    await sleep(1500);
    client.stop();
    expect(net.count("/sync/v1/push") - pushes).toBeLessThanOrEqual(1);
  });

  test("a revoked device: sync stops with AuthError after one refresh, no loop, the outbox stays", async () => {
    const { client, net, storage } = await rep();
    await client.sync();
    const admin = await server.login("admin");
    await server.api(admin.token, "POST", `/devices/${client.session!.deviceId}/revoke`);
    await client.mutate("profile.update", { display_name: "Never sent" });
    const before = net.calls.length;
    await expect(client.sync()).rejects.toBeInstanceOf(AuthError);
    const first = net.calls.slice(before);
    expect(first.filter((c) => c.endsWith("/auth/refresh")).length).toBeLessThanOrEqual(1);
    expect(first.length).toBeLessThanOrEqual(3);
    expect(client.status.signedIn).toBe(false);
    client.start();
    await sleep(1500);
    client.stop();
    expect(net.calls.length - before).toBe(first.length); // the loop did not knock again
    expect((await storage.outbox()).length).toBe(1);
    await expect(client.sync()).rejects.toBeInstanceOf(AuthError);
  });
});

async function reopen(file: string, net: Phone["net"]) {
  const { createClient } = await import("../src/index.js");
  const { SqliteStorage } = await import("../src/storage/sqlite.js");
  const storage = new SqliteStorage(file);
  const client = createClient({ baseUrl: server.url, storage, fetch: net.fetch, WebSocket: null, refreshMarginS: 0 });
  phones.push({ client, storage, file, net });
  return client;
}

describe("authorised REST calls of the app's own", () => {
  test("request() sends the session's token, decodes JSON, refreshes once after a 401; errors are typed", async () => {
    const { client, net, storage, file } = await rep();
    const token = await client.accessToken();
    expect(token.split(".")).toHaveLength(3);
    const me = await client.request<{ user: { username: string } }>("/me");
    expect(me.user.username).toBe("field-north");
    const page = await client.request<{ items: unknown[] }>("orders", { query: { limit: 1, kind: undefined } });
    expect(Array.isArray(page.items)).toBe(true);
    // A refused call carries the server's code and message.
    const refused = await client.request("/orders", { method: "POST", body: { kind: "barter" } }).then(() => null, (e: unknown) => e);
    expect(refused).toBeInstanceOf(FieldsyncHttpError);
    expect((refused as FieldsyncHttpError).status).toBe(400);
    expect((refused as FieldsyncHttpError).code).toBe("invalid_request");
    // A damaged token: one refresh, one retry.
    const session = (await storage.getMeta("session")) as { accessToken: string };
    await storage.setMeta({ session: { ...session, accessToken: "x.y.z", expiresAt: Date.now() + 60_000 } });
    await client.close();
    const again = await reopen(file, net);
    const before = net.calls.length;
    expect((await again.request<{ user: { username: string } }>("me")).user.username).toBe("field-north");
    expect(net.calls.slice(before)).toEqual(["GET /me", "POST /auth/refresh", "GET /me"]);
    // Offline: a NetworkError, nothing queued.
    net.offline = true;
    await expect(again.request("/me")).rejects.toBeInstanceOf(NetworkError);
    expect((await again.pending()).waiting).toBe(0);
    net.offline = false;
    await again.signOut();
    await expect(again.accessToken()).rejects.toBeInstanceOf(AuthError);
    await expect(again.request("/me")).rejects.toBeInstanceOf(AuthError);
  });
});
