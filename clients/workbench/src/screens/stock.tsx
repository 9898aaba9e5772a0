// Stock at the distributor's warehouse: counted and expected units per SKU, flags, and a count.
import { useMemo, useState } from "preact/hooks";
import { dateTime, num } from "../format";
import { t, tn } from "../i18n";
import { newId } from "../data/ids";
import { mutate, useMe } from "../data/sdk";
import { byId } from "../data/select";
import { useRows } from "../data/store";
import type { StockLevel } from "../data/rows";
import { Empty, PendingPill, Stepper, toast } from "../ui/parts";

const LOW_QTY = 10;

export function StockScreen() {
  const me = useMe()!;
  const products = byId(useRows("product"));
  const all = useRows("stock_level").filter((s) => s.distributor_id === me.user.org_id && !s.terminal_id);
  const [q, setQ] = useState("");
  const [low, setLow] = useState(new URLSearchParams(location.search).get("low") === "1");
  const levels = useMemo(() => {
    const query = q.trim().toLowerCase();
    return all
      .filter((s) => {
        const p = products.get(s.product_id);
        if (query && !(p && (p.name.toLowerCase().includes(query) || p.sku.toLowerCase().includes(query)))) return false;
        return !low || (s.expected_qty ?? s.counted_qty ?? 0) <= LOW_QTY;
      })
      .sort((a, b) => (products.get(a.product_id)?.sku ?? "").localeCompare(products.get(b.product_id)?.sku ?? ""));
  }, [all, products, q, low]);
  const units = all.reduce((n, s) => n + (s.expected_qty ?? s.counted_qty ?? 0), 0);
  return (
    <div data-testid="stock">
      <div class="figures">
        <div class="figure"><div class="v">{num(all.length)}</div><div class="l">{t("skus_in_stock")}</div></div>
        <div class="figure"><div class="v">{num(units)}</div><div class="l">{t("units")}</div></div>
      </div>
      <div class="search">
        <input type="search" placeholder={t("search_name_sku")} aria-label={t("search_name_sku")} value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
      </div>
      <div class="seg">
        <button class={low ? "" : "on"} onClick={() => setLow(false)}>{t("all")}</button>
        <button class={low ? "on" : ""} onClick={() => setLow(true)}>{t("low_stock")}</button>
      </div>
      <p class="small muted">{tn("products_found", levels.length)}</p>
      <ul class="list">
        {levels.slice(0, 100).map((s) => <LevelRow key={s.id} level={s} name={products.get(s.product_id)?.name ?? "–"} sku={products.get(s.product_id)?.sku ?? ""} orgId={me.user.org_id} />)}
      </ul>
      {levels.length === 0 && <Empty>{t("no_stock")}</Empty>}
    </div>
  );
}

/** One SKU at a location with its count and a way to count it again. */
export function LevelRow(props: { level: StockLevel; name: string; sku: string; orgId: string }) {
  const s = props.level;
  const [counting, setCounting] = useState(false);
  const [qty, setQty] = useState(s.expected_qty ?? s.counted_qty ?? 0);
  const save = async () => {
    await mutate("stock_check.record", { id: newId(), org_id: props.orgId, product_id: s.product_id, counted_qty: qty, observed_at: new Date().toISOString() });
    setCounting(false);
    toast(t("count_saved"));
  };
  const expected = s.expected_qty ?? s.counted_qty;
  return (
    <li data-testid="stock-row" data-sku={props.sku}>
      <div class="item" style={{ cursor: "default", flexWrap: "wrap" }}>
        <div class="grow">
          <div class="t">{props.name}</div>
          <div class="s">{props.sku} · {s.observed_at ? t("counted_at", { when: dateTime(s.observed_at) }) : t("not_counted_yet")}</div>
          {(s.discrepancy || s.pending) && (
            <div>{s.discrepancy && <span class="pill problem">{t("flagged")}</span>} {s.pending && <PendingPill />}</div>
          )}
        </div>
        <div class="side">
          <span class="qty-big" data-testid="stock-qty" style={{ color: (expected ?? 0) <= LOW_QTY ? "var(--warn)" : undefined }}>{num(expected)}</span>
          {!counting && <button class="btn secondary small" onClick={() => setCounting(true)}>{t("count")}</button>}
        </div>
        {counting && (
          <div class="row" style={{ width: "100%", marginTop: ".5rem" }}>
            <Stepper value={qty} onChange={setQty} label={t("counted_qty_of", { name: props.sku })} />
            <button class="btn small grow" onClick={save}>{t("save")}</button>
          </div>
        )}
      </div>
    </li>
  );
}
