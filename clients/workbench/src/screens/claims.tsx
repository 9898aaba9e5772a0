// Claims opened by acceptances with short, damaged or wrong goods, and their outcome; the
// seller resolves them (`claim.resolve`, queued offline; the first resolution to arrive stands).
import { useState } from "preact/hooks";
import { dateTime, num } from "../format";
import { t } from "../i18n";
import { mutate, useMe } from "../data/sdk";
import { byId, byNewest, orgName } from "../data/select";
import { useRows } from "../data/store";
import type { Claim } from "../data/rows";
import { Card, Empty, StatePill, toast } from "../ui/parts";
import { RecordProblems } from "../ui/problems";

export function ClaimsScreen() {
  const me = useMe()!;
  const claims = useRows("claim").slice().sort((a, b) => byNewest({ id: a.id, created_at: a.opened_at }, { id: b.id, created_at: b.opened_at }));
  const products = byId(useRows("product"));
  const orgs = byId(useRows("organisation"));
  return (
    <div data-testid="claims">
      {claims.length === 0 && <Empty>{t("no_claims")}</Empty>}
      {claims.map((c) => (
        <ClaimCard key={c.id} claim={c} seller={me.user.org_id === c.supplier_id || (c.kind === "sales" && me.user.org_id === c.distributor_id && me.user.role === "distributor_staff")}
          party={me.user.role === "supplier_staff" ? orgs.get(c.distributor_id)?.name ?? t("a_distributor") : c.kind === "sales" ? orgName(c.terminal_id, orgs) : orgName(c.supplier_id, orgs)} products={products} />
      ))}
    </div>
  );
}

function ClaimCard(props: { claim: Claim; seller: boolean; party: string; products: Map<string, { name: string; sku: string }> }) {
  const c = props.claim;
  const [text, setText] = useState("");
  const [open, setOpen] = useState(false);
  const resolve = async () => {
    await mutate("claim.resolve", { claim_id: c.id, resolution: text.trim() });
    toast(t("claim_resolved"));
    setOpen(false);
  };
  return (
    <Card>
      <div class="row" data-testid="claim" data-id={c.id} data-state={c.state}>
        <div class="grow">
          <div style={{ fontWeight: 700 }}>{props.party}</div>
          <div class="small muted">{dateTime(c.opened_at)}</div>
        </div>
        <StatePill state={c.state} pending={c.pending} />
      </div>
      <RecordProblems recordId={c.id} />
      <p style={{ margin: ".5rem 0" }}>{t("claim_summary", { short: num(c.short_qty), damaged: num(c.damaged_qty), wrong: num(c.wrong_qty) })}</p>
      {c.items.map((i) => (
        <div class="small" key={i.delivery_line_id}>
          {props.products.get(i.product_id)?.name ?? "–"}: {[i.short && t("n_short", { n: num(i.short) }), i.damaged && t("n_damaged", { n: num(i.damaged) }), i.wrong && t("n_wrong", { n: num(i.wrong) })].filter(Boolean).join(", ")}
        </div>
      ))}
      {c.resolution && <div class="notice ok" style={{ marginTop: ".6rem" }}>{t("resolution")}: {c.resolution}</div>}
      {props.seller && c.state === "open" && !open && (
        <button class="btn secondary block" style={{ marginTop: ".6rem" }} data-testid="resolve-claim" onClick={() => setOpen(true)}>{t("resolve_claim")}</button>
      )}
      {open && (
        <div style={{ marginTop: ".6rem" }}>
          <label class="field"><span>{t("resolution")}</span><textarea data-testid="resolution" maxLength={4000} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} /></label>
          <button class="btn block" data-testid="resolve-send" disabled={!text.trim()} onClick={resolve}>{t("resolve_claim")}</button>
        </div>
      )}
    </Card>
  );
}
