/**
 * The storage-adapter interface: everything the SDK keeps on the device goes through it.
 *
 * An adapter stores five things: replica rows keyed by (scope, entity, id), a small key/value
 * `meta` map (cursor, tokens, sequence counters), the outbox, the results of acknowledged
 * mutations and photo uploads. Every method is atomic on its own; `applyPage` writes a pulled
 * page, its purges and its cursor in ONE transaction, so an app killed mid-page loses nothing
 * and duplicates nothing. The version rule is shared (`shouldApply`), so an adapter only has
 * to store. This module imports nothing, so an adapter (or a browser test page) can load it alone.
 *
 * A new adapter (React Native SQLite, OPFS, …) implements this interface and runs the shared
 * contract suite: `import { contractCases } from "@fieldsync/client/testing"`.
 */

/** A replica row as stored: a live row or a tombstone (`deleted`, `data` null). */
export interface StoredRow {
  scope: string;
  entity: string;
  id: string;
  version: number;
  deleted: boolean;
  data: Record<string, unknown> | null;
  /** Index keys of the row, `"<entity>|<field>|<json value>"` (see `indexKey`). */
  keys: string[];
}

/** One change of a pulled page, as the server sent it, with the index keys the client computed. */
export interface ChangeIn {
  scope: string;
  entity: string;
  id: string;
  op: "upsert" | "delete";
  version: number;
  data?: Record<string, unknown> | null;
  keys: string[];
}

/** What one pulled page writes, atomically. */
export interface PageWrite {
  /** Scopes whose rows are dropped before the changes apply (`reset` and `revoked`). */
  purge: string[];
  changes: ChangeIn[];
  /** Meta entries written in the same transaction (`cursor`, `last_applied_seq`, …); null deletes. */
  meta: Record<string, unknown>;
}

/** A mutation waiting in (or acknowledged from) the outbox. */
export interface OutboxEntry {
  /** UUIDv7 minted on the device. */
  id: string;
  /** 1, 2, 3, … with no gaps, per storage (= per client id). */
  seq: number;
  name: string;
  args: unknown;
  clientTime: string;
  /** SHA-256 of a photo this mutation waits for (it is not pushed before the upload finished). */
  afterUpload: string | null;
  /**
   * `pending`: not acknowledged yet. `acked`: the server acknowledged it (its result is stored);
   * kept only so its optimistic effect stays visible until a pull's `last_applied_seq` covers it.
   */
  state: "pending" | "acked";
}

/** The stored result of an acknowledged mutation. */
export interface StoredResult {
  id: string;
  seq: number;
  name: string;
  /** applied / duplicate / conflict / rejected (for a duplicate: the original status when known). */
  status: string;
  code: string | null;
  message: string | null;
  data: unknown;
  /** When the result arrived (ISO 8601). */
  at: string;
}

/** A photo kept for upload. */
export interface UploadRecord {
  sha256: string;
  bytes: Uint8Array;
  filetype: string;
  /** The tus upload URL once created: an upload resumes from it after a restart. */
  url: string | null;
  state: "pending" | "done" | "refused";
  code: string | null;
  createdAt: string;
}

export interface StorageAdapter {
  /** Opens (and migrates) the store. Called once by the client before anything else. */
  open(): Promise<void>;
  close(): Promise<void>;

  // --- meta ---------------------------------------------------------------------------
  getMeta(key: string): Promise<unknown>;
  /** Writes several entries atomically; a null value deletes the key. */
  setMeta(entries: Record<string, unknown>): Promise<void>;

  // --- the replica ----------------------------------------------------------------------
  /** Purge, apply every change with `shouldApply`, write `meta`: one transaction. */
  applyPage(page: PageWrite): Promise<void>;
  /** Live rows of `entity`; with `key`, only those carrying that index key (use an index). */
  rows(entity: string, key?: string): Promise<StoredRow[]>;
  /** Live rows of one scope (for checksums). */
  scopeRows(scope: string): Promise<StoredRow[]>;
  /** One row (live or tombstone) or undefined. */
  getRow(scope: string, entity: string, id: string): Promise<StoredRow | undefined>;
  /** Every scope holding at least one row or tombstone. */
  scopes(): Promise<string[]>;

  // --- the outbox -------------------------------------------------------------------------
  /**
   * Assigns the next seq (gapless: `meta.next_seq`, starting at 1) and stores the entry, in one
   * transaction; returns the stored entry.
   */
  appendMutation(entry: Omit<OutboxEntry, "seq" | "state">): Promise<OutboxEntry>;
  /** Every outbox entry (pending and acked), in seq order. */
  outbox(): Promise<OutboxEntry[]>;
  /**
   * Marks the mutations of `results` acknowledged and stores their results, atomically. With
   * `drop`, those entries leave the outbox at once (no optimistic effect to keep).
   */
  acknowledge(results: StoredResult[], drop: string[]): Promise<void>;
  /**
   * Renumbers the pending entries consecutively from `from` (keeping their order and ids), drops
   * acked entries at or above `from`, and sets `next_seq` after the last: one transaction. Used
   * when the server reports a gap (`seq_gap` with `expected_seq`) that no held entry can fill.
   */
  resequence(from: number): Promise<void>;
  /** Drops acked entries with seq <= `seq` (their effect is in the replica now). */
  dropAcked(seq: number): Promise<void>;
  result(id: string): Promise<StoredResult | undefined>;
  results(): Promise<StoredResult[]>;

  // --- uploads ----------------------------------------------------------------------------
  /** Stores an upload unless one with that sha256 exists; returns the stored one. */
  putUpload(record: UploadRecord): Promise<UploadRecord>;
  getUpload(sha256: string): Promise<UploadRecord | undefined>;
  updateUpload(sha256: string, patch: Partial<Pick<UploadRecord, "url" | "state" | "code">>): Promise<void>;
  /** Uploads without their bytes' contents mattering to the caller (still returned). */
  uploads(): Promise<UploadRecord[]>;

  /** Deletes everything (sign-out). */
  purgeAll(): Promise<void>;
}

/**
 * The protocol's version rule: an upsert applies over nothing, a live row of a lower-or-equal
 * version or a tombstone of a lower version; a delete applies if its version is at least
 * what is held.
 */
export function shouldApply(held: Pick<StoredRow, "version" | "deleted"> | undefined, change: Pick<ChangeIn, "op" | "version">): boolean {
  if (held === undefined) return true;
  if (change.op === "delete") return change.version >= held.version;
  return held.deleted ? change.version > held.version : change.version >= held.version;
}

/** The row a change leaves behind. */
export function rowFromChange(change: ChangeIn): StoredRow {
  const deleted = change.op === "delete";
  return {
    scope: change.scope,
    entity: change.entity,
    id: change.id,
    version: change.version,
    deleted,
    data: deleted ? null : (change.data ?? {}),
    keys: deleted ? [] : change.keys,
  };
}

/** The index key of a field value: `"<entity>|<field>|<JSON of the value>"`. */
export function indexKey(entity: string, field: string, value: unknown): string {
  return `${entity}|${field}|${JSON.stringify(value ?? null)}`;
}
