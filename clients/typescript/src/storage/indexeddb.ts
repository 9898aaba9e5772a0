/**
 * The IndexedDB storage adapter for browsers and PWAs: `new IndexedDbStorage("fieldsync")`.
 *
 * One database per client. Rows are keyed [scope, entity, id]; a multi-entry index on their
 * index keys serves queries on indexed fields, another on [entity, deleted] the others. Every
 * method is one IndexedDB transaction whose requests are all issued from request callbacks (no
 * await inside), so it can never auto-commit half-way.
 */
import type {
  OutboxEntry,
  PageWrite,
  StorageAdapter,
  StoredResult,
  StoredRow,
  UploadRecord,
} from "./adapter.js";
import { rowFromChange, shouldApply } from "./adapter.js";

const VERSION = 1;
const STORES = ["rows", "meta", "outbox", "results", "uploads"] as const;
type StoreName = (typeof STORES)[number];

/** How a row is kept: `deleted` as 0/1 because booleans cannot be index keys. */
interface RowRecord extends Omit<StoredRow, "deleted"> {
  deleted: 0 | 1;
}

function toRecord(row: StoredRow): RowRecord {
  return { ...row, deleted: row.deleted ? 1 : 0 };
}

function fromRecord(r: RowRecord): StoredRow {
  return { ...r, deleted: r.deleted === 1 };
}

function scopeRange(scope: string): IDBKeyRange {
  // Array keys sort after strings, so [scope, []] is above every [scope, entity, id].
  return IDBKeyRange.bound([scope], [scope, []]);
}

export class IndexedDbStorage implements StorageAdapter {
  private db: IDBDatabase | null = null;

  /**
   * @param name the IndexedDB database name (one per client: two clients must not share it).
   * @param factory the IndexedDB factory (`globalThis.indexedDB` by default).
   */
  constructor(
    private readonly name: string,
    private readonly factory: IDBFactory = globalThis.indexedDB,
  ) {}

