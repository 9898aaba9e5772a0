/**
 * The SQLite storage adapter for Node (better-sqlite3 12): `new SqliteStorage("replica.db")`.
 *
 * One file per client. Index keys live in their own table (`row_keys`, indexed), so a query on
 * an indexed field reads only the rows carrying that key. WAL journal, synchronous=NORMAL:
 * a committed page survives a crash of the app (not necessarily of the machine's power).
 */
import Database from "better-sqlite3";
import type {
  OutboxEntry,
  PageWrite,
  StorageAdapter,
  StoredResult,
  StoredRow,
  UploadRecord,
} from "./adapter.js";
import { rowFromChange, shouldApply } from "./adapter.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS rows (
  scope TEXT NOT NULL, entity TEXT NOT NULL, id TEXT NOT NULL,
  version INTEGER NOT NULL, deleted INTEGER NOT NULL, data TEXT, keys TEXT NOT NULL,
  PRIMARY KEY (scope, entity, id)
);
CREATE INDEX IF NOT EXISTS rows_entity ON rows (entity, deleted);
CREATE TABLE IF NOT EXISTS row_keys (
  key TEXT NOT NULL, scope TEXT NOT NULL, entity TEXT NOT NULL, id TEXT NOT NULL,
  PRIMARY KEY (key, scope, entity, id)
);
CREATE INDEX IF NOT EXISTS row_keys_row ON row_keys (scope, entity, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, args TEXT NOT NULL,
  client_time TEXT NOT NULL, after_upload TEXT, state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
  id TEXT PRIMARY KEY, seq INTEGER NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
  code TEXT, message TEXT, data TEXT, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
  sha256 TEXT PRIMARY KEY, bytes BLOB NOT NULL, filetype TEXT NOT NULL, url TEXT,
  state TEXT NOT NULL, code TEXT, created_at TEXT NOT NULL
);
`;

interface RowRecord {
  scope: string;
  entity: string;
  id: string;
  version: number;
  deleted: number;
  data: string | null;
  keys: string;
}

export class SqliteStorage implements StorageAdapter {
  private db: Database.Database | null = null;

  /** @param file a path (":memory:" for a throw-away store) or an open better-sqlite3 database. */
  constructor(private readonly file: string | Database.Database) {}

  private get d(): Database.Database {
    if (this.db === null) throw new Error("SqliteStorage: call open() first");
    return this.db;
  }

  async open(): Promise<void> {
    if (this.db !== null) return;
    this.db = typeof this.file === "string" ? new Database(this.file) : this.file;
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.exec(SCHEMA);
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = null;
  }

  async getMeta(key: string): Promise<unknown> {
    const row = this.d.prepare("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined;
    return row === undefined ? undefined : JSON.parse(row.value);
  }

  private writeMeta(entries: Record<string, unknown>): void {
    const put = this.d.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
    const del = this.d.prepare("DELETE FROM meta WHERE key = ?");
    for (const [key, value] of Object.entries(entries)) {
      if (value === null || value === undefined) del.run(key);
      else put.run(key, JSON.stringify(value));
    }
  }

  async setMeta(entries: Record<string, unknown>): Promise<void> {
    this.d.transaction(() => this.writeMeta(entries))();
  }

  async applyPage(page: PageWrite): Promise<void> {
    const d = this.d;
    const get = d.prepare("SELECT version, deleted FROM rows WHERE scope = ? AND entity = ? AND id = ?");
    const put = d.prepare(
      "INSERT OR REPLACE INTO rows (scope, entity, id, version, deleted, data, keys) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    const dropKeys = d.prepare("DELETE FROM row_keys WHERE scope = ? AND entity = ? AND id = ?");
    const addKey = d.prepare("INSERT OR IGNORE INTO row_keys (key, scope, entity, id) VALUES (?, ?, ?, ?)");
    d.transaction(() => {
      for (const scope of page.purge) {
        d.prepare("DELETE FROM rows WHERE scope = ?").run(scope);
        d.prepare("DELETE FROM row_keys WHERE scope = ?").run(scope);
      }
      for (const change of page.changes) {
        const held = get.get(change.scope, change.entity, change.id) as { version: number; deleted: number } | undefined;
        if (!shouldApply(held && { version: held.version, deleted: held.deleted === 1 }, change)) continue;
        const row = rowFromChange(change);
        put.run(row.scope, row.entity, row.id, row.version, row.deleted ? 1 : 0, row.data === null ? null : JSON.stringify(row.data), JSON.stringify(row.keys));
        if (held !== undefined) dropKeys.run(row.scope, row.entity, row.id);
        for (const key of row.keys) addKey.run(key, row.scope, row.entity, row.id);
      }
      this.writeMeta(page.meta);
    })();
  }

  private static decode(records: RowRecord[]): StoredRow[] {
    return records.map((r) => ({
      scope: r.scope,
      entity: r.entity,
      id: r.id,
      version: r.version,
      deleted: r.deleted === 1,
      data: r.data === null ? null : (JSON.parse(r.data) as Record<string, unknown>),
      keys: JSON.parse(r.keys) as string[],
    }));
  }

  async rows(entity: string, key?: string): Promise<StoredRow[]> {
    const records =
      key === undefined
        ? this.d.prepare("SELECT * FROM rows WHERE entity = ? AND deleted = 0").all(entity)
        : this.d
            .prepare(
              "SELECT r.* FROM row_keys k JOIN rows r ON r.scope = k.scope AND r.entity = k.entity AND r.id = k.id " +
                "WHERE k.key = ? AND r.entity = ? AND r.deleted = 0",
            )
            .all(key, entity);
    return SqliteStorage.decode(records as RowRecord[]);
  }

  async scopeRows(scope: string): Promise<StoredRow[]> {
    const records = this.d.prepare("SELECT * FROM rows WHERE scope = ? AND deleted = 0").all(scope) as RowRecord[];
    return SqliteStorage.decode(records);
  }

  async getRow(scope: string, entity: string, id: string): Promise<StoredRow | undefined> {
    const r = this.d.prepare("SELECT * FROM rows WHERE scope = ? AND entity = ? AND id = ?").get(scope, entity, id);
    return r === undefined ? undefined : SqliteStorage.decode([r as RowRecord])[0];
  }

  async scopes(): Promise<string[]> {
    return this.d.prepare("SELECT DISTINCT scope FROM rows ORDER BY scope").pluck().all() as string[];
  }

  async appendMutation(entry: Omit<OutboxEntry, "seq" | "state">): Promise<OutboxEntry> {
    return this.d.transaction(() => {
      const raw = this.d.prepare("SELECT value FROM meta WHERE key = 'next_seq'").pluck().get() as string | undefined;
      const seq = raw === undefined ? 1 : (JSON.parse(raw) as number);
      this.d
        .prepare(
          "INSERT INTO outbox (seq, id, name, args, client_time, after_upload, state) VALUES (?, ?, ?, ?, ?, ?, 'pending')",
        )
        .run(seq, entry.id, entry.name, JSON.stringify(entry.args ?? null), entry.clientTime, entry.afterUpload);
      this.writeMeta({ next_seq: seq + 1 });
      return { ...entry, seq, state: "pending" as const };
    })();
  }

  async outbox(): Promise<OutboxEntry[]> {
    const rows = this.d.prepare("SELECT * FROM outbox ORDER BY seq").all() as Array<{
      seq: number;
      id: string;
      name: string;
      args: string;
      client_time: string;
      after_upload: string | null;
      state: "pending" | "acked";
    }>;
    return rows.map((r) => ({
      id: r.id,
      seq: r.seq,
      name: r.name,
      args: JSON.parse(r.args),
      clientTime: r.client_time,
      afterUpload: r.after_upload,
      state: r.state,
    }));
  }

  async acknowledge(results: StoredResult[], drop: string[]): Promise<void> {
    const put = this.d.prepare(
      "INSERT OR REPLACE INTO results (id, seq, name, status, code, message, data, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    const ack = this.d.prepare("UPDATE outbox SET state = 'acked' WHERE id = ?");
    const del = this.d.prepare("DELETE FROM outbox WHERE id = ?");
    this.d.transaction(() => {
      for (const r of results) {
        put.run(r.id, r.seq, r.name, r.status, r.code, r.message, JSON.stringify(r.data ?? null), r.at);
        ack.run(r.id);
      }
      for (const id of drop) del.run(id);
    })();
  }

  async resequence(from: number): Promise<void> {
    const d = this.d;
    d.transaction(() => {
      d.prepare("DELETE FROM outbox WHERE state = 'acked' AND seq >= ?").run(from);
      const pending = d.prepare("SELECT seq FROM outbox WHERE state = 'pending' ORDER BY seq").pluck().all() as number[];
      // Move out of the way first (negative seqs), then into place: no primary-key clash.
      const move = d.prepare("UPDATE outbox SET seq = ? WHERE seq = ?");
      pending.forEach((seq, i) => move.run(-1 - i, seq));
      pending.forEach((_seq, i) => move.run(from + i, -1 - i));
      this.writeMeta({ next_seq: from + pending.length });
    })();
  }

  async dropAcked(seq: number): Promise<void> {
    this.d.prepare("DELETE FROM outbox WHERE state = 'acked' AND seq <= ?").run(seq);
  }

  private static result(r: Record<string, unknown>): StoredResult {
    return {
      id: r.id as string,
      seq: r.seq as number,
      name: r.name as string,
      status: r.status as string,
      code: (r.code as string | null) ?? null,
      message: (r.message as string | null) ?? null,
      data: r.data === null ? null : JSON.parse(r.data as string),
      at: r.at as string,
    };
  }

  async result(id: string): Promise<StoredResult | undefined> {
    const r = this.d.prepare("SELECT * FROM results WHERE id = ?").get(id) as Record<string, unknown> | undefined;
    return r === undefined ? undefined : SqliteStorage.result(r);
  }

  async results(): Promise<StoredResult[]> {
    const rows = this.d.prepare("SELECT * FROM results ORDER BY seq").all() as Record<string, unknown>[];
    return rows.map((r) => SqliteStorage.result(r));
  }

  private static upload(r: Record<string, unknown>): UploadRecord {
    return {
      sha256: r.sha256 as string,
      bytes: new Uint8Array(r.bytes as Buffer),
      filetype: r.filetype as string,
      url: (r.url as string | null) ?? null,
      state: r.state as UploadRecord["state"],
      code: (r.code as string | null) ?? null,
      createdAt: r.created_at as string,
    };
  }

  async putUpload(record: UploadRecord): Promise<UploadRecord> {
    this.d
      .prepare(
        "INSERT OR IGNORE INTO uploads (sha256, bytes, filetype, url, state, code, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      )
      .run(record.sha256, Buffer.from(record.bytes), record.filetype, record.url, record.state, record.code, record.createdAt);
    return (await this.getUpload(record.sha256)) as UploadRecord;
  }

  async getUpload(sha256: string): Promise<UploadRecord | undefined> {
    const r = this.d.prepare("SELECT * FROM uploads WHERE sha256 = ?").get(sha256) as Record<string, unknown> | undefined;
    return r === undefined ? undefined : SqliteStorage.upload(r);
  }

  async updateUpload(sha256: string, patch: Partial<Pick<UploadRecord, "url" | "state" | "code">>): Promise<void> {
    const entries = Object.entries(patch);
    if (entries.length === 0) return;
    const sets = entries.map(([k]) => `${k} = ?`).join(", ");
    this.d.prepare(`UPDATE uploads SET ${sets} WHERE sha256 = ?`).run(...entries.map(([, v]) => v ?? null), sha256);
  }

  async uploads(): Promise<UploadRecord[]> {
    const rows = this.d.prepare("SELECT * FROM uploads ORDER BY created_at, sha256").all() as Record<string, unknown>[];
    return rows.map((r) => SqliteStorage.upload(r));
  }

  async purgeAll(): Promise<void> {
    this.d.transaction(() => {
      for (const table of ["rows", "row_keys", "meta", "outbox", "results", "uploads"]) {
        this.d.prepare(`DELETE FROM ${table}`).run();
      }
    })();
  }
}
