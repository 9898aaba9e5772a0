// The catalog a distributor is authorised for (searchable by name and SKU) with its price and
// the quota left; a cart that becomes one purchase order per supplier, submitted.
import { useMemo, useState } from "preact/hooks";
import { money, num } from "../format";
import { t, tn } from "../i18n";
import { clearProducts, setQty, useCart } from "../data/cart";
import { newId } from "../data/ids";
import { mutate, useMe } from "../data/sdk";
import { byId, orgName, priceOf, quotaLeft, regionChain } from "../data/select";
import { useRows } from "../data/store";
import type { Product } from "../data/rows";
import { navigate } from "../router";
import { Card, Empty, Link, Stepper, toast } from "../ui/parts";

const PAGE = 40;

function useCatalogContext() {
  const me = useMe()!;
  const orgs = byId(useRows("organisation"));
  const regions = byId(useRows("region"));
  const own = orgs.get(me.user.org_id);
  const chain = useMemo(() => regionChain(own?.region_id ?? null, regions), [own, regions]);
  return { me, orgs, chain, prices: useRows("price"), quotas: useRows("quota") };
}

export function Catalog() {
  const [q, setQ] = useState("");
  const [limit, setLimit] = useState(PAGE);
  const products = useRows("product");
  const { orgs, chain, prices, quotas } = useCatalogContext();
  const cart = useCart();
  const query = q.trim().toLowerCase();
  const found = useMemo(
    () => products.filter((p) => p.active !== false && (!query || p.name.toLowerCase().includes(query) || p.sku.toLowerCase().includes(query))).sort((a, b) => a.sku.localeCompare(b.sku)),
    [products, query],
  );
  const inCart = Object.values(cart).reduce((n, v) => n + v, 0);
  return (
    <div data-testid="catalog">
      <div class="search">
        <input type="search" placeholder={t("search_name_sku")} aria-label={t("search_name_sku")} value={q} onInput={(e) => { setQ((e.target as HTMLInputElement).value); setLimit(PAGE); }} />
      </div>
      {inCart > 0 && (
        <Link href="/cart" class="btn block" data-testid="go-cart">{tn("cart_items", inCart)} · {t("view_cart")}</Link>
      )}
      <p class="small muted">{tn("products_found", found.length)}</p>
      <ul class="list">
        {found.slice(0, limit).map((p) => (
          <ProductRow key={p.id} p={p} supplier={orgName(p.supplier_id, orgs)} price={priceOf(p.id, prices)} left={quotaLeft(p, quotas, chain)} qty={cart[p.id] ?? 0} />
        ))}
      </ul>
      {found.length === 0 && <Empty>{t("no_products")}</Empty>}
      {found.length > limit && <button class="btn secondary block" onClick={() => setLimit(limit + PAGE)}>{t("show_more")}</button>}
    </div>
  );
}

function ProductRow(props: { p: Product; supplier: string; price?: { price_minor: number; currency: string }; left: number | null; qty: number }) {
  const { p } = props;
  return (
    <li data-testid="product" data-sku={p.sku}>
      <div class="item" style={{ cursor: "default" }}>
        <div class="grow">
          <div class="t">{p.name}</div>
          <div class="s">{p.sku} · {props.supplier}</div>
          <div class="s">
            <b style={{ color: "var(--ink)" }}>{props.price ? money(props.price.price_minor, props.price.currency) : t("no_price")}</b>
            {" · "}
            <span data-testid="quota-left">{props.left === null ? t("no_quota_limit") : t("quota_left", { n: num(props.left) })}</span>
          </div>
        </div>
        <div class="side">
          {props.qty > 0 ? (
            <Stepper value={props.qty} onChange={(n) => setQty(p.id, n)} label={t("quantity_of", { name: p.sku })} />
          ) : (
            <button class="btn secondary small" data-testid="add" onClick={() => setQty(p.id, 1)}>{t("add")}</button>
          )}
        </div>
      </div>
    </li>
  );
}

export function CartScreen() {
  const cart = useCart();
  const products = byId(useRows("product"));
  const { me, orgs, chain, prices, quotas } = useCatalogContext();
  const [busy, setBusy] = useState(false);
  const bySupplier = new Map<string, Product[]>();
  for (const id of Object.keys(cart)) {
    const p = products.get(id);
    if (!p) continue;
    bySupplier.set(p.supplier_id, [...(bySupplier.get(p.supplier_id) ?? []), p]);
  }
  const place = async (supplierId: string, items: Product[]) => {
    setBusy(true);
    try {
      const id = newId();
      await mutate("order.create", { id, kind: "purchase", supplier_id: supplierId, lines: items.map((p) => ({ product_id: p.id, qty: cart[p.id] })) });
      await mutate("order.submit", { order_id: id });
      clearProducts(items.map((p) => p.id));
      toast(t("order_placed"));
      navigate(`/orders/${id}`);
    } finally {
      setBusy(false);
    }
  };
  if (bySupplier.size === 0) {
    return (
      <div data-testid="cart">
        <Empty>{t("cart_empty")}</Empty>
        <Link href="/catalog" class="btn block">{t("tab_catalog")}</Link>
      </div>
    );
  }
  return (
    <div data-testid="cart">
      {[...bySupplier].map(([supplierId, items]) => {
        let total = 0;
        let currency = "";
        return (
          <Card key={supplierId} title={orgName(supplierId, orgs)}>
            {items.map((p) => {
              const price = priceOf(p.id, prices);
              const left = quotaLeft(p, quotas, chain);
              if (price) { total += price.price_minor * cart[p.id]; currency = price.currency; }
              const over = left !== null && cart[p.id] > left;
              return (
                <div class="qline" key={p.id}>
                  <div class="row">
                    <div class="grow">
                      <div>{p.name}</div>
                      <div class="small muted">{p.sku} · {price ? money(price.price_minor, price.currency) : t("no_price")}</div>
                      {over && <div class="small" style={{ color: "var(--warn)" }}>{t("over_quota_hint", { n: num(left!) })}</div>}
                    </div>
                    <Stepper value={cart[p.id]} onChange={(n) => setQty(p.id, n)} label={t("quantity_of", { name: p.sku })} />
                  </div>
                </div>
              );
            })}
            <div class="total"><span>{t("total")}</span><span>{currency ? money(total, currency) : "–"}</span></div>
            <p class="small muted">{me && t("order_submit_hint")}</p>
            <button class="btn block" disabled={busy} data-testid="place-order" onClick={() => place(supplierId, items)}>{t("place_order")}</button>
          </Card>
        );
      })}
    </div>
  );
}
