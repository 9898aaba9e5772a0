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

export async function pullAll(ctx: PullContext): Promise<PullOutcome> {
  const outcome: PullOutcome = { pulled: 0, pages: 0, repaired: [], revoked: [], resyncRequired: [] };
  const repairs = new Map<string, number>();
  let resync: string[] = [];
  const pendingUntil = Date.now() + (ctx.pendingWaitMs ?? 5_000);
  for (let guard = 0; guard < 100_000; guard++) {
    const cursor = (await ctx.storage.getMeta("cursor")) as string | undefined;
    const query: Record<string, string | number | undefined> = {
      limit: ctx.limit,
      client_id: ctx.clientId,
      cursor,
      resync: resync.length > 0 ? resync.join(",") : undefined,
    };
    const raw = await ctx.authorized((token) => ctx.http.call("sync/v1/pull", { token, query }));
    const page = JSON.parse(raw.text) as PullReply;
    resync = [];
    const entities = new Set<string>();
    const changes: ChangeIn[] = page.changes.map((c) => {
      entities.add(c.entity);
      return { ...c, keys: ctx.keysFor(c.entity, c.data) };
    });
    const purge = [...new Set([...page.reset, ...page.revoked])];
    const meta: Record<string, unknown> = { cursor: page.cursor };
    if (page.last_applied_seq != null) meta.last_applied_seq = page.last_applied_seq;
    if (page.revoked.length > 0) {
      const known = new Set(((await ctx.storage.getMeta("revoked_scopes")) as string[] | undefined) ?? []);
      for (const scope of page.revoked) known.add(scope);
      meta.revoked_scopes = [...known].slice(-100);
    }
    await ctx.storage.applyPage({ purge, changes, meta });
    if (purge.length > 0) entities.add("*");
    outcome.pages += 1;
    outcome.pulled += changes.length;
    outcome.revoked.push(...page.revoked);
    outcome.resyncRequired.push(...page.resync_required);
    await ctx.onPage(entities, page.last_applied_seq);
    const diverged = (await divergedScopes(ctx.storage, raw.text)).filter((s) => (repairs.get(s) ?? 0) < 2);
    if (diverged.length > 0) {
      for (const s of diverged) repairs.set(s, (repairs.get(s) ?? 0) + 1);
      outcome.repaired.push(...diverged.filter((s) => !outcome.repaired.includes(s)));
      resync = diverged;
      continue;
    }
    if (page.pending && Date.now() < pendingUntil) {
      await sleep(50);
      continue;
    }
    if (!page.has_more) return outcome;
  }
  throw new Error("pull did not finish");
}
