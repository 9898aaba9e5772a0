/**
 * Push notifications reach a phone at least once, not exactly once: a delivery worker that dies
 * after FCM accepted a batch and before it recorded so is followed, after its lease, by another
 * that sends the same rows again (docs/operations.md, "push delivery across a kill"). Every push
 * carries `data.push_id`; `SeenPushes` remembers the last ids a phone handled, persisted in any
 * storage adapter's `meta` map, so a repeat is dropped even after the app (or service worker)
 * was restarted in between.
 *
 * ```ts
 * const seen = new SeenPushes(storage);
 * const push = await acceptPush(seen, payload); // in the FCM / service-worker push handler
 * if (push.show) showNotification(push.title ?? "", { body: push.body ?? "", tag: push.tag ?? "" });
 * ```
 */
import type { StorageAdapter } from "./storage/adapter.js";

/** Where the seen ids live: the `meta` map of any storage adapter (or anything shaped like it). */
export type SeenPushStore = Pick<StorageAdapter, "getMeta" | "setMeta">;

export interface SeenPushesOptions {
  /** How many ids are kept (the oldest is forgotten first); 1..10,000, default 500. */
  capacity?: number;
  /** The meta key (default `seen_push_ids`); two sets in one store need two keys. */
  key?: string;
}

/** A push as a phone receives it: FCM's `data` (strings), maybe a `notification`. */
export interface PushPayload {
  data?: Record<string, string>;
  notification?: { title?: string; body?: string } | null;
  /** FCM web and Android name the collapse key either way. */
  collapse_key?: string;
  collapseKey?: string;
}

/** What a push handler should do with one received push. */
export interface PushDecision {
  /** False for a repeat of a push already handled: show nothing, sync nothing. */
  show: boolean;
  /** `data.push_id`, or null when the server sent none (then every copy is shown). */
  pushId: string | null;
  /** `data.kind`: `chat`, `sync` or `alert` (`sync` is data-only: sync, show nothing). */
  kind: string | null;
  title: string | null;
  body: string | null;
  /** A notification tag: the collapse key (a later chat push replaces the earlier one), else the id. */
  tag: string | null;
  data: Record<string, string>;
}

export const DEFAULT_SEEN_CAPACITY = 500;
const MAX_SEEN_CAPACITY = 10_000;
const PUSH_ID_MAX = 64;

/** The bounded, persisted set of push ids a phone has handled. */
export class SeenPushes {
  readonly capacity: number;
  private readonly key: string;
  /** One read-modify-write at a time: two pushes handled together must not lose an id. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: SeenPushStore,
    options: SeenPushesOptions = {},
  ) {
    const capacity = options.capacity ?? DEFAULT_SEEN_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_SEEN_CAPACITY) {
      throw new RangeError(`SeenPushes capacity must be a whole number in 1..${MAX_SEEN_CAPACITY}`);
    }
    this.capacity = capacity;
    this.key = options.key ?? "seen_push_ids";
  }

  /** True the first time `pushId` is offered (and it is remembered); false for a repeat. */
  firstSight(pushId: string): Promise<boolean> {
    return this.serial(async () => {
      const ids = await this.load();
      if (ids.includes(pushId)) return false;
      ids.push(pushId);
      await this.store.setMeta({ [this.key]: ids.slice(-this.capacity) });
      return true;
    });
  }

  /** Whether `pushId` was seen (among the last `capacity`). */
  has(pushId: string): Promise<boolean> {
    return this.serial(async () => (await this.load()).includes(pushId));
  }

  /** The remembered ids, oldest first. */
  ids(): Promise<string[]> {
    return this.serial(() => this.load());
  }

  private async load(): Promise<string[]> {
    const stored = await this.store.getMeta(this.key);
    return Array.isArray(stored) ? stored.filter((id): id is string => typeof id === "string") : [];
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/** `data.push_id` of a received push (bounded, non-empty), or null. */
export function pushIdOf(payload: unknown): string | null {
  const data = dataOf(payload);
  const id = data.push_id;
  return typeof id === "string" && id.length > 0 && id.length <= PUSH_ID_MAX ? id : null;
}

/**
 * Decides what to do with a received push, remembering its id: a repeat (same `push_id`)
 * comes back `show: false`. A payload without an id is always shown (nothing to compare).
 */
export async function acceptPush(seen: SeenPushes, payload: unknown): Promise<PushDecision> {
  const data = dataOf(payload);
  const pushId = pushIdOf(payload);
  const p = (typeof payload === "object" && payload !== null ? payload : {}) as PushPayload;
  const notification = typeof p.notification === "object" && p.notification !== null ? p.notification : {};
  const collapse = p.collapse_key ?? p.collapseKey;
  return {
    show: pushId === null ? true : await seen.firstSight(pushId),
    pushId,
    kind: typeof data.kind === "string" ? data.kind : null,
    title: typeof notification.title === "string" ? notification.title : null,
    body: typeof notification.body === "string" ? notification.body : null,
    tag: typeof collapse === "string" && collapse ? collapse : pushId,
    data,
  };
}

function dataOf(payload: unknown): Record<string, string> {
  if (typeof payload !== "object" || payload === null) return {};
  const data = (payload as PushPayload).data;
  if (typeof data !== "object" || data === null) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) if (typeof v === "string") out[k] = v;
  return out;
}
