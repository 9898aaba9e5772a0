/**
 * Real fieldsync servers for the tests, each on a free 127.0.0.1 port and its own fresh database.
 *
 * The global setup seeds ONE template (the demo network) with `fieldsync demo-seed`: an SQLite
 * file in a temp dir, or — when FIELDSYNC_TEST_DATABASE_URL names a PostgreSQL database — a
 * database `<name>_sdk_tpl` beside it (never pytest's own). Every server then gets a copy (a
 * file copy, or `CREATE DATABASE … TEMPLATE`), so tests never see each other's writes.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

export const PASSWORD = "fieldsync-demo";
export const SECRET = "sdk-test-secret-0123456789abcdef0123456789abcdef";
const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, "..", "..", "..");

/** `fieldsync` on PATH, else the repository's .venv. */
export function fieldsyncBin(): string {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir && existsSync(join(dir, "fieldsync"))) return join(dir, "fieldsync");
  }
  const venv = join(REPO, ".venv", "bin", "fieldsync");
  if (existsSync(venv)) return venv;
  throw new Error("fieldsync is not on PATH: run `make test` once (it creates .venv), or put .venv/bin on PATH");
}

export function pythonBin(): string {
  return join(dirname(fieldsyncBin()), "python");
}

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/** The PostgreSQL base URL from FIELDSYNC_TEST_DATABASE_URL, or null for SQLite. */
export function pgUrl(): URL | null {
  const raw = process.env.FIELDSYNC_TEST_DATABASE_URL;
  if (!raw || !raw.startsWith("postgresql")) return null;
  return new URL(raw.replace(/^postgresql\+asyncpg:/, "postgresql:"));
}

function pgDbUrl(base: URL, name: string): { asyncpg: string; plain: string } {
  const u = new URL(base.toString());
  u.pathname = `/${name}`;
  return { plain: u.toString(), asyncpg: u.toString().replace(/^postgresql:/, "postgresql+asyncpg:") };
}

async function pgAdmin<T>(base: URL, run: (c: pg.Client) => Promise<T>): Promise<T> {
  const u = new URL(base.toString());
  u.pathname = "/postgres";
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

export function templateName(): string {
  const base = pgUrl();
  return base === null ? "" : `${base.pathname.slice(1)}_sdk_tpl`;
}

function baseEnv(databaseUrl: string, varDir: string, settings: Record<string, string | number> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FIELDSYNC_DATABASE_URL: databaseUrl,
    FIELDSYNC_VAR_DIR: varDir,
    FIELDSYNC_SECRET_KEY: SECRET,
    FIELDSYNC_RUN_WORKER_IN_PROCESS: "false",
    FIELDSYNC_REQUESTS_PER_MINUTE: "100000000",
    FIELDSYNC_SYNC_MUTATIONS_PER_MINUTE: "0",
    FIELDSYNC_LOG_LEVEL: "WARNING",
  };
  for (const [k, v] of Object.entries(settings)) env[`FIELDSYNC_${k.toUpperCase()}`] = String(v);
  return env;
}

/** Seeds the template once (global setup); returns where it is. */
export async function seedTemplate(): Promise<string> {
  const base = pgUrl();
  const dir = mkdtempSync(join(tmpdir(), "fieldsync-sdk-tpl-"));
  let url: string;
  if (base === null) {
    url = `sqlite+aiosqlite:///${join(dir, "template.db")}`;
  } else {
    const name = templateName();
    await pgAdmin(base, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.query(`CREATE DATABASE "${name}"`);
    });
    url = pgDbUrl(base, name).asyncpg;
  }
  const done = spawnSync(fieldsyncBin(), ["demo-seed"], { env: baseEnv(url, join(dir, "var")), encoding: "utf8", cwd: dir });
  if (done.status !== 0) throw new Error(`fieldsync demo-seed failed: ${done.stderr}`);
  if (base === null) spawnSync("sqlite3", [join(dir, "template.db"), "PRAGMA wal_checkpoint(TRUNCATE);"]);
  return base === null ? join(dir, "template.db") : url;
}

let counter = 0;

export interface ServerOptions {
  /** FIELDSYNC_* settings (lower-case names without the prefix, e.g. `access_token_ttl_s`). */
  settings?: Record<string, string | number>;
  /** Run this Python script instead of `fieldsync serve` (argv: port, then `args`). */
  script?: string;
  args?: string[];
  /** Reuse another server's database (for a restart on the same data). */
  database?: Database;
}

export interface Database {
  url: string;
  varDir: string;
  drop(): Promise<void>;
}