  async open(): Promise<void> {
    if (this.db !== null) return;
    this.db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = this.factory.open(this.name, VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        const rows = db.createObjectStore("rows", { keyPath: ["scope", "entity", "id"] });
        rows.createIndex("entity", ["entity", "deleted"]);
        rows.createIndex("keys", "keys", { multiEntry: true });
        db.createObjectStore("meta", { keyPath: "key" });
        const outbox = db.createObjectStore("outbox", { keyPath: "seq" });
        outbox.createIndex("id", "id", { unique: true });
        db.createObjectStore("results", { keyPath: "id" });
        db.createObjectStore("uploads", { keyPath: "sha256" });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error(`IndexedDB ${this.name} is held open by another tab`));
    });
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = null;
  }

  /** Deletes the whole database (tests, or an app that wants nothing left behind). */
  static async destroy(name: string, factory: IDBFactory = globalThis.indexedDB): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const request = factory.deleteDatabase(name);
      request.onsuccess = () => resolve();
      request.onerror = () => reject(request.error);
    });
  }

  /** Runs `body` in one transaction; resolves with what `body` set through `done` on commit. */
  private run<T>(
    stores: StoreName[],
    mode: IDBTransactionMode,
    body: (t: IDBTransaction, done: (value: T) => void) => void,
  ): Promise<T> {
    if (this.db === null) return Promise.reject(new Error("IndexedDbStorage: call open() first"));
    const t = this.db.transaction(stores, mode, { durability: "strict" } as IDBTransactionOptions);
    return new Promise<T>((resolve, reject) => {
      let value: T | undefined;
      t.oncomplete = () => resolve(value as T);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error ?? new Error("IndexedDB transaction aborted"));
      try {
        body(t, (v) => {
          value = v;
        });
      } catch (error) {
        t.abort();
        reject(error);
      }
    });
  }

  async getMeta(key: string): Promise<unknown> {
    return this.run<unknown>(["meta"], "readonly", (t, done) => {
      const r = t.objectStore("meta").get(key);
      r.onsuccess = () => done((r.result as { value: unknown } | undefined)?.value);
    });
  }

  private static writeMeta(t: IDBTransaction, entries: Record<string, unknown>): void {
    const meta = t.objectStore("meta");
    for (const [key, value] of Object.entries(entries)) {
      if (value === null || value === undefined) meta.delete(key);
      else meta.put({ key, value });
    }
  }

  async setMeta(entries: Record<string, unknown>): Promise<void> {
    await this.run<void>(["meta"], "readwrite", (t) => IndexedDbStorage.writeMeta(t, entries));
  }

  async applyPage(page: PageWrite): Promise<void> {
    await this.run<void>(["rows", "meta"], "readwrite", (t) => {
      const rows = t.objectStore("rows");
      for (const scope of page.purge) rows.delete(scopeRange(scope));
      IndexedDbStorage.writeMeta(t, page.meta);
      const keyOf = (c: { scope: string; entity: string; id: string }) => JSON.stringify([c.scope, c.entity, c.id]);
      const distinct = new Map<string, [string, string, string]>();
      for (const c of page.changes) distinct.set(keyOf(c), [c.scope, c.entity, c.id]);
      const held = new Map<string, StoredRow | undefined>();
      let waiting = distinct.size;
      const write = () => {
        for (const change of page.changes) {
          const k = keyOf(change);
          if (!shouldApply(held.get(k), change)) continue;
          const row = rowFromChange(change);
          held.set(k, row);
          rows.put(toRecord(row));
        }
      };
      if (waiting === 0) return;
      for (const [k, key] of distinct) {
        const r = rows.get(key);
        r.onsuccess = () => {
          held.set(k, r.result === undefined ? undefined : fromRecord(r.result as RowRecord));
          waiting -= 1;
          if (waiting === 0) write();
        };
      }
    });
  }

  private getAll<T>(store: StoreName, source: (s: IDBObjectStore) => IDBRequest<unknown[]>): Promise<T[]> {
    return this.run<T[]>([store], "readonly", (t, done) => {
      const r = source(t.objectStore(store));
      r.onsuccess = () => done(r.result as T[]);
    });
  }

  async rows(entity: string, key?: string): Promise<StoredRow[]> {
    if (key === undefined) {
      const records = await this.getAll<RowRecord>("rows", (s) => s.index("entity").getAll([entity, 0]));
      return records.map(fromRecord);
    }
    const records = await this.getAll<RowRecord>("rows", (s) => s.index("keys").getAll(key));
    return records.filter((r) => r.entity === entity && r.deleted === 0).map(fromRecord);
  }

  async scopeRows(scope: string): Promise<StoredRow[]> {
    const records = await this.getAll<RowRecord>("rows", (s) => s.getAll(scopeRange(scope)));
    return records.filter((r) => r.deleted === 0).map(fromRecord);
  }

  async getRow(scope: string, entity: string, id: string): Promise<StoredRow | undefined> {
    return this.run<StoredRow | undefined>(["rows"], "readonly", (t, done) => {
      const r = t.objectStore("rows").get([scope, entity, id]);
      r.onsuccess = () => done(r.result === undefined ? undefined : fromRecord(r.result as RowRecord));
    });
  }

  async scopes(): Promise<string[]> {
    // Walk the primary key, jumping past each scope: one step per scope, not per row.
    return this.run<string[]>(["rows"], "readonly", (t, done) => {
      const found: string[] = [];
      const r = t.objectStore("rows").openKeyCursor();
      r.onsuccess = () => {
        const cursor = r.result;
        if (cursor === null) {
          done(found);
          return;
        }
        const scope = (cursor.key as string[])[0] as string;
        found.push(scope);
        cursor.continue([scope, []]);
      };
    });
  }

  async appendMutation(entry: Omit<OutboxEntry, "seq" | "state">): Promise<OutboxEntry> {
    return this.run<OutboxEntry>(["meta", "outbox"], "readwrite", (t, done) => {
      const r = t.objectStore("meta").get("next_seq");
      r.onsuccess = () => {
        const seq = ((r.result as { value: number } | undefined)?.value ?? 1) as number;
        const stored: OutboxEntry = { ...entry, seq, state: "pending" };
        t.objectStore("outbox").add(stored);
        t.objectStore("meta").put({ key: "next_seq", value: seq + 1 });
        done(stored);
      };
    });
  }

  async outbox(): Promise<OutboxEntry[]> {
    return this.getAll<OutboxEntry>("outbox", (s) => s.getAll());
  }

  async acknowledge(results: StoredResult[], drop: string[]): Promise<void> {
    await this.run<void>(["outbox", "results"], "readwrite", (t) => {
      const outbox = t.objectStore("outbox");
      const byId = outbox.index("id");
      for (const result of results) {
        t.objectStore("results").put(result);
        const r = byId.get(result.id);
        r.onsuccess = () => {
          const entry = r.result as OutboxEntry | undefined;
          if (entry === undefined) return;
          if (drop.includes(entry.id)) outbox.delete(entry.seq);
          else outbox.put({ ...entry, state: "acked" });
        };
      }
      for (const id of drop) {
        if (results.some((r) => r.id === id)) continue;
        const r = byId.getKey(id);
        r.onsuccess = () => {
          if (r.result !== undefined) outbox.delete(r.result);
        };
      }
    });
  }

  async resequence(from: number): Promise<void> {
    await this.run<void>(["outbox", "meta"], "readwrite", (t) => {
      const outbox = t.objectStore("outbox");
      const r = outbox.getAll();
      r.onsuccess = () => {
        const all = r.result as OutboxEntry[];
        for (const entry of all) if (entry.state === "pending" || entry.seq >= from) outbox.delete(entry.seq);
        const pending = all.filter((e) => e.state === "pending").sort((a, b) => a.seq - b.seq);
        pending.forEach((entry, i) => outbox.put({ ...entry, seq: from + i }));
        t.objectStore("meta").put({ key: "next_seq", value: from + pending.length });
      };
    });
  }

  async dropAcked(seq: number): Promise<void> {
    await this.run<void>(["outbox"], "readwrite", (t) => {
      const r = t.objectStore("outbox").openCursor(IDBKeyRange.upperBound(seq));
      r.onsuccess = () => {
        const cursor = r.result;
        if (cursor === null) return;
        if ((cursor.value as OutboxEntry).state === "acked") cursor.delete();
        cursor.continue();
      };
    });
  }

  async result(id: string): Promise<StoredResult | undefined> {
    return this.run<StoredResult | undefined>(["results"], "readonly", (t, done) => {
      const r = t.objectStore("results").get(id);
      r.onsuccess = () => done(r.result as StoredResult | undefined);
    });
  }

  async results(): Promise<StoredResult[]> {
    const all = await this.getAll<StoredResult>("results", (s) => s.getAll());
    return all.sort((a, b) => a.seq - b.seq);
  }

  async putUpload(record: UploadRecord): Promise<UploadRecord> {
    return this.run<UploadRecord>(["uploads"], "readwrite", (t, done) => {
      const store = t.objectStore("uploads");
      const r = store.get(record.sha256);
      r.onsuccess = () => {
        if (r.result !== undefined) {
          done(r.result as UploadRecord);
          return;
        }
        store.add(record);
        done(record);
      };
    });
  }

  async getUpload(sha256: string): Promise<UploadRecord | undefined> {
    return this.run<UploadRecord | undefined>(["uploads"], "readonly", (t, done) => {
      const r = t.objectStore("uploads").get(sha256);
      r.onsuccess = () => done(r.result as UploadRecord | undefined);
    });
  }

  async updateUpload(sha256: string, patch: Partial<Pick<UploadRecord, "url" | "state" | "code">>): Promise<void> {
    await this.run<void>(["uploads"], "readwrite", (t) => {
      const store = t.objectStore("uploads");
      const r = store.get(sha256);
      r.onsuccess = () => {
        if (r.result !== undefined) store.put({ ...(r.result as UploadRecord), ...patch });
      };
    });
  }

  async uploads(): Promise<UploadRecord[]> {
    const all = await this.getAll<UploadRecord>("uploads", (s) => s.getAll());
    return all.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  async purgeAll(): Promise<void> {
    await this.run<void>([...STORES], "readwrite", (t) => {
      for (const store of STORES) t.objectStore(store).clear();
    });
  }
}
