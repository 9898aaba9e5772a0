/** The public types of `@fieldsync/client`. */
import type { StorageAdapter } from "./storage/adapter.js";
import type { FetchLike } from "./http.js";

/** A user as the server describes them at sign-in. */
export interface User {
  id: string;
  org_id: string;
  username: string;
  display_name: string;
  role: string;
  active: boolean;
  [field: string]: unknown;
}

export interface Session {
  user: User;
  deviceId: string;
  /** When the access token expires (ms since the epoch). */
  expiresAt: number;
}

/** Mutation name → argument type (generated: `Mutations` in `generated/schema.ts`). */
export type MutationMap = { [name: string]: unknown };
/** Entity name → row type (generated: `Entities`). */
export type EntityMap = { [entity: string]: Record<string, unknown> };

/** Equality filter on a row's top-level fields; an array value means "any of these". */
export type Filter<Row> = { [K in keyof Row]?: Row[K] | ReadonlyArray<Row[K]> };

/** What `mutate()` resolves with once the mutation is stored in the outbox. */
export interface MutationHandle {
  id: string;
  seq: number;
}

/** The outcome of an acknowledged mutation, as the server reported it. */
export interface MutationResult {
  id: string;
  seq: number;
  name: string;
  /** applied, duplicate (of one whose original status is unknown), conflict or rejected. */
  status: "applied" | "duplicate" | "conflict" | "rejected";
  /** The stable code of a conflict or rejection (`quota_exceeded`, `invalid`, …). */
  code: string | null;
  /** The server's human message for a conflict or rejection. */
  message: string | null;
  /** Server-assigned values (applied), or `{server, kept}` (conflict), or details. */
  data: unknown;
  /** When the result arrived (ISO 8601). */
  at: string;
  /**
   * True when the server answered `duplicate` (a retry of a mutation it had already run; `status`
   * is then the original one). Only on results fresh from a push, not on stored ones.
   */
  duplicate?: boolean;
}

/** A mutation not yet acknowledged by the server. */
export interface PendingMutation {
  id: string;
  seq: number;
  name: string;
  args: unknown;
  clientTime: string;
  /** The photo (SHA-256) it waits for, if any. */
  afterUpload: string | null;
}

export interface PendingInfo {
  /** Mutations the server has not acknowledged yet ("3 changes waiting"). */
  waiting: number;
  mutations: PendingMutation[];
  /** Photos not uploaded yet. */
  uploads: number;
}

/** The client's state for a status bar; emitted as `status` whenever it changes. */
export interface SyncStatus {
  /** The last network call reached the server (false after a network failure). */
  online: boolean;
  signedIn: boolean;
  /** A sync is running. */
  syncing: boolean;
  /** Mutations not acknowledged yet. */
  waiting: number;
  /** Photos not uploaded yet. */
  uploading: number;
  /** When a sync last completed (ms since the epoch), or null. */
  lastSyncedAt: number | null;
  /** The live socket is connected. */
  live: boolean;
  /** The last error, cleared by the next successful sync: `{code, message}`. */
  error: { code: string; message: string } | null;
}

/** What one `sync()` did. */
export interface SyncReport {
  pushed: number;
  results: MutationResult[];
  pulled: number;
  pages: number;
  /** Scopes whose checksum disagreed and that were re-synced. */
  repaired: string[];
  revoked: string[];
  resyncRequired: string[];
  uploaded: string[];
  /** Photos whose upload was interrupted (offline, server error); the next sync resumes them. */
  interrupted: string[];
}

/** Options of `request()`: an authorised REST call. */
export interface RequestOptions {
  /** HTTP method (default: GET, or POST with a body). */
  method?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Query parameters (undefined ones are left out). */
  query?: Record<string, string | number | undefined>;
  /** Abort after this long (default: the client's timeout). */
  timeoutMs?: number;
}

