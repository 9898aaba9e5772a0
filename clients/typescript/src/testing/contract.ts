/**
 * The storage-adapter contract suite: every adapter (SQLite in Node, IndexedDB in Chromium, yours)
 * runs these same cases. Framework-free (it throws on failure), so it runs in a browser page as
 * well as under vitest:
 *
 *     for (const c of contractCases) test(c.name, () => c.run(target));
 *
 * `target.create()` gives an open adapter on a new, empty store; `target.reopen(a)` closes `a`
 * and opens a new adapter on the same store (persistence).
 */
import type { ChangeIn, StorageAdapter, StoredResult, UploadRecord } from "../storage/adapter.js";
import { indexKey } from "../storage/adapter.js";

export interface ContractTarget {
  create(): Promise<StorageAdapter>;
  reopen(adapter: StorageAdapter): Promise<StorageAdapter>;
}

export interface ContractCase {
  name: string;
  run(target: ContractTarget): Promise<void>;
}

function fail(message: string): never {
  throw new Error(message);
}

function eq(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) fail(`${what}: expected ${e}, got ${a}`);
}

function change(over: Partial<ChangeIn> & { id: string }): ChangeIn {
  const base: ChangeIn = { scope: "org:1", entity: "order", id: over.id, op: "upsert", version: 1, data: { id: over.id }, keys: [] };
  return { ...base, ...over };
}

function result(id: string, seq: number, status = "applied"): StoredResult {
  return { id, seq, name: "profile.update", status, code: null, message: null, data: { version: seq }, at: "2026-01-01T00:00:00Z" };
}

async function put(a: StorageAdapter, ...changes: ChangeIn[]): Promise<void> {
  await a.applyPage({ purge: [], changes, meta: {} });
}

async function version(a: StorageAdapter, id: string, scope = "org:1"): Promise<[number, boolean] | null> {
  const row = await a.getRow(scope, "order", id);
  return row === undefined ? null : [row.version, row.deleted];
}

async function mutation(a: StorageAdapter, id: string) {
  return a.appendMutation({ id, name: "profile.update", args: { display_name: id }, clientTime: "2026-01-01T00:00:00Z", afterUpload: null });
}

