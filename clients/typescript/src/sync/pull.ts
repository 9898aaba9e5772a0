/**
 * Pulling: `GET /sync/v1/pull` page after page while `has_more`, each page written with its
 * cursor in one storage transaction. `reset` and `revoked` scopes are purged first (the outbox
 * is never touched: after `resync_required` unsent work stays queued). `pending: true` is
 * waited out briefly. When a scope completes, its checksum is compared exactly (BigInt) with the
 * replica; a mismatch re-syncs that scope alone (`resync=<scope>`), at most twice per pull.
 */
import { checksumOf, parseChecksums } from "../checksum.js";
import type { Http } from "../http.js";
import type { ChangeIn, StorageAdapter } from "../storage/adapter.js";

interface ChangeOut {
  scope: string;
  entity: string;
  id: string;
  op: "upsert" | "delete";
  version: number;
  data?: Record<string, unknown> | null;
}

interface PullReply {
  changes: ChangeOut[];
  cursor: string;
  has_more: boolean;
  pending: boolean;
  last_applied_seq: number | null;
  reset: string[];
  resync_required: string[];
  revoked: string[];
}

export interface PullContext {
  http: Http;
  storage: StorageAdapter;
  clientId: string;
  limit: number;
  authorized: <T>(call: (token: string) => Promise<T>) => Promise<T>;
  keysFor: (entity: string, data: Record<string, unknown> | null | undefined) => string[];
  /** Called after every page is stored, with the entities it touched. */
  onPage: (entities: Set<string>, lastAppliedSeq: number | null) => Promise<void>;
  /** How long to keep asking while the server says `pending` (ms). */
  pendingWaitMs?: number;
}

export interface PullOutcome {
  pulled: number;
  pages: number;
  repaired: string[];
  revoked: string[];
  resyncRequired: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Compares the server's checksums with the replica; returns the scopes that disagree. */
export async function divergedScopes(storage: StorageAdapter, raw: string): Promise<string[]> {
  const diverged: string[] = [];
  for (const [scope, expected] of parseChecksums(raw)) {
    const held = checksumOf(await storage.scopeRows(scope));
    if (held.count !== expected.count || held.digest !== expected.digest) diverged.push(scope);
  }
  return diverged;
}

interface FetchedPage {
  raw: string;
  page: PullReply;
}

/** Fetches one page; a rejection is also caught here so a prefetch that is never awaited is not unhandled. */
function fetchPage(ctx: PullContext, cursor: string | undefined, resync: string[]): Promise<FetchedPage> {
  const query: Record<string, string | number | undefined> = {
    limit: ctx.limit,
    client_id: ctx.clientId,
    cursor,
    resync: resync.length > 0 ? resync.join(",") : undefined,
  };
  const fetched = ctx
    .authorized((token) => ctx.http.call("sync/v1/pull", { token, query }))
    .then((raw) => ({ raw: raw.text, page: JSON.parse(raw.text) as PullReply }));
  fetched.catch(() => undefined);
  return fetched;
}

/**
 * Pulls to the end. While a page is written, the next one (its cursor is known) is already being
 * fetched, so the server's time and the storage's overlap; a prefetched page is only ever applied
 * after the page before it was stored.
 */
export async function pullAll(ctx: PullContext): Promise<PullOutcome> {
  const outcome: PullOutcome = { pulled: 0, pages: 0, repaired: [], revoked: [], resyncRequired: [] };
  const repairs = new Map<string, number>();
  const pendingUntil = Date.now() + (ctx.pendingWaitMs ?? 5_000);
  let next: Promise<FetchedPage> = fetchPage(ctx, (await ctx.storage.getMeta("cursor")) as string | undefined, []);
  for (let guard = 0; guard < 100_000; guard++) {
    const { raw, page } = await next;
    const prefetched = page.has_more && !page.pending;
    if (prefetched) next = fetchPage(ctx, page.cursor, []);
    const entities = new Set<string>();
    const changes: ChangeIn[] = page.changes.map((c) => {
      entities.add(c.entity);
      return { ...c, keys: ctx.keysFor(c.entity, c.data) };
    });
    const purge = [...new Set([...page.reset, ...page.revoked])];
    const meta: Record<string, unknown> = { cursor: page.cursor };
    if (page.last_applied_seq != null) meta.last_applied_seq = page.last_applied_seq;
    await ctx.storage.applyPage({ purge, changes, meta });
    if (purge.length > 0) entities.add("*");
    outcome.pages += 1;
    outcome.pulled += changes.length;
    outcome.revoked.push(...page.revoked);
    outcome.resyncRequired.push(...page.resync_required);
    await ctx.onPage(entities, page.last_applied_seq);
    if (prefetched) continue; // checksums come on the last page only
    const diverged = (await divergedScopes(ctx.storage, raw)).filter((s) => (repairs.get(s) ?? 0) < 2);
    if (diverged.length > 0) {
      for (const s of diverged) repairs.set(s, (repairs.get(s) ?? 0) + 1);
      outcome.repaired.push(...diverged.filter((s) => !outcome.repaired.includes(s)));
      next = fetchPage(ctx, page.cursor, diverged);
      continue;
    }
    if (page.pending && Date.now() < pendingUntil) {
      await sleep(50);
      next = fetchPage(ctx, page.cursor, []);
      continue;
    }
    if (!page.has_more) return outcome;
    next = fetchPage(ctx, page.cursor, []);
  }
  throw new Error("pull did not finish");
}
