// Goods acceptance: deliveries waiting; per line accepted / short / damaged / wrong, photos and
// a signature drawn on the screen; then the evidence receipt (the tamper-evident log's entry).
import { useEffect, useState } from "preact/hooks";
import { dateTime, num } from "../format";
import { t, tn } from "../i18n";
import { newId } from "../data/ids";
import { currentPosition, type Gps } from "../data/position";
import { keptProof, type KeptProof, wantsProof } from "../data/proofs";
import { fetchProof, mutate, uploadPhoto } from "../data/sdk";
import { byId, groupBy, orderTitle, orgName } from "../data/select";
import { useRows, useSync } from "../data/store";
import type { DeliveryLine } from "../data/rows";
import { navigate } from "../router";
import { Card, Empty, Link, PendingPill, PhotoInput, SignaturePad, StatePill, Stepper, Thumbs, toast } from "../ui/parts";
import { RecordProblems } from "../ui/problems";

export function DeliveriesScreen() {
  const deliveries = useRows("delivery").slice().sort((a, b) => (b.shipped_at ?? "").localeCompare(a.shipped_at ?? ""));
  const orgs = byId(useRows("organisation"));
  const orders = byId(useRows("order"));
  const lines = groupBy(useRows("delivery_line"), "delivery_id");
  const acceptances = groupBy(useRows("acceptance"), "delivery_id");
  const waiting = deliveries.filter((d) => d.state === "in_transit");
  const done = deliveries.filter((d) => d.state !== "in_transit").slice(0, 10);
  const row = (d: (typeof deliveries)[number]) => {
    const order = orders.get(d.order_id);
    const from = d.kind === "purchase" ? orgName(d.supplier_id, orgs) : orgName(d.terminal_id, orgs);
    const acc = acceptances.get(d.id)?.[0];
    return (
      <li key={d.id} data-testid="delivery" data-id={d.id} data-state={d.state}>
        <Link href={d.state === "in_transit" ? `/accept/${d.id}` : acc ? `/receipt/${acc.id}` : `/accept/${d.id}`} class="item">
          <div class="grow">
            <div class="t">{from}</div>
            <div class="s">{d.delivery_note || "–"} · {order ? orderTitle(order) : ""} · {tn("n_items", (lines.get(d.id) ?? []).reduce((n, l) => n + l.qty, 0))}</div>
            <div class="s">{dateTime(d.shipped_at)}</div>
          </div>
          <StatePill state={d.state} pending={d.pending} />
        </Link>
      </li>
    );
  };
  return (
    <div data-testid="deliveries">
      <h2 style={{ fontSize: "1rem" }}>{t("waiting_for_acceptance")}</h2>
      <ul class="list">{waiting.map(row)}</ul>
      {waiting.length === 0 && <Empty>{t("no_deliveries")}</Empty>}
      {done.length > 0 && <><h2 style={{ fontSize: "1rem" }}>{t("accepted_recently")}</h2><ul class="list">{done.map(row)}</ul></>}
    </div>
  );
}

interface LineCount { accepted: number; short: number; damaged: number; wrong: number }

