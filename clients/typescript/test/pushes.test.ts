/** SeenPushes: a repeated push (same data.push_id) is handled once, across restarts, bounded. */
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { acceptPush, pushIdOf, SeenPushes } from "../src/pushes.js";
import { SqliteStorage } from "../src/storage/sqlite.js";
import { scratchDir } from "./harness.js";

function chat(pushId: string): unknown {
  return {
    data: { kind: "chat", push_id: pushId, conversation_id: "c1" },
    notification: { title: "Anna", body: "Truck at gate 3" },
    collapse_key: "chat:c1",
  };
}

async function opened(file: string): Promise<SqliteStorage> {
  const storage = new SqliteStorage(file);
  await storage.open();
  return storage;
}

describe("SeenPushes", () => {
  test("a repeat is not shown, even after the app restarted in between", async () => {
    const file = join(scratchDir(), "replica.db");
    const first = await opened(file);
    const decision = await acceptPush(new SeenPushes(first), chat("41"));
    expect(decision).toMatchObject({ show: true, pushId: "41", kind: "chat", title: "Anna", tag: "chat:c1" });
    await first.close();

    const again = await opened(file); // the phone was restarted; the second copy arrives later
    const seen = new SeenPushes(again);
    expect((await acceptPush(seen, chat("41"))).show).toBe(false);
    expect((await acceptPush(seen, chat("42"))).show).toBe(true);
    expect(await seen.ids()).toEqual(["41", "42"]);
    await again.close();
  });

  test("two copies handled at the same moment: exactly one is shown", async () => {
    const storage = await opened(join(scratchDir(), "replica.db"));
    const seen = new SeenPushes(storage);
    const shown = await Promise.all([1, 2, 3, 4].map(() => acceptPush(seen, chat("7"))));
    expect(shown.filter((d) => d.show)).toHaveLength(1);
    await storage.close();
  });

  test("bounded: the oldest id is forgotten first", async () => {
    const storage = await opened(join(scratchDir(), "replica.db"));
    const seen = new SeenPushes(storage, { capacity: 3 });
    for (const id of ["1", "2", "3", "4"]) expect(await seen.firstSight(id)).toBe(true);
    expect(await seen.ids()).toEqual(["2", "3", "4"]);
    expect(await seen.has("1")).toBe(false);
    expect(await seen.firstSight("4")).toBe(false);
    expect(() => new SeenPushes(storage, { capacity: 0 })).toThrow(RangeError);
    await storage.close();
  });

  test("a push without an id (or with a bad one) is shown every time; data-only sync pushes carry no title", async () => {
    const storage = await opened(join(scratchDir(), "replica.db"));
    const seen = new SeenPushes(storage);
    expect(pushIdOf({ data: { push_id: "" } })).toBeNull();
    expect(pushIdOf({ data: { push_id: "x".repeat(65) } })).toBeNull();
    expect(pushIdOf("not an object")).toBeNull();
    for (let i = 0; i < 2; i++) expect((await acceptPush(seen, { data: { kind: "alert" } })).show).toBe(true);
    const sync = await acceptPush(seen, { data: { kind: "sync", push_id: "9" } });
    expect(sync).toMatchObject({ show: true, kind: "sync", title: null, body: null, tag: "9" });
    expect(await seen.ids()).toEqual(["9"]);
    await storage.close();
  });
});
