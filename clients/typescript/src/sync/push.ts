/**
 * Pushing the outbox: `POST /sync/v1/push` in seq order, up to the first mutation still waiting
 * for its photo. Every documented answer is handled so the outbox can never wedge:
 *
 * - applied / duplicate / conflict / rejected: acknowledged, the result stored; applied ones
 *   (and duplicates of applied ones) stay as `acked` so their optimistic effect shows until a
 *   pull covers them, the others leave at once;
 * - `seq_gap` with `expected_seq` below our first pending seq: nothing we hold fills the gap
 *   (a mutation refused locally, below, leaves one), so the pending entries — none of them ever
 *   acknowledged, so their ids are new to the server — are renumbered from `expected_seq`;
 * - `seq_reused` (our seq was taken by another id; nothing ran): the same, from the server's
 *   next seq; `id_reused` is final (that id already ran under another seq) like any rejection;
 * - 413 `batch_too_large` halves the batch; 400 `invalid_request` or 413 `body_too_large` on a
 *   batch of one marks that mutation rejected locally (the next push renumbers past it);
 * - 429 / 503 / 5xx / network: thrown with Retry-After for the caller's backoff; 401 is the
 *   auth layer's; 426 is UpgradeRequiredError.
 */
import { FieldsyncHttpError, UpgradeRequiredError } from "../errors.js";
import type { Http } from "../http.js";
import type { OutboxEntry, StorageAdapter, StoredResult } from "../storage/adapter.js";
import type { MutationResult } from "../types.js";

export const PROTOCOL = 1;

interface PushResultOut {
  id: string;
  seq: number;
  status: string;
  code?: string | null;
  message?: string | null;
  data?: unknown;
  original_status?: string | null;
}

interface PushReply {
  results: PushResultOut[];
  last_applied_seq: number | null;
  expected_seq: number | null;
}

export interface PushContext {
  http: Http;
  storage: StorageAdapter;
  clientId: string;
  authorized: <T>(call: (token: string) => Promise<T>) => Promise<T>;
}

/** The outbox's head that may go now: pending entries up to the first one waiting for a photo. */
export async function readyToPush(storage: StorageAdapter, limit: number): Promise<OutboxEntry[]> {
  const ready: OutboxEntry[] = [];
  for (const entry of await storage.outbox()) {
    if (entry.state !== "pending") continue;
    if (entry.afterUpload !== null) {
      const upload = await storage.getUpload(entry.afterUpload);
      if (upload !== undefined && upload.state === "pending") break;
    }
    ready.push(entry);
    if (ready.length >= limit) break;
  }
  return ready;
}

function publicStatus(r: PushResultOut): MutationResult["status"] {
  const status = (r.status === "duplicate" ? (r.original_status ?? "duplicate") : r.status) as MutationResult["status"];
  return ["applied", "duplicate", "conflict", "rejected"].includes(status) ? status : "rejected";
}

export interface PushOutcome {
  results: MutationResult[];
  /** Mutations acknowledged (or refused locally) by this push. */
  sent: number;
  /** The batch size to use next (smaller after a 413 or 400). */
  batch: number;
  /** Push again even though nothing was acknowledged (batch shrunk, or outbox renumbered). */
  again: boolean;
  renumbered: boolean;
}

/** One push of up to `batch` mutations; returns the results it stored (empty: nothing to push). */
export async function pushOnce(ctx: PushContext, batch: number): Promise<PushOutcome> {
  const entries = await readyToPush(ctx.storage, batch);
  if (entries.length === 0) return { results: [], sent: 0, batch, again: false, renumbered: false };
  const envelope = {
    client_id: ctx.clientId,
    protocol: PROTOCOL,
    mutations: entries.map((e) => ({ id: e.id, seq: e.seq, name: e.name, args: e.args, client_time: e.clientTime })),
  };
  let reply: PushReply;
  try {
    const raw = await ctx.authorized((token) => ctx.http.call("sync/v1/push", { body: envelope, token }));
    reply = JSON.parse(raw.text) as PushReply;
  } catch (error) {
    if (!(error instanceof FieldsyncHttpError)) throw error;
    if (error.status === 426) throw new UpgradeRequiredError((error.details as { min_protocol?: number } | null)?.min_protocol ?? null);
    if (error.code === "batch_too_large" && entries.length > 1) {
      const max = (error.details as { max_batch?: number } | null)?.max_batch;
      return { results: [], sent: 0, batch: Math.max(1, Math.min(max ?? batch, Math.floor(entries.length / 2))), again: true, renumbered: false };
    }
    if ((error.status === 400 || error.status === 413) && error.code !== "sync_rate_limited") {
      if (entries.length > 1) return { results: [], sent: 0, batch: Math.max(1, Math.floor(entries.length / 2)), again: true, renumbered: false };
      // This one mutation can never be read by the server: refuse it here, so it cannot wedge.
      const entry = entries[0]!;
      const result: StoredResult = {
        id: entry.id,
        seq: entry.seq,
        name: entry.name,
        status: "rejected",
        code: error.code,
        message: `refused before it could run: ${error.message}`,
        data: error.details,
        at: new Date().toISOString(),
      };
      await ctx.storage.acknowledge([result], [entry.id]);
      return { results: [result as MutationResult], sent: 1, batch, again: true, renumbered: false };
    }
    throw error;
  }
  const byId = new Map(entries.map((e) => [e.id, e]));
  const stored: StoredResult[] = [];
  const fresh: MutationResult[] = [];
  const drop: string[] = [];
  const now = new Date().toISOString();
  let reusedFrom: number | null = null;
  for (const r of reply.results) {
    if (r.status === "rejected" && r.code === "seq_gap") continue;
    if (r.status === "rejected" && r.code === "seq_reused") {
      // Our seq was already taken by another mutation (a restored backup, a shared client id);
      // nothing ran, and this id is new to the server: keep it and push it again at the next seq.
      const hinted = (r.data as { expected_seq?: number } | null)?.expected_seq;
      reusedFrom = Math.max(reusedFrom ?? 0, hinted ?? 0, (reply.last_applied_seq ?? 0) + 1);
      continue;
    }
    const entry = byId.get(r.id);
    const status = publicStatus(r);
    stored.push({
      id: r.id,
      seq: r.seq,
      name: entry?.name ?? "",
      status,
      code: r.code ?? null,
      message: r.message ?? null,
      data: r.data ?? null,
      at: now,
    });
    fresh.push({ ...(stored.at(-1) as MutationResult), duplicate: r.status === "duplicate" });
    // An applied mutation's effect shows until a pull covers it; the others have none.
    if (status !== "applied" && status !== "duplicate") drop.push(r.id);
  }
  await ctx.storage.acknowledge(stored, drop);
  let renumbered = false;
  if (reusedFrom !== null) {
    await ctx.storage.resequence(Math.max(reusedFrom, (reply.last_applied_seq ?? 0) + 1));
    renumbered = true;
  } else if (reply.expected_seq != null && stored.length === 0 && reply.expected_seq < entries[0]!.seq) {
    await ctx.storage.resequence(reply.expected_seq);
    renumbered = true;
  }
  return { results: fresh, sent: stored.length, batch, again: renumbered || stored.length > 0, renumbered };
}