export function AcceptScreen(props: { deliveryId: string }) {
  const delivery = useRows("delivery").find((d) => d.id === props.deliveryId);
  const lines: DeliveryLine[] = groupBy(useRows("delivery_line"), "delivery_id").get(props.deliveryId) ?? [];
  const products = byId(useRows("product"));
  const orgs = byId(useRows("organisation"));
  const existing = useRows("acceptance").find((a) => a.delivery_id === props.deliveryId);
  const [counts, setCounts] = useState<Record<string, LineCount>>({});
  const [photos, setPhotos] = useState<File[]>([]);
  const [signature, setSignature] = useState<Blob | null>(null);
  const [notes, setNotes] = useState("");
  const [busy, setBusy] = useState(false);
  // Asked for when the screen opens, so the fix is there by the time the inspector signs.
  const [gps, setGps] = useState<{ at: Promise<Gps | null>; value?: Gps | null } | null>(null);
  useEffect(() => {
    const at = currentPosition();
    setGps({ at });
    void at.then((value) => setGps({ at, value }));
  }, [props.deliveryId]);
  if (!delivery) return <Empty>{t("delivery_not_found")}</Empty>;
  if (existing && delivery.state !== "in_transit") {
    return (
      <div>
        <RecordProblems recordId={props.deliveryId} />
        <div class="notice ok">{t("already_accepted")}</div>
        <Link href={`/receipt/${existing.id}`} class="btn block">{t("view_receipt")}</Link>
      </div>
    );
  }
  const count = (l: DeliveryLine): LineCount => counts[l.id] ?? { accepted: l.qty, short: 0, damaged: 0, wrong: 0 };
  const set = (l: DeliveryLine, field: keyof LineCount, n: number) => {
    const c = { ...count(l), [field]: n };
    if (field !== "accepted") c.accepted = Math.max(0, l.qty - c.short - c.damaged - c.wrong);
    setCounts({ ...counts, [l.id]: c });
  };
  const bad = lines.filter((l) => { const c = count(l); return c.accepted + c.short + c.damaged + c.wrong !== l.qty; });
  const discrepant = lines.some((l) => { const c = count(l); return c.short + c.damaged + c.wrong > 0; });
  const submit = async () => {
    setBusy(true);
    try {
      const shas: string[] = [];
      for (const f of photos) shas.push(await uploadPhoto(f));
      const sig = signature ? await uploadPhoto(signature) : null;
      const id = newId();
      const position = gps ? await gps.at : null;
      await mutate("acceptance.record", {
        id, delivery_id: delivery.id, notes, gps: position, signature_sha256: sig, photo_sha256s: shas, accepted_at: new Date().toISOString(),
        lines: lines.map((l) => ({ delivery_line_id: l.id, ...count(l) })),
      });
      // Photos reach the record as their uploads finish ("photos may arrive after the record").
      for (const sha of shas) await mutate("media.attach", { sha256: sha, record_type: "acceptance", record_id: id, kind: "photo" }, { afterUpload: sha });
      if (sig) await mutate("media.attach", { sha256: sig, record_type: "acceptance", record_id: id, kind: "signature" }, { afterUpload: sig });
      toast(t("acceptance_saved"));
      navigate(`/receipt/${id}`, true);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div data-testid="accept">
      <Card>
        <div class="row"><b class="grow">{delivery.kind === "purchase" ? orgName(delivery.supplier_id, orgs) : orgName(delivery.terminal_id, orgs)}</b><StatePill state={delivery.state} /></div>
        <div class="small muted">{t("delivery_note")}: {delivery.delivery_note || "–"} · {dateTime(delivery.shipped_at)}</div>
      </Card>
      {lines.map((l) => {
        const c = count(l);
        const p = products.get(l.product_id);
        const off = c.accepted + c.short + c.damaged + c.wrong !== l.qty;
        return (
          <Card key={l.id}>
            <div data-testid="accept-line" data-sku={p?.sku}>
              <div class="row"><b class="grow">{p?.name ?? "–"}</b><span class="muted">{t("shipped_n", { n: num(l.qty) })}</span></div>
              <div class="counts">
                {(["accepted", "short", "damaged", "wrong"] as const).map((k) => (
                  <label key={k}>{t(`count_${k}`)}<Stepper value={c[k]} max={l.qty} onChange={(n) => set(l, k, n)} label={`${t(`count_${k}`)} ${p?.sku ?? ""}`} testid={`line-${k}`} /></label>
                ))}
              </div>
              {off && <div class="small" style={{ color: "var(--bad)", marginTop: ".3rem" }}>{t("counts_must_add_up", { n: num(l.qty) })}</div>}
            </div>
          </Card>
        );
      })}
      <Card title={t("photos")}>
        <Thumbs files={photos} />
        <PhotoInput label={t("take_photo")} testid="acceptance-photos" onFiles={(f) => setPhotos([...photos, ...f])} />
        {discrepant && photos.length === 0 && <p class="small" style={{ color: "var(--warn)" }}>{t("photo_discrepancy_hint")}</p>}
      </Card>
      <Card title={t("notes")}>
        <textarea value={notes} onInput={(e) => setNotes((e.target as HTMLTextAreaElement).value)} />
      </Card>
      <p class="small muted" data-testid="gps-state" data-gps={gps?.value ? "1" : "0"}>
        {gps?.value === undefined ? t("gps_locating") : gps.value ? t("gps_recorded") : t("gps_unavailable")}
      </p>
      <Card title={t("signature")}>
        <SignaturePad label={t("signature")} onChange={setSignature} />
      </Card>
      <button class="btn block" data-testid="submit-acceptance" disabled={busy || bad.length > 0 || !signature} onClick={submit}>{t("submit_acceptance")}</button>
      {!signature && <p class="small muted" style={{ textAlign: "center" }}>{t("sign_to_submit")}</p>}
    </div>
  );
}

export function ReceiptScreen(props: { acceptanceId: string }) {
  const acceptance = useRows("acceptance").find((a) => a.id === props.acceptanceId);
  const lines = groupBy(useRows("acceptance_line"), "acceptance_id").get(props.acceptanceId) ?? [];
  const claim = useRows("claim").find((c) => c.acceptance_id === props.acceptanceId);
  const products = byId(useRows("product"));
  const sync = useSync();
  // The proof kept on the phone shows at once (offline too); online, a newer version is fetched.
  const [kept, setKept] = useState<KeptProof | null>(() => keptProof(props.acceptanceId));
  const [proofError, setProofError] = useState<string | null>(null);
  const synced = !!acceptance && !acceptance.pending;
  const stale = !!acceptance && wantsProof(acceptance);
  useEffect(() => {
    if (!synced || !sync.online || !stale) return;
    fetchProof(props.acceptanceId, acceptance?.version ?? null).then(setKept, (e) => setProofError(String(e instanceof Error ? e.message : e)));
  }, [synced, sync.online, stale, props.acceptanceId]);
  const proof = kept?.proof ?? null;
  if (!acceptance) return <Empty>{t("acceptance_not_found")}</Empty>;
  const entry = proof?.entries?.[0];
  return (
    <div data-testid="receipt">
      <RecordProblems recordId={acceptance.delivery_id} />
      <RecordProblems recordId={acceptance.id} />
      <Card title={t("acceptance_receipt")}>
        <dl class="kv">
          <dt>{t("accepted_at")}</dt><dd>{dateTime(acceptance.accepted_at)}</dd>
          <dt>{t("photos")}</dt><dd>{num(acceptance.photo_sha256s?.length ?? 0)}</dd>
          <dt>{t("signature")}</dt><dd>{acceptance.signature_sha256 ? "✓" : "–"}</dd>
          <dt>{t("location")}</dt><dd data-testid="receipt-gps">{acceptance.gps_lat != null && acceptance.gps_lon != null ? `${acceptance.gps_lat.toFixed(5)}, ${acceptance.gps_lon.toFixed(5)}` : "–"}</dd>
        </dl>
        {lines.map((l) => (
          <div class="qline small" key={l.id}>
            <b>{products.get(l.product_id)?.name ?? "–"}</b>: {t("line_result", { accepted: num(l.accepted), shipped: num(l.shipped) })}
            {l.short + l.damaged + l.wrong > 0 && " · " + t("claim_summary", { short: num(l.short), damaged: num(l.damaged), wrong: num(l.wrong) })}
          </div>
        ))}
        {claim && <div class="notice warn" data-testid="receipt-claim" style={{ marginTop: ".6rem" }}>{t("claim_opened")}</div>}
      </Card>
      <Card title={t("evidence")}>
        {!synced && <div class="row"><PendingPill /><span class="small muted grow">{t("evidence_after_sync")}</span></div>}
        {synced && !proof && !proofError && <p class="muted small">{sync.online ? t("loading") : t("proof_when_online")}</p>}
        {proofError && !proof && <p class="small" style={{ color: "var(--bad)" }}>{proofError}</p>}
        {proof && (
          <div data-testid="evidence">
            <p class="small">{t("evidence_explained")}</p>
            <dl class="kv small">
              <dt>{t("log_entry")}</dt><dd data-testid="evidence-index">{entry?.index ?? "–"}</dd>
              <dt>{t("log_size")}</dt><dd>{proof.tree_head?.tree_size ?? "–"}</dd>
              <dt>{t("proof_fetched")}</dt><dd data-testid="proof-fetched">{dateTime(kept!.fetchedAt)}</dd>
            </dl>
            <div class="receipt" style={{ marginTop: ".5rem" }}>{entry?.leaf_hash ?? ""}<br />{proof.tree_head?.root_hash ?? ""}</div>
          </div>
        )}
      </Card>
      <Link href="/deliveries" class="btn secondary block">{t("back_to_deliveries")}</Link>
    </div>
  );
}
