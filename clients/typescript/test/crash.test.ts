/**
 * The server killed with `kill -9` between commit and reply (tests/sync/servers/crashing_server.py
 * blocks after committing a push, so no reply can leave): the SDK keeps the mutations, retries
 * against the restarted server on the same port and database, and gets duplicates — nothing twice.
 */
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { NetworkError } from "../src/errors.js";
import { eventually, signedIn } from "./clients.js";
import { freshDatabase, REPO, Server } from "./harness.js";

test("kill -9 between commit and reply: the retry gets duplicates, each mutation applied exactly once", { timeout: 150_000 }, async () => {
  const t0 = Date.now();
  const phase = (what: string) => process.stderr.write(`crash test: ${what} at ${Date.now() - t0} ms\n`);
  const database = await freshDatabase();
  const markers = mkdtempSync(join(tmpdir(), "fieldsync-crash-"));
  const crashy = await Server.start({ database, script: join(REPO, "tests/sync/servers/crashing_server.py"), args: [markers] });
  phase("crashing server up");
  let calm: Server | null = null;
  const { client, storage } = await signedIn(crashy.url, "field-north");
  try {
    await client.sync();
    const me = client.session!.user;
    const before = (await client.query("user", { id: me.id }))[0]!.version as number;
    const ids: string[] = [];
    for (const n of [0, 1, 2]) ids.push((await client.mutate("profile.update", { display_name: `Name ${n}` })).id);
    writeFileSync(join(markers, "arm"), "1");
    const push = client.sync();
    push.catch(() => undefined);
    await eventually(() => existsSync(join(markers, "committed")), 20_000, "the push to commit");
    phase("committed");
    await crashy.kill();
    await expect(push).rejects.toBeInstanceOf(NetworkError);
    expect((await storage.outbox()).filter((e) => e.state === "pending")).toHaveLength(3); // never heard back

    calm = await Server.start({ database }, crashy.port);
    phase("calm server up");
    const report = await client.sync();
    expect(report.results.map((r) => [r.status, r.duplicate])).toEqual([
      ["applied", true],
      ["applied", true],
      ["applied", true],
    ]);
    expect(report.results.map((r) => r.id)).toEqual(ids);
    expect((await client.results()).filter((r) => ids.includes(r.id)).map((r) => (r.data as { version: number }).version)).toEqual([
      before + 1,
      before + 2,
      before + 3,
    ]);
    const [row] = await client.query("user", { id: me.id });
    expect([row?.display_name, row?.version]).toEqual(["Name 2", before + 3]); // applied once each
    expect((await client.pending()).waiting).toBe(0);
  } finally {
    await client.close();
    await crashy.kill();
    await calm?.stop();
    await database.drop();
  }
});
