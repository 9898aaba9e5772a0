/**
 * `@fieldsync/client`: the fieldsync sync SDK. Storage adapters are separate entry points so a
 * browser bundle never pulls in better-sqlite3: `@fieldsync/client/indexeddb`,
 * `@fieldsync/client/sqlite`; the shared adapter contract suite is `@fieldsync/client/testing`.
 */
export { createClient, FieldsyncClient, ChatApi, backoffDelay } from "./client.js";
export { AuthError, FieldsyncHttpError, NetworkError, UnsentWorkError, UpgradeRequiredError } from "./errors.js";
export type {
  ClientEvents,
  ClientOptions,
  EntityMap,
  Filter,
  LiveEvent,
  MutationHandle,
  MutationMap,
  MutationResult,
  OptimisticDraft,
  OptimisticHandler,
  PendingInfo,
  PendingMutation,
  PhotoHandle,
  PhotoOptions,
  RequestOptions,
  Session,
  SyncReport,
  SyncStatus,
  UploadInfo,
  User,
  WebSocketLike,
} from "./types.js";
export type { ChangeIn, OutboxEntry, PageWrite, StorageAdapter, StoredResult, StoredRow, UploadRecord } from "./storage/adapter.js";
export { indexKey, rowFromChange, shouldApply } from "./storage/adapter.js";
export { checksumOf, parseChecksums, rowDigest } from "./checksum.js";
export { builtinOptimistic } from "./optimistic.js";
export { generateTypes } from "./codegen.js";
export type { SyncSchema } from "./codegen.js";
export { uuidv7, hexId } from "./uuid.js";
export { sha256Hex } from "./uploads.js";
export type { Entities, Mutations } from "./generated/schema.js";
export { PROTOCOL } from "./sync/push.js";
export { acceptPush, DEFAULT_SEEN_CAPACITY, pushIdOf, SeenPushes } from "./pushes.js";
export type { PushDecision, PushPayload, SeenPushesOptions, SeenPushStore } from "./pushes.js";
