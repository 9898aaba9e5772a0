/**
 * The SDK against a real server: first sync, queries, offline mutations with optimistic effects,
 * results, lost replies, watch, sign-out.
 */
import { describe, expect, test } from "vitest";
import { UnsentWorkError } from "../src/errors.js";
import { eventually, serverForFile } from "./clients.js";

const { fieldRep } = serverForFile();

describe("sync against a real server", () => {
  test("first sync pulls the rep's world, checksums agree, queries use the index", async () => {
    const { client, storage } = await fieldRep();
    const report = await client.sync();
    expect(report.pulled).toBeGreaterThan(1000);
    expect(report.repaired).toEqual([]);
    const scopes = await storage.scopes();
    expect(scopes.some((s) => s.startsWith("org:"))).toBe(true);
    expect(scopes.some((s) => s.startsWith("terminal:"))).toBe(true);
    const me = client.session!.user;
    const [user] = await client.query("user", { id: me.id });
    expect(user?.username).toBe("field-north");
    const levels = await client.query("stock_level", {});
    const some = levels.find((l) => l.terminal_id != null)!;
    const byIndex = await client.query("stock_level", { terminal_id: some.terminal_id, product_id: some.product_id });
    expect(byIndex.map((l) => l.id)).toContain(some.id);
    expect(byIndex.every((l) => l.terminal_id === some.terminal_id)).toBe(true);
    expect(client.status.lastSyncedAt).not.toBeNull();
  });

  test("offline: mutations queue with gapless seqs, show at once, and are applied once online; a rejection says why", async () => {
    const { client, net } = await fieldRep();
    await client.sync();
    net.offline = true;
    const me = client.session!.user;
    const a = await client.mutate("profile.update", { display_name: "Offline A" });
    const b = await client.mutate("order.submit", { order_id: "no-such-order" });
    const c = await client.mutate("profile.update", { display_name: "Offline C" });
    expect([a.seq + 1, a.seq + 2]).toEqual([b.seq, c.seq]);
    expect((await client.query("user", { id: me.id }))[0]?.display_name).toBe("Offline C");
    expect((await client.pending()).waiting).toBe(3);
    await expect(client.sync()).rejects.toThrow(/offline/);
    expect(client.status.online).toBe(false);
    net.offline = false;
    const report = await client.sync();
    expect(report.results.map((r) => r.status)).toEqual(["applied", "rejected", "applied"]);
    const rejected = await client.result(b.id);
    expect(rejected).toMatchObject({ status: "rejected", code: "order_not_found" });
    expect(rejected?.message).toBeTruthy();
    expect((await client.pending()).waiting).toBe(0);
    expect((await client.query("user", { id: me.id }))[0]?.display_name).toBe("Offline C");
    expect(client.status).toMatchObject({ online: true, waiting: 0, error: null });
  });

  test("a lost push reply is retried and answered duplicate: nothing applies twice", async () => {
    const { client, net } = await fieldRep();
    await client.sync();
    const before = (await client.query("user", { id: client.session!.user.id }))[0]!.version as number;
    await client.mutate("profile.update", { display_name: "Once 1" });
    await client.mutate("profile.update", { display_name: "Once 2" });
    net.loseReplies = 1;
    await expect(client.sync()).rejects.toThrow();
    expect((await client.pending()).waiting).toBe(2);
    const report = await client.sync();
    expect(report.results.map((r) => r.status)).toEqual(["applied", "applied"]); // duplicates of applied ones
    const after = (await client.query("user", { id: client.session!.user.id }))[0]!;
    expect(after.version).toBe(before + 2);
    expect(after.display_name).toBe("Once 2");
  });

  test("watch re-emits on a local mutation and on the server's answer", async () => {
    const { client } = await fieldRep();
    await client.sync();
    const me = client.session!.user;
    const seen: string[] = [];
    const off = client.watch("user", { id: me.id }, (rows) => seen.push(String(rows[0]?.display_name)));
    await eventually(() => seen.length === 1, 5000, "first emission");
    await client.mutate("profile.update", { display_name: "Watched" });
    await eventually(() => seen.includes("Watched"), 5000, "optimistic emission");
    await client.sync();
    off();
    expect(seen.at(-1)).toBe("Watched");
  });

  test("sign-out warns about unsent work, then purges everything", async () => {
    const { client, storage, net } = await fieldRep();
    await client.sync();
    net.offline = true;
    await client.mutate("profile.update", { display_name: "Unsent" });
    await expect(client.signOut()).rejects.toBeInstanceOf(UnsentWorkError);
    expect((await storage.outbox()).length).toBe(1);
    await client.signOut({ force: true });
    expect(await storage.scopes()).toEqual([]);
    expect(await storage.outbox()).toEqual([]);
    expect(client.session).toBeNull();
    expect(client.status.signedIn).toBe(false);
  });
});