export const contractCases: ContractCase[] = [
  {
    name: "meta: set, read back, delete with null, several keys atomically",
    async run(t) {
      const a = await t.create();
      eq(await a.getMeta("cursor"), undefined, "missing key");
      await a.setMeta({ cursor: "abc", n: 3, obj: { x: [1, 2] } });
      eq([await a.getMeta("cursor"), await a.getMeta("n"), await a.getMeta("obj")], ["abc", 3, { x: [1, 2] }], "values");
      await a.setMeta({ cursor: null });
      eq(await a.getMeta("cursor"), undefined, "deleted");
      await a.close();
    },
  },
  {
    name: "version rule: upserts move forward, equal versions re-apply, tombstones win their version",
    async run(t) {
      const a = await t.create();
      await put(a, change({ id: "a", version: 2, data: { id: "a", v: 2 } }));
      await put(a, change({ id: "a", version: 1, data: { id: "a", v: 1 } }));
      eq(await version(a, "a"), [2, false], "older upsert ignored");
      await put(a, change({ id: "a", version: 2, data: { id: "a", v: "2b" } }));
      eq((await a.getRow("org:1", "order", "a"))?.data, { id: "a", v: "2b" }, "equal version applies");
      await put(a, change({ id: "a", op: "delete", version: 1 }));
      eq(await version(a, "a"), [2, false], "older delete ignored");
      await put(a, change({ id: "a", op: "delete", version: 2 }));
      eq(await version(a, "a"), [2, true], "delete of the same version applies");
      eq((await a.getRow("org:1", "order", "a"))?.data, null, "tombstone has no data");
      await put(a, change({ id: "a", version: 2 }));
      eq(await version(a, "a"), [2, true], "upsert of the tombstone's version ignored");
      await put(a, change({ id: "a", version: 3 }));
      eq(await version(a, "a"), [3, false], "newer upsert resurrects");
      await put(a, change({ id: "b", op: "delete", version: 5 }));
      eq(await version(a, "b"), [5, true], "delete of an unknown row is kept as a tombstone");
      eq((await a.rows("order")).map((r) => r.id), ["a"], "tombstones are not live rows");
      await a.close();
    },
  },
  {
    name: "one page that changes a row twice ends at the highest version, in any order",
    async run(t) {
      const a = await t.create();
      await put(a, change({ id: "x", version: 3, data: { id: "x", v: 3 } }), change({ id: "x", version: 2, data: { id: "x", v: 2 } }));
      eq((await a.getRow("org:1", "order", "x"))?.data, { id: "x", v: 3 }, "v3 then v2");
      await put(a, change({ id: "y", version: 1 }), change({ id: "y", op: "delete", version: 2 }), change({ id: "y", version: 2 }));
      eq(await version(a, "y"), [2, true], "upsert, delete, stale upsert");
      await a.close();
    },
  },
  {
    name: "purge drops one scope's rows and tombstones, in the same transaction as the page and its cursor",
    async run(t) {
      const a = await t.create();
      await put(a, change({ id: "1", scope: "org:1" }), change({ id: "2", scope: "org:2" }), change({ id: "3", scope: "org:1", op: "delete", version: 4 }));
      await a.applyPage({ purge: ["org:1"], changes: [change({ id: "9", scope: "org:1", version: 1 })], meta: { cursor: "c2" } });
      eq((await a.scopeRows("org:1")).map((r) => r.id), ["9"], "org:1 holds only the new page");
      eq(await a.getRow("org:1", "order", "3"), undefined, "tombstone purged");
      eq((await a.scopeRows("org:2")).map((r) => r.id), ["2"], "org:2 untouched");
      eq(await a.getMeta("cursor"), "c2", "cursor written");
      eq((await a.scopes()).sort(), ["org:1", "org:2"], "scopes");
      await a.close();
    },
  },
  {
    name: "a page that fails half-way writes nothing, not even its cursor",
    async run(t) {
      const a = await t.create();
      await a.setMeta({ cursor: "before" });
      let failed = false;
      try {
        await a.applyPage({
          purge: [],
          changes: [change({ id: "ok" }), { ...change({ id: "bad" }), id: undefined as unknown as string }],
          meta: { cursor: "after" },
        });
      } catch {
        failed = true;
      }
      if (!failed) fail("a change without an id must make applyPage fail");
      eq(await a.getMeta("cursor"), "before", "cursor unchanged");
      eq(await a.getRow("org:1", "order", "ok"), undefined, "no row of the failed page");
      await a.close();
    },
  },
  {
    name: "index keys: rows(entity, key) finds exactly the rows carrying the key, and follows updates",
    async run(t) {
      const a = await t.create();
      const k = (v: string) => indexKey("order", "state", v);
      await put(
        a,
        change({ id: "1", data: { id: "1", state: "draft" }, keys: [k("draft")] }),
        change({ id: "2", data: { id: "2", state: "sent" }, keys: [k("sent")] }),
        change({ id: "3", scope: "org:2", data: { id: "3", state: "draft" }, keys: [k("draft")] }),
        change({ id: "4", entity: "price", data: { id: "4", state: "draft" }, keys: [indexKey("price", "state", "draft")] }),
      );
      eq((await a.rows("order", k("draft"))).map((r) => r.id).sort(), ["1", "3"], "draft orders");
      await put(a, change({ id: "1", version: 2, data: { id: "1", state: "sent" }, keys: [k("sent")] }));
      eq((await a.rows("order", k("draft"))).map((r) => r.id), ["3"], "old key gone after an update");
      eq((await a.rows("order", k("sent"))).map((r) => r.id).sort(), ["1", "2"], "new key");
      await put(a, change({ id: "2", op: "delete", version: 2 }));
      eq((await a.rows("order", k("sent"))).map((r) => r.id), ["1"], "tombstone leaves the index");
      eq((await a.rows("order")).length, 2, "all live orders");
      eq((await a.rows("order", k("draft")))[0]?.keys, [k("draft")], "keys read back");
      await a.close();
    },
  },
  {
    name: "outbox: gapless seqs from 1, kept across a reopen, in order",
    async run(t) {
      let a = await t.create();
      const first = await mutation(a, "m1");
      const second = await mutation(a, "m2");
      eq([first.seq, second.seq, first.state], [1, 2, "pending"], "seqs");
      a = await t.reopen(a);
      const third = await mutation(a, "m3");
      eq(third.seq, 3, "seq after reopen");
      eq((await a.outbox()).map((e) => [e.seq, e.id, e.name, e.state]), [[1, "m1", "profile.update", "pending"], [2, "m2", "profile.update", "pending"], [3, "m3", "profile.update", "pending"]], "outbox");
      eq((await a.outbox())[0]?.args, { display_name: "m1" }, "args");
      await Promise.all([mutation(a, "c1"), mutation(a, "c2"), mutation(a, "c3")]);
      eq((await a.outbox()).map((e) => e.seq), [1, 2, 3, 4, 5, 6], "concurrent appends stay gapless");
      await a.close();
    },
  },
  {
    name: "acknowledge stores results, keeps applied ones as acked, drops the rest; dropAcked follows last_applied_seq",
    async run(t) {
      let a = await t.create();
      for (const id of ["m1", "m2", "m3", "m4"]) await mutation(a, id);
      await a.acknowledge([result("m1", 1), result("m2", 2, "rejected"), result("m3", 3)], ["m2"]);
      eq((await a.outbox()).map((e) => [e.id, e.state]), [["m1", "acked"], ["m3", "acked"], ["m4", "pending"]], "states");
      eq((await a.result("m2"))?.status, "rejected", "rejected result kept");
      eq((await a.results()).map((r) => r.id), ["m1", "m2", "m3"], "results in seq order");
      await a.dropAcked(1);
      eq((await a.outbox()).map((e) => e.id), ["m3", "m4"], "acked up to 1 dropped");
      a = await t.reopen(a);
      await a.dropAcked(10);
      eq((await a.outbox()).map((e) => e.id), ["m4"], "pending never dropped by dropAcked");
      eq((await a.result("m1"))?.data, { version: 1 }, "result data after reopen");
      await a.close();
    },
  },
  {
    name: "resequence renumbers pending entries from a new start and moves next_seq",
    async run(t) {
      const a = await t.create();
      for (const id of ["m1", "m2", "m3", "m4"]) await mutation(a, id);
      await a.acknowledge([result("m1", 1)], []);
      await a.resequence(2);
      eq((await a.outbox()).map((e) => [e.seq, e.id]), [[1, "m1"], [2, "m2"], [3, "m3"], [4, "m4"]], "no-op renumbering");
      await a.resequence(1);
      eq((await a.outbox()).map((e) => [e.seq, e.id, e.state]), [[1, "m2", "pending"], [2, "m3", "pending"], [3, "m4", "pending"]], "renumbered from 1");
      eq((await mutation(a, "m5")).seq, 4, "next seq follows");
      await a.close();
    },
  },
  {
    name: "uploads: the first record of a sha256 wins, updates persist, bytes come back intact",
    async run(t) {
      let a = await t.create();
      const bytes = new Uint8Array(70_000).map((_v, i) => (i * 7) % 256);
      const record: UploadRecord = { sha256: "a".repeat(64), bytes, filetype: "image/png", url: null, state: "pending", code: null, createdAt: "2026-01-01T00:00:00Z" };
      await a.putUpload(record);
      const again = await a.putUpload({ ...record, filetype: "image/jpeg" });
      eq(again.filetype, "image/png", "first wins");
      await a.updateUpload(record.sha256, { url: "http://x/media/uploads/1" });
      a = await t.reopen(a);
      const stored = await a.getUpload(record.sha256);
      eq([stored?.url, stored?.state, stored?.bytes.byteLength], ["http://x/media/uploads/1", "pending", 70_000], "stored");
      eq(Array.from(stored!.bytes.slice(0, 20)), Array.from(bytes.slice(0, 20)), "bytes");
      await a.updateUpload(record.sha256, { state: "refused", code: "not_an_image" });
      eq((await a.uploads()).map((u) => [u.state, u.code]), [["refused", "not_an_image"]], "list");
      await a.close();
    },
  },
  {
    name: "purgeAll leaves nothing behind",
    async run(t) {
      const a = await t.create();
      await put(a, change({ id: "1" }));
      await mutation(a, "m1");
      await a.setMeta({ cursor: "c" });
      await a.putUpload({ sha256: "b".repeat(64), bytes: new Uint8Array([1]), filetype: "image/png", url: null, state: "pending", code: null, createdAt: "2026-01-01T00:00:00Z" });
      await a.purgeAll();
      eq([await a.scopes(), await a.outbox(), await a.results(), await a.uploads(), await a.getMeta("cursor")], [[], [], [], [], undefined], "empty");
      eq((await mutation(a, "m2")).seq, 1, "seqs start again");
      await a.close();
    },
  },
];
