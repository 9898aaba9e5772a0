/**
 * Recovery against a real server: a revoked scope purged, a corrupted row repaired by checksum,
 * compaction → resync_required with unsent work, a seq gap renumbered.
 */
import Database from "better-sqlite3";
import { describe, expect, test } from "vitest";
import { checksumOf } from "../src/checksum.js";
import { serverForFile } from "./clients.js";
import { noisePng } from "./png.js";

const { server: running, member, fieldRep } = serverForFile();

describe("recovery against a real server", () => {
  test("a scope taken away is purged from the replica", async () => {
    const { client, storage } = await fieldRep();
    await client.sync();
    const me = client.session!.user;
    const [route] = await client.query("route_assignment", { user_id: me.id });
    expect(route).toBeDefined();
    const scope = `terminal:${route!.terminal_id}`;
    expect((await storage.scopeRows(scope)).length).toBeGreaterThan(0);
    const admin = await running().login("admin");
    await running().api(admin.token, "DELETE", `/routes/${me.id}/${route!.terminal_id}`);
    const report = await client.sync();
    expect(report.revoked).toContain(scope);
    expect(await storage.scopeRows(scope)).toEqual([]);
    expect((await storage.scopes()).includes(scope)).toBe(false);
  });

  test("a corrupted replica row is found by the checksum and that scope alone is re-synced", async () => {
    const { client, storage, file } = await fieldRep();
    await client.sync();
    const scope = `user:${client.session!.user.id}`;
    const good = checksumOf(await storage.scopeRows(scope));
    const other = (await storage.scopes()).find((s) => s.startsWith("org:"))!;
    const otherCount = (await storage.scopeRows(other)).length;
    // Damage the file behind the SDK's back: one row gone, one row's version wrong.
    const raw = new Database(file);
    const victims = raw.prepare("SELECT entity, id FROM rows WHERE scope = ? AND deleted = 0 LIMIT 2").all(scope) as { entity: string; id: string }[];
    raw.prepare("DELETE FROM rows WHERE scope = ? AND entity = ? AND id = ?").run(scope, victims[0]!.entity, victims[0]!.id);
    raw.prepare("UPDATE rows SET version = version + 7 WHERE scope = ? AND entity = ? AND id = ?").run(scope, victims[1]!.entity, victims[1]!.id);
    raw.close();
    expect(checksumOf(await storage.scopeRows(scope))).not.toEqual(good);
    await client.mutate("profile.update", { display_name: "Repair me" }); // the scope changes: a checksum comes
    const report = await client.sync();
    expect(report.repaired).toEqual([scope]);
    const repaired = checksumOf(await storage.scopeRows(scope));
    expect(repaired.count).toBe(good.count);
    expect(await storage.getRow(scope, victims[0]!.entity, victims[0]!.id)).toBeDefined();
    expect((await storage.scopeRows(other)).length).toBe(otherCount); // not re-sent: only its one changed row
  });

  test("compaction sends resync_required while work waits in the outbox: the outbox survives, then drains", async () => {
    const { client, storage } = await fieldRep({ uploadChunkSize: 64 * 1024 });
    await client.sync();
    const me = client.session!.user;
    const [inspection] = await client.query("inspection", {});
    // A photo upload that stops after its first chunk holds back the attach and what follows.
    client.uploadChunkHook = () => true;
    const photo = await client.uploadPhoto(noisePng(300, 200), {
      filetype: "image/png",
      attach: { recordType: "inspection", recordId: String(inspection?.id ?? "x") },
    });
    await client.mutate("profile.update", { display_name: "Kept through resync" });
    // The world moves on after this phone's last pull, then the history behind it is compacted.
    const colleague = await member("dist-north");
    for (const n of [1, 2, 3]) await colleague.client.mutate("profile.update", { display_name: `Colleague ${n}` });
    await colleague.client.sync();
    running().python(
      "import asyncio\nfrom fieldsync.cli import _settings\nfrom backend.db import make_engine, make_session_factory\n" +
        "from workers.jobs.sync_jobs import compact_change_log\n" +
        "async def main():\n    s = _settings()\n    e = make_engine(s.resolved_database_url)\n" +
        "    print(await compact_change_log(make_session_factory(e), s))\n    await e.dispose()\nasyncio.run(main())\n",
      { sync_compaction_horizon_s: 0 },
    );
    const report = await client.sync();
    expect(report.resyncRequired.length).toBeGreaterThan(0);
    expect(report.pushed).toBe(0);
    const outbox = await storage.outbox();
    expect(outbox.filter((e) => e.state === "pending").map((e) => e.name)).toEqual(["media.attach", "profile.update"]);
    expect((await client.pending()).waiting).toBe(2);
    expect((await client.query("user", { id: me.id }))[0]?.display_name).toBe("Kept through resync");
    expect((await client.uploads())[0]).toMatchObject({ sha256: photo.sha256, state: "pending" });
    expect((await client.uploads())[0]?.url).toMatch(/media\/uploads\//);
    // After the resync the replica equals what a fresh phone pulls.
    const fresh = await fieldRep();
    await fresh.client.sync();
    for (const scope of await fresh.storage.scopes()) {
      if (scope.startsWith("user:")) continue; // the queued rename is shown optimistically, not stored
      expect(checksumOf(await storage.scopeRows(scope))).toEqual(checksumOf(await fresh.storage.scopeRows(scope)));
    }
    // Back to normal: the upload resumes, the attach and the rename go, the outbox drains.
    client.uploadChunkHook = undefined;
    // (an app's loop retries an interrupted upload; so does this test, a few times)
    const uploaded: string[] = [];
    const results: string[][] = [];
    const errors: string[] = [];
    const off = client.on("error", (e) => errors.push(e.message));
    for (let attempt = 0; attempt < 4 && (await client.pending()).waiting > 0; attempt++) {
      const done = await client.sync();
      uploaded.push(...done.uploaded);
      results.push(...done.results.map((r) => [r.name, r.status]));
    }
    off();
    expect(uploaded, errors.join("; ")).toEqual([photo.sha256]);
    expect(results).toEqual([["media.attach", "applied"], ["profile.update", "applied"]]);
    expect((await client.pending()).waiting).toBe(0);
    expect((await client.query("user", { id: me.id }))[0]?.display_name).toBe("Kept through resync");
  });

  test("a seq already taken by another mutation (seq_reused): nothing ran, so it is pushed again at the next seq", async () => {
    const { client, file } = await fieldRep();
    await client.sync();
    await client.mutate("profile.update", { display_name: "First" });
    await client.sync();
    const m = await client.mutate("profile.update", { display_name: "Reused seq" });
    const raw = new Database(file);
    raw.prepare("UPDATE outbox SET seq = seq - 1 WHERE state = 'pending'").run(); // as if restored from an old backup
    raw.close();
    const report = await client.sync();
    expect(report.results.map((r) => [r.id, r.status])).toEqual([[m.id, "applied"]]);
    expect((await client.pending()).waiting).toBe(0);
    expect((await client.query("user", { id: client.session!.user.id }))[0]?.display_name).toBe("Reused seq");
  });

  test("a seq gap the outbox cannot fill is renumbered from expected_seq: nothing wedges, nothing is lost", async () => {
    const { client, file } = await fieldRep();
    await client.sync();
    await client.mutate("profile.update", { display_name: "Before the gap" });
    await client.sync();
    const m = await client.mutate("profile.update", { display_name: "After the gap" });
    const raw = new Database(file);
    raw.prepare("UPDATE outbox SET seq = seq + 5 WHERE state = 'pending'").run(); // as if seqs were lost
    raw.close();
    const report = await client.sync();
    expect(report.results.map((r) => [r.id, r.status])).toEqual([[m.id, "applied"]]);
    expect((await client.pending()).waiting).toBe(0);
    expect((await client.query("user", { id: client.session!.user.id }))[0]?.display_name).toBe("After the gap");
    const next = await client.mutate("profile.update", { display_name: "And on" });
    expect((await client.sync()).results.map((r) => [r.id, r.status])).toEqual([[next.id, "applied"]]);
  });
});
