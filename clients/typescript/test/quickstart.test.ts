/** The README's quick start, as written there (SQLite instead of IndexedDB): it must work. */
import { join } from "node:path";
import { expect, test } from "vitest";
import { createClient } from "../src/index.js";
import { SqliteStorage } from "../src/storage/sqlite.js";
import { Network } from "./clients.js";
import { scratchDir, sharedServerUrl } from "./harness.js";

test("sign in, pull, count a shelf offline, come back online", async () => {
  const net = new Network();
  const client = createClient({
    baseUrl: sharedServerUrl(),
    storage: new SqliteStorage(join(scratchDir(), "quickstart.db")),
    indexes: { stock_level: ["product_id", "terminal_id"] },
    fetch: net.fetch,
    WebSocket: null,
  });
  await client.signIn("field-north", "fieldsync-demo");
  await client.sync();
  const shops = await client.query("organisation", { kind: "terminal" });
  const [level] = await client.query("stock_level", { terminal_id: shops.map((s) => s.id) });
  expect(level).toBeDefined();
  net.offline = true;
  await client.mutate("stock_check.record", {
    id: crypto.randomUUID().replaceAll("-", ""),
    org_id: level!.terminal_id!,
    product_id: level!.product_id,
    counted_qty: 7,
    observed_at: new Date().toISOString(),
  });
  const waiting: number[] = [];
  client.on("status", (s) => waiting.push(s.waiting));
  expect((await client.query("stock_level", { id: level!.id }))[0]?.counted_qty).toBe(7); // offline, at once
  expect((await client.pending()).waiting).toBe(1);
  net.offline = false;
  const report = await client.sync();
  expect(report.results.map((r) => r.status)).toEqual(["applied"]);
  expect(waiting.at(-1)).toBe(0);
  const [after] = await client.query("stock_level", { id: level!.id });
  expect(after?.counted_qty).toBe(7); // now the server's row
  await client.close();
});