/** Options of `uploadPhoto`. */
export interface PhotoOptions {
  /** MIME type (default `image/jpeg`). */
  filetype?: string;
  /** Queue `media.attach` for this record; it is pushed only once the upload has finished. */
  attach?: { recordType: string; recordId: string; kind?: string };
}

export interface PhotoHandle {
  sha256: string;
  /** The `media.attach` mutation, when `attach` was given. */
  attach: MutationHandle | null;
}

export interface UploadInfo {
  sha256: string;
  filetype: string;
  size: number;
  state: "pending" | "done" | "refused";
  /** Why the server refused it (`not_an_image`, …). */
  code: string | null;
  /** The tus upload URL, once created. */
  url: string | null;
}

/** A live event from `/ws` (chat messages, read markers, typing, …), as the server sent it. */
export interface LiveEvent {
  type: string;
  [field: string]: unknown;
}

/** What an optimistic handler may do to the local view while its mutation is unconfirmed. */
export interface OptimisticDraft {
  /** The row as the app currently sees it (replica plus earlier optimistic effects). */
  get(entity: string, id: string): Promise<Record<string, unknown> | undefined>;
  /** Rows of `entity` matching `filter` as the app currently sees them. */
  find(entity: string, filter: Record<string, unknown>): Promise<Record<string, unknown>[]>;
  /** Shows `data` as the row (replaces it). */
  put(entity: string, id: string, data: Record<string, unknown>): void;
  /** Merges `fields` into the row (if the row is visible). */
  patch(entity: string, id: string, fields: Record<string, unknown>): Promise<void>;
  /** Hides the row. */
  remove(entity: string, id: string): void;
}

export type OptimisticHandler = (args: any, draft: OptimisticDraft, ctx: { user: User | null }) => void | Promise<void>;

/** A WebSocket constructor (the browser's, or `ws` in Node 20). */
export type WebSocketLike = new (url: string) => {
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: { data: any }) => void) | null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null;
  onerror: ((ev: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  readonly readyState: number;
};

export interface ClientOptions {
  /** The server, e.g. `https://fieldsync.example.com`. */
  baseUrl: string;
  /** Where the replica, outbox and uploads live (`IndexedDbStorage`, `SqliteStorage`, …). */
  storage: StorageAdapter;
  /** Names this device's outbox (1–64 chars); default: minted once and kept in storage. */
  clientId?: string;
  platform?: "android" | "ios" | "web" | "cli";
  appVersion?: string;
  /** fetch implementation (default `globalThis.fetch`). */
  fetch?: FetchLike;
  /** WebSocket constructor for live pull hints (default `globalThis.WebSocket`; none: no live). */
  WebSocket?: WebSocketLike | null;
  /** Rows per pull page (1–5000, default 500). */
  pullLimit?: number;
  /** Mutations per push (default 100). */
  pushBatch?: number;
  /** Entity → fields that `query`/`watch` filters use; each gets an index in storage. */
  indexes?: Record<string, string[]>;
  /** Optimistic effects per mutation name (added to, and overriding, the built-in ones). */
  optimistic?: Record<string, OptimisticHandler>;
  /** Refresh the access token this many seconds before it expires (default 60, at most a third of its life). */
  refreshMarginS?: number;
  /** Backoff after a failure: first delay and ceiling (ms; default 500 and 60000), with full jitter. */
  backoff?: { baseMs?: number; maxMs?: number };
  /** While started, sync at least this often (ms, default 30000) even without a live hint. */
  syncIntervalMs?: number;
  /** tus chunk size in bytes (default 1 MiB). */
  uploadChunkSize?: number;
}

/** Events of `client.on(...)`. */
export interface ClientEvents {
  status: SyncStatus;
  /** A mutation was acknowledged (applied, duplicate, conflict or rejected). */
  result: MutationResult;
  /** A sync failed (the loop retries with backoff unless it is an AuthError). */
  error: Error;
  /** Rows of these entities changed (pull, local mutation, rebase). */
  change: { entities: string[] };
  /** A live event from the server (chat `message`, `read`, `typing`, …). */
  live: LiveEvent;
}
