// The app's view of its data, for components: replica rows per entity (with the outbox's
// optimistic effects laid over them), the outbox, sync state and problems. `sdk.ts` is the only
// module that talks to @fieldsync/client; it feeds this store, and components read it with hooks.
import { useEffect, useState } from "preact/hooks";
import type { Entity, EntityRows } from "./rows";

/** A mutation the server has not acknowledged yet (from the SDK's outbox). */
export interface PendingMutation {
  id: string;
  seq: number;
  name: string;
  args: Record<string, any>;
  createdAt: string;
}

/** The outbox's mutations that name `recordId` in their arguments (to mark it "waiting"). */
export function pendingFor(outbox: PendingMutation[], recordId: string): PendingMutation[] {
  return outbox.filter((m) => Object.values(m.args ?? {}).includes(recordId));
}

export interface Problem {
  /** The mutation's id. */
  id: string;
  seq: number;
  name: string;
  args: Record<string, any>;
  status: "rejected" | "conflict";
  code: string | null;
  message: string | null;
  data: any;
  at: string;
}

export interface SyncState {
  online: boolean;
  syncing: boolean;
  /** Mutations not yet acknowledged by the server. */
  pending: number;
  lastSyncedAt: number | null;
  problems: Problem[];
  /** The live socket is connected (changes by others arrive at once). */
  live: boolean;
  /** A connection or server problem the SDK reported, in its words. */
  error: string | null;
}

const rows = new Map<Entity, any[]>();
const rowsListeners = new Map<Entity, Set<() => void>>();
let outbox: PendingMutation[] = [];
let sync: SyncState = { online: navigator.onLine, syncing: false, pending: 0, lastSyncedAt: null, problems: [], error: null, live: false };
const syncListeners = new Set<() => void>();
/** Entities some screen is showing: the SDK adapter reloads only these after a change. */
const wanted = new Set<Entity>();
let onWanted: (entity: Entity) => void = () => {};

export function setWantedHandler(fn: (entity: Entity) => void): void {
  onWanted = fn;
  wanted.forEach(fn);
}
export function wantedEntities(): Entity[] {
  return [...wanted];
}

export function setRows<E extends Entity>(entity: E, next: EntityRows[E][]): void {
  rows.set(entity, next);
  rowsListeners.get(entity)?.forEach((fn) => fn());
}
export function getRows<E extends Entity>(entity: E): EntityRows[E][] {
  return (rows.get(entity) ?? []) as EntityRows[E][];
}
export function setOutbox(next: PendingMutation[]): void {
  outbox = next;
  syncListeners.forEach((fn) => fn());
}
export function getOutbox(): PendingMutation[] {
  return outbox;
}
export function setSync(patch: Partial<SyncState>): void {
  sync = { ...sync, ...patch };
  syncListeners.forEach((fn) => fn());
}
export function getSync(): SyncState {
  return sync;
}

/** Rows of one entity, re-rendering when they change. */
export function useRows<E extends Entity>(entity: E): EntityRows[E][] {
  const [, bump] = useState(0);
  useEffect(() => {
    let set = rowsListeners.get(entity);
    if (!set) rowsListeners.set(entity, (set = new Set()));
    const fn = () => bump((n) => n + 1);
    set.add(fn);
    if (!wanted.has(entity)) {
      wanted.add(entity);
      onWanted(entity);
    }
    return () => void set!.delete(fn);
  }, [entity]);
  return getRows(entity);
}

export function useSync(): SyncState {
  const [, bump] = useState(0);
  useEffect(() => {
    const fn = () => bump((n) => n + 1);
    syncListeners.add(fn);
    return () => void syncListeners.delete(fn);
  }, []);
  return sync;
}

export function useOutbox(): PendingMutation[] {
  useSync();
  return outbox;
}

/** Ticks every `ms` (for "synced 2 minutes ago"). */
export function useClock(ms = 30_000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const h = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(h);
  }, [ms]);
  return now;
}
