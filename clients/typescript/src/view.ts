/**
 * What the app sees: the replica plus the optimistic effects of every mutation the pulled state
 * does not cover yet (outbox entries past `last_applied_seq`), replayed in seq order.
 *
 * Rows of one (entity, id) may sit in several scopes (a terminal is in `org:` and `terminal:`);
 * the view shows the highest version. Queries use the storage index on the first filter field
 * that is indexed (`id` always is).
 */
import type { StorageAdapter, StoredRow } from "./storage/adapter.js";
import { indexKey } from "./storage/adapter.js";
import type { OptimisticDraft, OptimisticHandler, User } from "./types.js";

type Row = Record<string, unknown>;
/** entity → id → row shown (null: hidden). */
type Overlay = Map<string, Map<string, Row | null>>;

export function matches(row: Row, filter: Record<string, unknown>): boolean {
  for (const [field, wanted] of Object.entries(filter)) {
    if (wanted === undefined) continue;
    const value = row[field];
    if (Array.isArray(wanted)) {
      if (!wanted.some((w) => same(w, value))) return false;
    } else if (!same(wanted, value)) return false;
  }
  return true;
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return (a ?? null) === (b ?? null);
  return JSON.stringify(a) === JSON.stringify(b);
}

export class ReplicaView {
  private overlay: Overlay | null = null;
  private building: Promise<Overlay> | null = null;
  private generation = 0;

  constructor(
    private readonly storage: StorageAdapter,
    private readonly indexes: Record<string, string[]>,
    private readonly handlers: Record<string, OptimisticHandler>,
    private readonly user: () => User | null,
  ) {}

  /** The index keys stored with a row: `id` and every configured field of its entity. */
  keysFor(entity: string, data: Row | null | undefined): string[] {
    if (data == null) return [];
    const fields = new Set(["id", ...(this.indexes[entity] ?? [])]);
    return [...fields].filter((f) => f in data).map((f) => indexKey(entity, f, data[f]));
  }

  /** Forget the optimistic overlay (after a mutation, an acknowledgement or a pull). */
  invalidate(): void {
    this.generation += 1;
    this.overlay = null;
    this.building = null;
  }

  /** Entities the current overlay touches. */
  async overlayEntities(): Promise<string[]> {
    return [...(await this.currentOverlay()).keys()];
  }

  private async currentOverlay(): Promise<Overlay> {
    if (this.overlay !== null) return this.overlay;
    if (this.building === null) {
      const generation = this.generation;
      this.building = this.build().then((overlay) => {
        if (generation === this.generation) this.overlay = overlay;
        return overlay;
      });
    }
    return this.building;
  }

  private async build(): Promise<Overlay> {
    const overlay: Overlay = new Map();
    const draft: OptimisticDraft = {
      get: async (entity, id) => (await this.select(entity, { id }, overlay))[0],
      find: (entity, filter) => this.select(entity, filter, overlay),
      put: (entity, id, data) => entityMap(overlay, entity).set(id, { ...data }),
      patch: async (entity, id, fields) => {
        const row = (await this.select(entity, { id }, overlay))[0];
        if (row !== undefined) entityMap(overlay, entity).set(id, { ...row, ...fields });
      },
      remove: (entity, id) => entityMap(overlay, entity).set(id, null),
    };
    for (const entry of await this.storage.outbox()) {
      const handler = this.handlers[entry.name];
      if (handler === undefined) continue;
      try {
        await handler(entry.args, draft, { user: this.user() });
      } catch {
        // a handler that throws shows nothing for its mutation; the server's answer still comes
      }
    }
    return overlay;
  }

  /** Rows of `entity` matching `filter`, with the optimistic effects. */
  async query(entity: string, filter: Record<string, unknown> = {}): Promise<Row[]> {
    return this.select(entity, filter, await this.currentOverlay());
  }

  private async select(entity: string, filter: Record<string, unknown>, overlay: Overlay): Promise<Row[]> {
    const indexed = ["id", ...(this.indexes[entity] ?? [])].find(
      (f) => filter[f] !== undefined && !Array.isArray(filter[f]),
    );
    const stored = await this.storage.rows(entity, indexed === undefined ? undefined : indexKey(entity, indexed, filter[indexed]));
    const byId = new Map<string, StoredRow>();
    for (const row of stored) {
      const held = byId.get(row.id);
      if (held === undefined || row.version > held.version) byId.set(row.id, row);
    }
    const shown = new Map<string, Row>();
    for (const [id, row] of byId) if (row.data !== null) shown.set(id, row.data);
    for (const [id, row] of overlay.get(entity) ?? []) {
      if (row === null) shown.delete(id);
      else shown.set(id, row);
    }
    const out = [...shown.values()].filter((row) => matches(row, filter));
    return out.sort((a, b) => String(a.id).localeCompare(String(b.id)));
  }
}

function entityMap(overlay: Overlay, entity: string): Map<string, Row | null> {
  let m = overlay.get(entity);
  if (m === undefined) {
    m = new Map();
    overlay.set(entity, m);
  }
  return m;
}
