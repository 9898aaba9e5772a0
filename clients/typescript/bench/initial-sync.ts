/**
 * `npm run bench` — one JSON line: a first sync of `field-north`'s world (the demo network) into
 * SQLite (Node, better-sqlite3) and into IndexedDB (headless Chromium), beside the server's own
 * pull rate measured in the same run (the same pages fetched and parsed, nothing stored), and the
 * time from `mutate()` on one phone to the row in another online phone's replica (live `/ws`
 * hint → pull), p50/p99. With the load average and CPU per row (wall clock on a shared machine
 * is noisy). A real `fieldsync serve` on a fresh copy of the seeded database; PostgreSQL when
 * FIELDSYNC_TEST_DATABASE_URL is set (a scratch `<name>_sdk_*` database), else SQLite.
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { createClient } from "../src/index.js";
import { SqliteStorage } from "../src/storage/sqlite.js";
import { openBrowserSdk } from "../test/browser.js";
import { PASSWORD, pgUrl, scratchDir, seedTemplate, Server } from "../test/harness.js";

const USER = "field-north";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 40);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function token(url: string, username: string): Promise<string> {
  const r = await fetch(`${url}/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password: PASSWORD, client_id: `bench-${Math.random()}` }),
  });
  return ((await r.json()) as { access_token: string }).access_token;
}

/** The server's pull rate: every page fetched and parsed, nothing stored. */
async function rawPull(url: string): Promise<{ rows: number; seconds: number }> {
  const t = await token(url, USER);
  const start = performance.now();
  let cursor: string | undefined;
  let rows = 0;
  for (;;) {
    const q = new URLSearchParams({ limit: "500", client_id: "bench-raw" });
    if (cursor) q.set("cursor", cursor);
    const page = (await (await fetch(`${url}/sync/v1/pull?${q}`, { headers: { Authorization: `Bearer ${t}` } })).json()) as {
      changes: unknown[];
      cursor: string;
      has_more: boolean;
    };
    rows += page.changes.length;
    cursor = page.cursor;
    if (!page.has_more) break;
  }
  return { rows, seconds: (performance.now() - start) / 1000 };
}

async function sqliteSync(url: string): Promise<{ rows: number; seconds: number; cpuMs: number }> {
  const client = createClient({ baseUrl: url, storage: new SqliteStorage(join(scratchDir(), "bench.db")), WebSocket: null });
  await client.signIn(USER, PASSWORD);
  const cpu = process.cpuUsage();
  const start = performance.now();
  const report = await client.sync();
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  await client.close();
  return { rows: report.pulled, seconds, cpuMs: (used.user + used.system) / 1000 };
}

/** The SDK bundled for the browser, run in headless Chromium against the server. */
async function indexedDbSyncs(url: string, rounds: number): Promise<Array<{ rows: number; seconds: number }>> {
  const sdk = await openBrowserSdk();
  try {
    const out: Array<{ rows: number; seconds: number }> = [];
    for (let i = 0; i < rounds; i++) {
      out.push(
        (await sdk.page.evaluate(`(async () => {
          const { createClient, IndexedDbStorage } = await import("/sdk.js");
          const client = createClient({ baseUrl: ${JSON.stringify(url)}, storage: new IndexedDbStorage("bench-${i}"), WebSocket: null });
          await client.signIn(${JSON.stringify(USER)}, ${JSON.stringify(PASSWORD)});
          const start = performance.now();
          const report = await client.sync();
          const seconds = (performance.now() - start) / 1000;
          await client.close();
          return { rows: report.pulled, seconds };
        })()`)) as { rows: number; seconds: number },
      );
    }
    return out;
  } finally {
    await sdk.close();
  }
}

/** mutate() on one phone → the row in another online phone's replica (push, /ws hint, pull). */
async function latency(url: string, samples: number): Promise<number[]> {
  const writer = createClient({ baseUrl: url, storage: new SqliteStorage(":memory:"), WebSocket: null });
  const reader = createClient({ baseUrl: url, storage: new SqliteStorage(":memory:"), WebSocket: WebSocket as never, syncIntervalMs: 600_000 });
  await writer.signIn("inspector-north", PASSWORD);
  await reader.signIn("dist-north", PASSWORD);
  await writer.sync();
  await reader.sync();
  reader.start();
  while (!reader.status.live) await new Promise((r) => setTimeout(r, 20));
  const id = writer.session!.user.id;
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const name = `Bench ${i} ${Math.random().toString(36).slice(2, 8)}`;
    const seen = new Promise<number>((resolve) => {
      const off = reader.watch("user", { id }, (rows) => {
        if (rows[0]?.display_name === name) {
          off();
          resolve(performance.now());
        }
      });
    });
    const start = performance.now();
    await writer.mutate("profile.update", { display_name: name });
    await writer.sync();
    out.push((await seen) - start);
  }
  reader.stop();
  await reader.close();
  await writer.close();
  return out;
}

async function main(): Promise<void> {
  process.env.FIELDSYNC_SDK_TEMPLATE = await seedTemplate();
  const server = await Server.start();
  try {
    const loadBefore = loadavg();
    const raw: Array<{ rows: number; seconds: number }> = [];
    const sqlite: Array<{ rows: number; seconds: number; cpuMs: number }> = [];
    for (let i = 0; i < ROUNDS; i++) {
      raw.push(await rawPull(server.url));
      sqlite.push(await sqliteSync(server.url));
    }
    const idb = await indexedDbSyncs(server.url, ROUNDS);
    const raw2 = await rawPull(server.url);
    raw.push(raw2);
    const lat = await latency(server.url, LATENCY_SAMPLES);
    const rate = (xs: Array<{ rows: number; seconds: number }>) => round(median(xs.map((x) => x.rows / x.seconds)), 0);
    const serverCpu = readFileSync(`/proc/${server.proc.pid}/stat`, "utf8").split(")")[1]!.trim().split(/\s+/);
    console.log(
      JSON.stringify({
        bench: "sdk_client",
        database: pgUrl() === null ? "sqlite" : "postgresql",
        user: USER,
        rows: raw[0]!.rows,
        rounds: ROUNDS,
        server_pull_rows_s: rate(raw),
        sqlite_initial_sync_rows_s: rate(sqlite),
        indexeddb_initial_sync_rows_s: rate(idb),
        sqlite_vs_server: round(rate(sqlite) / rate(raw), 2),
        indexeddb_vs_server: round(rate(idb) / rate(raw), 2),
        sqlite_client_cpu_ms_per_1k_rows: round(median(sqlite.map((s) => (s.cpuMs / s.rows) * 1000)), 1),
        mutation_to_other_replica_ms: { p50: round(pct(lat, 50)), p99: round(pct(lat, 99)), n: lat.length },
        server_cpu_s_total: round((Number(serverCpu[11]) + Number(serverCpu[12])) / 100, 1),
        load_avg_1m: [round(loadBefore[0]!, 2), round(loadavg()[0]!, 2)],
      }),
    );
  } finally {
    await server.stop();
  }
}

await main();
