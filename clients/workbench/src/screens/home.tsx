// The workbench figures of the signed-in role, all computed from the phone's replica (so they
// work offline and move as soon as a pull or a local change lands).
import { num, pct } from "../format";
import { t, tn } from "../i18n";
import type { Key } from "../locales/en";
import { useMe } from "../data/sdk";
import { byId, groupBy, today } from "../data/select";
import { useRows } from "../data/store";
import type { Order } from "../data/rows";
import { Card, Empty, Figure, Link } from "../ui/parts";

const LOW_QTY = 10;

function OrdersByState(props: { orders: Order[] }) {
  const states = ["draft", "submitted", "confirmed", "shipped", "delivered", "rejected", "cancelled"];
  const by = groupBy(props.orders, "state");
  return (
    <Card title={t("orders_by_state")}>
      <ul class="list" style={{ boxShadow: "none", margin: 0 }}>
        {states.filter((s) => by.get(s)?.length).map((s) => (
          <li key={s}>
            <Link href={`/orders?state=${s}`} class="item" data-testid={`orders-${s}`}>
              <span class="grow">{t(`state_${s}` as Key)}</span>
              <b>{num(by.get(s)!.length)}</b>
            </Link>
          </li>
        ))}
      </ul>
      {props.orders.length === 0 && <Empty>{t("no_orders")}</Empty>}
    </Card>
  );
}

function DistributorHome(props: { orgId: string }) {
  const orders = useRows("order").filter((o) => o.kind === "purchase" && o.distributor_id === props.orgId);
  const quotas = useRows("quota").filter((q) => q.distributor_id === props.orgId && q.period_start <= today() && today() <= q.period_end);
  const levels = useRows("stock_level").filter((s) => s.distributor_id === props.orgId && !s.terminal_id);
  const claims = useRows("claim").filter((c) => c.state === "open");
  const categories = byId(useRows("category"));
  const products = byId(useRows("product"));
  const orgs = byId(useRows("organisation"));
  const low = levels.filter((s) => (s.expected_qty ?? s.counted_qty ?? 0) <= LOW_QTY).length;
  const flagged = useRows("stock_level").filter((s) => s.distributor_id === props.orgId && s.discrepancy).length;
  const limit = quotas.reduce((n, q) => n + q.limit_qty, 0);
  const used = quotas.reduce((n, q) => n + q.used_qty, 0);
  return (
    <>
      <div class="figures">
        <Figure value={num(orders.filter((o) => ["submitted", "confirmed", "shipped"].includes(o.state)).length)} label={t("orders_open")} href="/orders" testid="fig-orders-open" />
        <Figure value={num(Math.max(0, limit - used))} label={t("quota_left_total")} href="/catalog" testid="fig-quota-left" />
        <Figure value={num(low)} label={t("low_stock")} href="/stock?low=1" tone={low ? "warn" : undefined} testid="fig-low-stock" />
        <Figure value={num(claims.length + flagged)} label={t("open_discrepancies")} href="/claims" tone={claims.length + flagged ? "bad" : undefined} testid="fig-discrepancies" />
      </div>
      <Card title={t("quota_this_month")}>
        {quotas.length === 0 && <Empty>{t("no_quotas")}</Empty>}
        {quotas.map((q) => {
          const what = q.product_id ? products.get(q.product_id)?.name : categories.get(q.category_id ?? "")?.name;
          const name = `${what ?? "–"} · ${orgs.get(q.supplier_id)?.name ?? ""}`;
          const share = q.limit_qty ? q.used_qty / q.limit_qty : 0;
          return (
            <div class="qline" key={q.id}>
              <div class="row"><span class="grow">{name}</span><span class="small muted">{t("left_of", { left: num(Math.max(0, q.limit_qty - q.used_qty)), limit: num(q.limit_qty) })}</span></div>
              <div style={{ height: "6px", background: "#e6ece9", borderRadius: "3px", marginTop: ".3rem" }}>
                <div style={{ width: `${Math.round(Math.min(1, share) * 100)}%`, height: "6px", borderRadius: "3px", background: share > 0.9 ? "var(--bad)" : "var(--brand)" }} />
              </div>
            </div>
          );
        })}
      </Card>
      <OrdersByState orders={orders} />
    </>
  );
}

