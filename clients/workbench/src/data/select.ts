// Lookups over replica rows that several screens share (indexes memoised on the row arrays).
import type { Order, Organisation, Price, Product, Quota } from "./rows";

const indexCache = new WeakMap<object, Map<string, any>>();

/** `byId(rows).get(id)`; built once per rows array. */
export function byId<T extends { id: string }>(rows: T[]): Map<string, T> {
  let m = indexCache.get(rows);
  if (!m) {
    m = new Map(rows.map((r) => [r.id, r]));
    indexCache.set(rows, m);
  }
  return m as Map<string, T>;
}

const groupCache = new WeakMap<object, Map<string, Map<string, any[]>>>();

/** `groupBy(rows, "order_id").get(orderId)`; built once per rows array and field. */
export function groupBy<T, K extends keyof T & string>(rows: T[], field: K): Map<string, T[]> {
  let byField = groupCache.get(rows as object);
  if (!byField) groupCache.set(rows as object, (byField = new Map()));
  let m = byField.get(field);
  if (!m) {
    m = new Map();
    for (const r of rows) {
      const k = String(r[field]);
      const list = m.get(k);
      if (list) list.push(r);
      else m.set(k, [r]);
    }
    byField.set(field, m);
  }
  return m as Map<string, T[]>;
}

export function today(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** Region ids from `regionId` up to the country (quotas and authorisations apply from above). */
export function regionChain(regionId: string | null, regions: Map<string, { parent_id: string | null }>): Set<string> {
  const out = new Set<string>();
  let id = regionId;
  while (id && !out.has(id)) {
    out.add(id);
    id = regions.get(id)?.parent_id ?? null;
  }
  return out;
}

/** This period's quotas that limit `product` for the distributor (by SKU or by its category). */
export function quotasFor(product: Product, quotas: Quota[], regions: Set<string>, on = today()): Quota[] {
  return quotas.filter(
    (q) =>
      q.supplier_id === product.supplier_id &&
      q.period_start <= on && on <= q.period_end &&
      (regions.size === 0 || regions.has(q.region_id)) &&
      (q.product_id === product.id || (q.product_id === null && q.category_id === product.category_id)),
  );
}

/** What is left of the tightest quota, or null for no limit. */
export function quotaLeft(product: Product, quotas: Quota[], regions: Set<string>): number | null {
  const qs = quotasFor(product, quotas, regions);
  if (qs.length === 0) return null;
  return Math.min(...qs.map((q) => Math.max(0, q.limit_qty - q.used_qty)));
}

export function priceOf(productId: string, prices: Price[]): Price | undefined {
  return groupBy(prices, "product_id").get(productId)?.[0];
}

export function orgName(id: string | null, orgs: Map<string, Organisation>): string {
  return (id && orgs.get(id)?.name) || "–";
}

export function productLabel(p: Product | undefined): string {
  return p ? p.name : "–";
}

/** Newest first. */
export function byNewest<T extends { created_at?: string; id: string }>(a: T, b: T): number {
  return (b.created_at ?? b.id).localeCompare(a.created_at ?? a.id);
}

export function orderTitle(o: Order): string {
  return `#${o.id.slice(-6).toUpperCase()}`;
}