/** A fresh copy of the seeded template. */
export async function freshDatabase(): Promise<Database> {
  const template = process.env.FIELDSYNC_SDK_TEMPLATE;
  if (!template) throw new Error("the global setup did not run (FIELDSYNC_SDK_TEMPLATE unset)");
  const dir = mkdtempSync(join(tmpdir(), "fieldsync-sdk-"));
  const varDir = join(dir, "var");
  mkdirSync(varDir);
  const base = pgUrl();
  if (base === null) {
    const file = join(dir, "db.sqlite");
    copyFileSync(template, file);
    return { url: `sqlite+aiosqlite:///${file}`, varDir, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  counter += 1;
  const name = `${base.pathname.slice(1)}_sdk_${process.pid}_${counter}`;
  await pgAdmin(base, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${name}" TEMPLATE "${templateName()}"`);
  });
  return {
    url: pgDbUrl(base, name).asyncpg,
    varDir,
    drop: async () => {
      await pgAdmin(base, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export class Server {
  readonly url: string;
  private output = "";

  private constructor(
    readonly proc: ChildProcess,
    readonly port: number,
    readonly database: Database,
    private readonly ownsDatabase: boolean,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    proc.stdout?.on("data", (d) => (this.output += String(d)));
    proc.stderr?.on("data", (d) => (this.output += String(d)));
  }

  /** Starts a server (on `port` if given) and waits until `/health/live` answers. */
  static async start(options: ServerOptions = {}, port?: number): Promise<Server> {
    const database = options.database ?? (await freshDatabase());
    const p = port ?? (await freePort());
    const env = baseEnv(database.url, database.varDir, options.settings);
    const proc =
      options.script === undefined
        ? spawn(fieldsyncBin(), ["serve", "--no-migrate", "--no-worker", "--host", "127.0.0.1", "--port", String(p)], { env, cwd: REPO })
        : spawn(pythonBin(), [options.script, String(p), ...(options.args ?? [])], { env, cwd: REPO });
    const server = new Server(proc, p, database, options.database === undefined);
    await server.waitReady();
    return server;
  }

  private async waitReady(): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`server exited ${this.proc.exitCode}: ${this.output.slice(-2000)}`);
      try {
        if ((await fetch(`${this.url}/health/live`)).ok) return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`server did not start: ${this.output.slice(-2000)}`);
  }

  /** kill -9 */
  async kill(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill("SIGKILL");
    await exited;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once("exit", r));
      this.proc.kill("SIGTERM");
      const timer = setTimeout(() => this.proc.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (this.ownsDatabase) await this.database.drop();
  }

  /** Runs a Python snippet against this server's database (worker jobs the tests need). */
  python(code: string, settings: Record<string, string | number> = {}): string {
    const done = spawnSync(pythonBin(), ["-c", code], { env: baseEnv(this.database.url, this.database.varDir, settings), cwd: REPO, encoding: "utf8" });
    if (done.status !== 0) throw new Error(`python failed: ${done.stderr}`);
    return done.stdout;
  }

  /** Signs in over plain HTTP (for admin actions the tests take). */
  async login(username: string, clientId = `admin-${Math.random().toString(36).slice(2)}`): Promise<{ token: string; user: { id: string }; deviceId: string }> {
    const r = await fetch(`${this.url}/auth/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password: PASSWORD, client_id: clientId, platform: "cli" }),
    });
    if (!r.ok) throw new Error(`login ${username}: ${r.status} ${await r.text()}`);
    const body = (await r.json()) as { access_token: string; user: { id: string }; device_id: string };
    return { token: body.access_token, user: body.user, deviceId: body.device_id };
  }

  async api(token: string, method: string, path: string, body?: unknown): Promise<any> {
    const r = await fetch(`${this.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
}

/** The server the global setup started for the files that share one (see global-setup.ts). */
export function sharedServerUrl(): string {
  const url = process.env.FIELDSYNC_SDK_SHARED_URL;
  if (!url) throw new Error("the global setup did not run (FIELDSYNC_SDK_SHARED_URL unset)");
  return url;
}

/** Admin calls against any server URL (the shared one has no Server object in the workers). */
export async function loginAt(url: string, username: string): Promise<{ token: string; user: { id: string }; deviceId: string }> {
  const r = await fetch(`${url}/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password: PASSWORD, client_id: `admin-${Math.random().toString(36).slice(2)}`, platform: "cli" }),
  });
  if (!r.ok) throw new Error(`login ${username}: ${r.status} ${await r.text()}`);
  const body = (await r.json()) as { access_token: string; user: { id: string }; device_id: string };
  return { token: body.access_token, user: body.user, deviceId: body.device_id };
}

/** A throw-away directory for SQLite replicas. */
export function scratchDir(prefix = "fieldsync-replica-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