function RouteCard(props: { userId: string }) {
  const routes = useRows("route_assignment").filter((r) => r.user_id === props.userId);
  const orgs = byId(useRows("organisation"));
  const inspections = useRows("inspection");
  const day = today();
  const visited = new Set(inspections.filter((i) => (i.started_at ?? "").slice(0, 10) === day && i.inspector_id === props.userId).map((i) => i.terminal_id));
  return (
    <Card title={t("todays_route")}>
      <p class="small muted" style={{ margin: "0 0 .4rem" }}>{tn("shops_visited", visited.size, { total: num(routes.length) })}</p>
      <ul class="list" style={{ boxShadow: "none", margin: 0 }}>
        {routes.slice(0, 6).map((r) => (
          <li key={r.id}>
            <Link href={`/visit/${r.terminal_id}`} class="item">
              <span class="grow"><div class="t">{orgs.get(r.terminal_id)?.name ?? "–"}</div></span>
              {visited.has(r.terminal_id) ? <span class="pill delivered">{t("visited")}</span> : <span class="chev">›</span>}
            </Link>
          </li>
        ))}
      </ul>
      {routes.length > 6 && <Link href="/route" class="btn secondary block">{t("whole_route")}</Link>}
    </Card>
  );
}

function FieldHome(props: { userId: string; orgId: string }) {
  const orders = useRows("order").filter((o) => o.kind === "sales" && o.created_by === props.userId);
  const day = today();
  const todays = orders.filter((o) => (o.created_at ?? "").slice(0, 10) === day);
  const flagged = useRows("stock_level").filter((s) => s.terminal_id && s.discrepancy).length;
  return (
    <>
      <div class="figures">
        <Figure value={num(todays.length)} label={t("sales_orders_today")} href="/orders" testid="fig-sales-today" />
        <Figure value={num(flagged)} label={t("shelf_discrepancies")} tone={flagged ? "warn" : undefined} testid="fig-shelf-flags" />
      </div>
      <RouteCard userId={props.userId} />
    </>
  );
}

function InspectorHome(props: { userId: string }) {
  const deliveries = useRows("delivery").filter((d) => d.state === "in_transit");
  const claims = useRows("claim").filter((c) => c.state === "open");
  return (
    <>
      <div class="figures">
        <Figure value={num(deliveries.length)} label={t("deliveries_waiting")} href="/deliveries" tone={deliveries.length ? "warn" : undefined} testid="fig-deliveries" />
        <Figure value={num(claims.length)} label={t("open_claims")} href="/claims" tone={claims.length ? "bad" : undefined} testid="fig-claims" />
      </div>
      <RouteCard userId={props.userId} />
    </>
  );
}

function SupplierHome(props: { orgId: string }) {
  const orders = useRows("order").filter((o) => o.kind === "purchase" && o.supplier_id === props.orgId);
  const claims = useRows("claim").filter((c) => c.supplier_id === props.orgId && c.state === "open");
  const acceptances = useRows("acceptance");
  const rate = acceptances.length ? acceptances.filter((a) => a.has_discrepancy).length / acceptances.length : null;
  const n = (s: string) => orders.filter((o) => o.state === s).length;
  return (
    <>
      <div class="figures">
        <Figure value={num(n("submitted"))} label={t("to_confirm")} href="/incoming?state=submitted" tone={n("submitted") ? "warn" : undefined} testid="fig-to-confirm" />
        <Figure value={num(n("confirmed"))} label={t("to_ship")} href="/incoming?state=confirmed" testid="fig-to-ship" />
        <Figure value={num(claims.length)} label={t("open_claims")} href="/claims" tone={claims.length ? "bad" : undefined} testid="fig-claims" />
        <Figure value={pct(rate)} label={t("discrepancy_rate")} testid="fig-discrepancy-rate" />
      </div>
      <OrdersByState orders={orders} />
    </>
  );
}

export function Home() {
  const me = useMe()!;
  const role = me.user.role;
  return (
    <div data-testid="home">
      <p class="muted" style={{ margin: "0 0 .6rem" }}>
        {t("hello", { name: me.user.display_name || me.user.username })} · {me.org?.name ?? ""}
      </p>
      {role === "distributor_staff" && <DistributorHome orgId={me.user.org_id} />}
      {role === "field_staff" && <FieldHome userId={me.user.id} orgId={me.user.org_id} />}
      {role === "inspector" && <InspectorHome userId={me.user.id} />}
      {role === "supplier_staff" && <SupplierHome orgId={me.user.org_id} />}
      {!["distributor_staff", "field_staff", "inspector", "supplier_staff"].includes(role) && (
        <div class="notice">{t("role_not_in_app")}</div>
      )}
    </div>
  );
}
