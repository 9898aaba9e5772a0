// Orders and their states: the distributor's purchase orders, the field rep's sales orders, the
// supplier's incoming purchase orders (confirm, reject with a reason, ship with a delivery note).
import { useState } from "preact/hooks";
import { dateTime, money, num } from "../format";
import { t, tn } from "../i18n";
import type { Key } from "../locales/en";
import { newId } from "../data/ids";
import { dismissProblem, mutate, useMe } from "../data/sdk";
import { byId, byNewest, groupBy, orderTitle, orgName } from "../data/select";
import type { Problem } from "../data/store";
import { pendingFor, useOutbox, useRows, useSync } from "../data/store";
import type { OrderLine } from "../data/rows";
import { navigate } from "../router";
import { Card, Empty, Link, PendingPill, StatePill, Stepper, toast } from "../ui/parts";
import { problemsFor, RecordProblems } from "../ui/problems";

function param(name: string): string | null {
  return new URLSearchParams(location.search).get(name);
}

function orderTotal(lines: OrderLine[]): number | null {
  if (!lines.length || lines.some((l) => l.line_total_minor === null)) return null;
  return lines.reduce((n, l) => n + (l.line_total_minor ?? 0), 0);
}

export function OrdersList(props: { incoming?: boolean }) {
  const me = useMe()!;
  const orgs = byId(useRows("organisation"));
  const lines = groupBy(useRows("order_line"), "order_id");
  const outbox = useOutbox();
  const sync = useSync();
  const state = param("state");
  const all = useRows("order").filter((o) =>
    // a supplier sees an order once it is submitted (a distributor's draft is not incoming yet)
    props.incoming ? o.kind === "purchase" && o.supplier_id === me.user.org_id && o.state !== "draft"
      : me.user.role === "field_staff" ? o.kind === "sales" && o.created_by === me.user.id
      : o.kind === "purchase",
  );
  const orders = all.filter((o) => !state || o.state === state).sort(byNewest);
  const states = ["submitted", "confirmed", "shipped", "delivered", "draft", "rejected", "cancelled"].filter((s) => all.some((o) => o.state === s));
  return (
    <div data-testid={props.incoming ? "incoming" : "orders"}>
      <div class="chips-scroll">
        <button class={state ? "" : "on"} onClick={() => navigate(location.pathname.replace(/^\/app/, ""), true)}>{t("all")}</button>
        {states.map((s) => (
          <button key={s} class={state === s ? "on" : ""} onClick={() => navigate(`${location.pathname.replace(/^\/app/, "")}?state=${s}`, true)}>{t(`state_${s}` as Key)}</button>
        ))}
      </div>
      <ul class="list">
        {orders.slice(0, 100).map((o) => {
          const party = o.kind === "sales" ? orgName(o.terminal_id, orgs) : props.incoming ? orgs.get(o.distributor_id)?.name ?? t("a_distributor") : orgName(o.supplier_id, orgs);
          const ls = lines.get(o.id) ?? [];
          const total = orderTotal(ls);
          const problem = problemsFor(sync.problems, o.id).length > 0;
          return (
            <li key={o.id} data-testid="order-row" data-id={o.id} data-state={o.state}>
              <Link href={`/orders/${o.id}`} class="item">
                <div class="grow">
                  <div class="t">{party}</div>
                  <div class="s">{orderTitle(o)} · {dateTime(o.submitted_at ?? o.created_at)} · {tn("n_lines", ls.length)}{total !== null && o.currency ? " · " + money(total, o.currency) : ""}</div>
                </div>
                <div style={{ textAlign: "right" }}>
                  <StatePill state={o.state} />
                  {problem ? <div><span class="pill problem">{t("needs_attention")}</span></div> : pendingFor(outbox, o.id).length > 0 && <div><PendingPill /></div>}
                </div>
              </Link>
            </li>
          );
        })}
      </ul>
      {orders.length === 0 && <Empty>{t("no_orders")}</Empty>}
    </div>
  );
}

export function OrderDetail(props: { id: string }) {
  const me = useMe()!;
  const order = useRows("order").find((o) => o.id === props.id);
  const lines = (groupBy(useRows("order_line"), "order_id").get(props.id) ?? []).slice().sort((a, b) => a.product_id.localeCompare(b.product_id));
  const products = byId(useRows("product"));
  const orgs = byId(useRows("organisation"));
  const deliveries = useRows("delivery").filter((d) => d.order_id === props.id);
  const claims = useRows("claim").filter((c) => c.order_id === props.id);
  const outbox = useOutbox();
  const sync = useSync();
  const [rejecting, setRejecting] = useState(false);
  const [shipping, setShipping] = useState(false);
  const [editing, setEditing] = useState(false);
  const [reason, setReason] = useState("");
  const [note, setNote] = useState("");
  if (!order) return <Empty>{t("order_not_found")}</Empty>;
  const seller = order.kind === "purchase" ? me.user.org_id === order.supplier_id : false;
  const buyer = !seller && (me.user.role === "distributor_staff" || order.created_by === me.user.id);
  const waiting = pendingFor(outbox, order.id).length > 0;
  const problems = problemsFor(sync.problems, order.id);
  const total = orderTotal(lines);
  const step = async (name: string, args: Record<string, unknown> = {}) => {
    await mutate(name, { order_id: order.id, ...args });
    toast(t("saved_will_sync"));
  };
  const fix = (p: Problem) => {
    if (p.code !== "quota_exceeded" || order.state !== "draft") return editFix(p);
    const quotas: { product_id: string | null; remaining: number }[] = p.data?.server?.quotas ?? [];
    return {
      label: t("fix_fit_quota"),
      run: async () => {
        for (const l of lines) {
          const q = quotas.find((x) => x.product_id === l.product_id) ?? (quotas.length === 1 && quotas[0].product_id === null ? quotas[0] : undefined);
          if (q && l.qty > q.remaining) await mutate("order.update_line", { order_id: order.id, product_id: l.product_id, qty: Math.max(0, q.remaining) });
        }
        await mutate("order.submit", { order_id: order.id });
        await dismissProblem(p.id);
        toast(t("saved_will_sync"));
      },
    };
  };
  const editFix = (p: Problem) => order.state === "draft" && buyer ? { label: t("fix_edit"), run: () => { setEditing(true); void dismissProblem(p.id); } } : undefined;
  return (
    <div data-testid="order" data-state={order.state}>
      <RecordProblems
        recordId={order.id}
        fix={fix}
        onDiscard={(p) => { if (order.state === "draft" && p.name === "order.submit" && buyer) void mutate("order.cancel", { order_id: order.id }); }}
      />
      <Card>
        <div class="row">
          <div class="grow">
            <div class="t" style={{ fontWeight: 700 }}>{order.kind === "sales" ? orgName(order.terminal_id, orgs) : seller ? orgs.get(order.distributor_id)?.name ?? t("a_distributor") : orgName(order.supplier_id, orgs)}</div>
            <div class="small muted">{orderTitle(order)} · {t(order.kind === "sales" ? "sales_order" : "purchase_order")}</div>
          </div>
          <span data-testid="order-state"><StatePill state={order.state} /></span>
        </div>
        {waiting && !problems.length && <p class="small" style={{ color: "var(--warn)" }}>{t("order_waiting")}</p>}
        {order.reject_reason && <div class="notice bad" style={{ marginTop: ".6rem" }}>{t("rejected_because", { reason: order.reject_reason })}</div>}
        <dl class="kv" style={{ marginTop: ".6rem" }}>
          <dt>{t("created")}</dt><dd>{dateTime(order.created_at)}</dd>
          {order.submitted_at && <><dt>{t("state_submitted")}</dt><dd>{dateTime(order.submitted_at)}</dd></>}
          {order.confirmed_at && <><dt>{t("state_confirmed")}</dt><dd>{dateTime(order.confirmed_at)}</dd></>}
          {order.shipped_at && <><dt>{t("state_shipped")}</dt><dd>{dateTime(order.shipped_at)}</dd></>}
          {order.delivered_at && <><dt>{t("state_delivered")}</dt><dd>{dateTime(order.delivered_at)}</dd></>}
        </dl>
      </Card>
      <Card title={t("lines")}>
        {lines.map((l) => {
          const p = products.get(l.product_id);
          return (
            <div class="qline row" key={l.id} data-testid="order-line">
              <div class="grow">
                <div>{p?.name ?? "–"}</div>
                <div class="small muted">{p?.sku} {l.unit_price_minor !== null && order.currency ? "· " + money(l.unit_price_minor, order.currency) : ""}</div>
              </div>
              {editing && order.state === "draft" ? (
                <Stepper value={l.qty} label={t("quantity_of", { name: p?.sku ?? "" })} onChange={(n) => void mutate("order.update_line", { order_id: order.id, product_id: l.product_id, qty: n })} />
              ) : (
                <b>× {num(l.qty)}</b>
              )}
            </div>
          );
        })}
        {lines.length === 0 && <Empty>{t("no_lines")}</Empty>}
        {total !== null && order.currency && <div class="total"><span>{t("total")}</span><span>{money(total, order.currency)}</span></div>}
      </Card>
      {deliveries.map((d) => (
        <Card key={d.id} title={t("delivery")}>
          <div class="row"><span class="grow">{t("delivery_note")}: <b>{d.delivery_note || "–"}</b></span><StatePill state={d.state} /></div>
          <div class="small muted">{dateTime(d.shipped_at)}</div>
        </Card>
      ))}
      {claims.map((c) => (
        <Link key={c.id} href="/claims" class="notice warn" data-testid="order-claim">
          {t("claim_summary", { short: num(c.short_qty), damaged: num(c.damaged_qty), wrong: num(c.wrong_qty) })} · {t(`state_${c.state}` as Key)}
        </Link>
      ))}
      {buyer && order.state === "draft" && (
        <div class="actions">
          {!editing && <button class="btn secondary" onClick={() => setEditing(true)}>{t("edit")}</button>}
          <button class="btn" data-testid="submit-order" onClick={() => { setEditing(false); void step("order.submit"); }}>{t("submit")}</button>
          <button class="btn danger" onClick={() => step("order.cancel")}>{t("cancel_order")}</button>
        </div>
      )}
      {buyer && order.state === "submitted" && (
        <button class="btn danger block" onClick={() => step("order.cancel")}>{t("cancel_order")}</button>
      )}
      {seller && order.state === "submitted" && !rejecting && (
        <div class="actions">
          <button class="btn" data-testid="confirm-order" onClick={() => step("order.confirm")}>{t("confirm")}</button>
          <button class="btn danger" data-testid="reject-order" onClick={() => setRejecting(true)}>{t("reject")}</button>
        </div>
      )}
      {seller && rejecting && (
        <Card title={t("reject_order")}>
          <label class="field"><span>{t("reject_reason")}</span>
            <textarea data-testid="reject-reason" value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} />
          </label>
          <div class="actions">
            <button class="btn secondary" onClick={() => setRejecting(false)}>{t("back")}</button>
            <button class="btn danger" data-testid="reject-send" disabled={!reason.trim()} onClick={() => { setRejecting(false); void step("order.reject", { reason: reason.trim() }); }}>{t("reject")}</button>
          </div>
        </Card>
      )}
      {seller && order.state === "confirmed" && !shipping && (
        <button class="btn block" data-testid="ship-order" onClick={() => setShipping(true)}>{t("ship")}</button>
      )}
      {seller && shipping && (
        <Card title={t("ship_order")}>
          <label class="field"><span>{t("delivery_note")}</span>
            <input type="text" data-testid="delivery-note" value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} placeholder="DN-…" />
          </label>
          <div class="actions">
            <button class="btn secondary" onClick={() => setShipping(false)}>{t("back")}</button>
            <button class="btn" data-testid="ship-send" onClick={() => { setShipping(false); void step("order.ship", { delivery_id: newId(), delivery_note: note.trim() }); }}>{t("ship")}</button>
          </div>
        </Card>
      )}
    </div>
  );
}

