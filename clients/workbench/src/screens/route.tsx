// Today's route and the visit to a shop: shelf counts, a sales order, an inspection against a
// template with the phone's camera, photo-required questions enforced, the score after submit.
import { useMemo, useState } from "preact/hooks";
import { money, num } from "../format";
import { t, tn } from "../i18n";
import type { Key } from "../locales/en";
import { hlc, newId } from "../data/ids";
import { clientId, mutate, uploadPhoto, useMe } from "../data/sdk";
import { byId, groupBy, priceOf, today } from "../data/select";
import { useRows } from "../data/store";
import type { Inspection, InspectionTemplate, Product, Question } from "../data/rows";
import { navigate } from "../router";
import { CameraIcon, Card, Empty, Link, PendingPill, PhotoInput, StatePill, Stepper, toast } from "../ui/parts";
import { RecordProblems } from "../ui/problems";
import { LevelRow } from "./stock";

export function RouteScreen() {
  const me = useMe()!;
  const routes = useRows("route_assignment").filter((r) => r.user_id === me.user.id);
  const orgs = byId(useRows("organisation"));
  const inspections = useRows("inspection");
  const day = today();
  return (
    <div data-testid="route">
      <p class="muted small">{tn("shops_on_route", routes.length)}</p>
      <ul class="list">
        {routes.map((r) => {
          const shop = orgs.get(r.terminal_id);
          const done = inspections.some((i) => i.terminal_id === r.terminal_id && i.inspector_id === me.user.id && (i.started_at ?? "").slice(0, 10) === day);
          return (
            <li key={r.id} data-testid="route-stop">
              <Link href={`/visit/${r.terminal_id}`} class="item">
                <div class="grow"><div class="t">{shop?.name ?? "–"}</div><div class="s">{shop?.code}</div></div>
                {done ? <span class="pill delivered">{t("visited")}</span> : <span class="chev">›</span>}
              </Link>
            </li>
          );
        })}
      </ul>
      {routes.length === 0 && <Empty>{t("no_route")}</Empty>}
    </div>
  );
}

type Tab = "counts" | "order" | "inspection";

export function Visit(props: { terminalId: string }) {
  const shop = byId(useRows("organisation")).get(props.terminalId);
  const [tab, setTab] = useState<Tab>((new URLSearchParams(location.search).get("tab") as Tab) || "counts");
  const me = useMe()!;
  return (
    <div data-testid="visit">
      <p style={{ margin: "0 0 .6rem", fontWeight: 700 }}>{shop?.name ?? "–"}</p>
      <div class="seg" role="tablist">
        {(["counts", "order", "inspection"] as Tab[]).map((k) => (
          <button key={k} role="tab" aria-selected={tab === k} class={tab === k ? "on" : ""} data-testid={`visit-tab-${k}`} onClick={() => setTab(k)}>{t(`visit_${k}` as Key)}</button>
        ))}
      </div>
      {tab === "counts" && <ShelfCounts terminalId={props.terminalId} />}
      {tab === "order" && (me.user.role === "inspector" ? <div class="notice">{t("inspectors_no_sales")}</div> : <SalesOrder terminalId={props.terminalId} />)}
      {tab === "inspection" && <InspectionPanel terminalId={props.terminalId} />}
    </div>
  );
}

function ProductSearch(props: { onPick: (p: Product) => void; exclude?: Set<string>; testid?: string }) {
  const [q, setQ] = useState("");
  const products = useRows("product");
  const query = q.trim().toLowerCase();
  const hits = useMemo(() => (query.length < 2 ? [] : products.filter((p) => !props.exclude?.has(p.id) && (p.sku.toLowerCase().includes(query) || p.name.toLowerCase().includes(query))).slice(0, 8)), [products, query, props.exclude]);
  return (
    <div>
      <input type="search" data-testid={props.testid} placeholder={t("search_name_sku")} aria-label={t("search_name_sku")} value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
      {hits.length > 0 && (
        <ul class="list" style={{ marginTop: ".4rem" }}>
          {hits.map((p) => (
            <li key={p.id}>
              <button class="item" data-testid="pick-product" data-sku={p.sku} onClick={() => { props.onPick(p); setQ(""); }}>
                <div class="grow"><div class="t">{p.name}</div><div class="s">{p.sku}</div></div>
                <span class="chev">＋</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function ShelfCounts(props: { terminalId: string }) {
  const levels = useRows("stock_level").filter((s) => s.terminal_id === props.terminalId);
  const products = byId(useRows("product"));
  const [adding, setAdding] = useState<Product | null>(null);
  const [qty, setQty] = useState(0);
  const counted = new Set(levels.map((l) => l.product_id));
  const save = async () => {
    if (!adding) return;
    await mutate("stock_check.record", { id: newId(), org_id: props.terminalId, product_id: adding.id, counted_qty: qty, observed_at: new Date().toISOString() });
    setAdding(null);
    setQty(0);
    toast(t("count_saved"));
  };
  return (
    <div data-testid="counts">
      <Card title={t("count_a_product")}>
        {!adding ? (
          <ProductSearch onPick={(p) => { setAdding(p); setQty(0); }} exclude={counted} testid="count-search" />
        ) : (
          <div>
            <div style={{ marginBottom: ".5rem" }}><b>{adding.name}</b> <span class="muted small">{adding.sku}</span></div>
            <div class="row">
              <Stepper value={qty} onChange={setQty} label={t("counted_qty_of", { name: adding.sku })} testid="count-qty" />
              <button class="btn grow" data-testid="count-save" onClick={save}>{t("save")}</button>
            </div>
          </div>
        )}
      </Card>
      <ul class="list">
        {levels.map((s) => <LevelRow key={s.id} level={s} name={products.get(s.product_id)?.name ?? "–"} sku={products.get(s.product_id)?.sku ?? ""} orgId={props.terminalId} />)}
      </ul>
      {levels.length === 0 && <Empty>{t("no_shelf_counts")}</Empty>}
    </div>
  );
}

function SalesOrder(props: { terminalId: string }) {
  const [lines, setLines] = useState<{ p: Product; qty: number }[]>([]);
  const prices = useRows("price");
  const [busy, setBusy] = useState(false);
  const place = async () => {
    setBusy(true);
    try {
      const id = newId();
      await mutate("order.create", { id, kind: "sales", terminal_id: props.terminalId, lines: lines.filter((l) => l.qty > 0).map((l) => ({ product_id: l.p.id, qty: l.qty })) });
      await mutate("order.submit", { order_id: id });
      setLines([]);
      toast(t("order_placed"));
      navigate(`/orders/${id}`);
    } finally {
      setBusy(false);
    }
  };
  let total = 0;
  let currency = "";
  return (
    <div data-testid="sales-order">
      <Card title={t("new_sales_order")}>
        <ProductSearch onPick={(p) => setLines([...lines, { p, qty: 1 }])} exclude={new Set(lines.map((l) => l.p.id))} testid="order-search" />
        {lines.map((l, i) => {
          const price = priceOf(l.p.id, prices);
          if (price) { total += price.price_minor * l.qty; currency = price.currency; }
          return (
            <div class="qline row" key={l.p.id} data-testid="draft-line">
              <div class="grow"><div>{l.p.name}</div><div class="small muted">{l.p.sku} · {price ? money(price.price_minor, price.currency) : t("no_price")}</div></div>
              <Stepper value={l.qty} onChange={(n) => setLines(lines.map((x, j) => (j === i ? { ...x, qty: n } : x)))} label={t("quantity_of", { name: l.p.sku })} />
            </div>
          );
        })}
        {lines.length > 0 && <div class="total"><span>{t("total")}</span><span>{currency ? money(total, currency) : "–"}</span></div>}
        <button class="btn block" style={{ marginTop: ".75rem" }} data-testid="place-sales-order" disabled={busy || !lines.some((l) => l.qty > 0)} onClick={place}>{t("place_order")}</button>
      </Card>
    </div>
  );
}

/** The newest version of each template family the distributor may use. */
function currentTemplates(all: InspectionTemplate[]): InspectionTemplate[] {
  const best = new Map<string, InspectionTemplate>();
  for (const tpl of all) {
    const held = best.get(tpl.family_id);
    if (!held || tpl.version_no > held.version_no) best.set(tpl.family_id, tpl);
  }
  return [...best.values()].sort((a, b) => a.title.localeCompare(b.title));
}

function InspectionPanel(props: { terminalId: string }) {
  const me = useMe()!;
  const templates = useRows("inspection_template");
  const inspections = useRows("inspection").filter((i) => i.terminal_id === props.terminalId);
  const [current, setCurrent] = useState<string | null>(null);
  const open = inspections.find((i) => i.id === current) ?? inspections.find((i) => i.status === "in_progress" && i.inspector_id === me.user.id);
  const done = inspections.filter((i) => i.status === "submitted").sort((a, b) => (b.submitted_at ?? "").localeCompare(a.submitted_at ?? ""));
  const start = async (tpl: InspectionTemplate) => {
    const id = newId();
    await mutate("inspection.start", { id, terminal_id: props.terminalId, template_id: tpl.id });
    setCurrent(id);
  };
  if (open) return <InspectionForm inspection={open} template={templates.find((x) => x.id === open.template_id)} />;
  return (
    <div data-testid="inspection-start">
      <Card title={t("start_inspection")}>
        {currentTemplates(templates).map((tpl) => (
          <button key={tpl.id} class="btn secondary block" style={{ marginBottom: ".5rem" }} data-testid="template" onClick={() => start(tpl)}>{tpl.title}</button>
        ))}
        {templates.length === 0 && <Empty>{t("no_templates")}</Empty>}
      </Card>
      {done.length > 0 && (
        <Card title={t("past_inspections")}>
          {done.slice(0, 5).map((i) => (
            <div class="qline row" key={i.id}>
              <span class="grow">{templates.find((x) => x.id === i.template_id)?.title ?? "–"}</span>
              <Score inspection={i} />
            </div>
          ))}
        </Card>
      )}
    </div>
  );
}

function Score(props: { inspection: Inspection }) {
  const i = props.inspection;
  if (i.score_pct === null || i.score_pct === undefined) return <PendingPill />;
  return <b data-testid="score">{t("score_value", { pct: num(i.score_pct), score: num(i.score ?? 0), max: num(i.max_score ?? 0) })}</b>;
}

function answered(q: Question, value: unknown): boolean {
  if (value === undefined || value === null || value === "") return false;
  if (Array.isArray(value)) return q.kind === "photo" ? value.length >= (q.min_count ?? 1) : value.length > 0;
  return true;
}

/** How many more photos a photo question needs (what is missing, not what it asks for). */
function photosMissing(q: Question, value: unknown): number {
  const taken = Array.isArray(value) ? value.length : 0;
  return Math.max(1, (q.min_count ?? 1) - taken);
}

function InspectionForm(props: { inspection: Inspection; template?: InspectionTemplate }) {
  const me = useMe()!;
  const { inspection, template } = props;
  const answers = groupBy(useRows("inspection_answer"), "inspection_id").get(inspection.id) ?? [];
  const value = (qid: string) => answers.find((a) => a.question_id === qid)?.value;
  const [busy, setBusy] = useState(false);
  if (!template) return <Empty>{t("template_missing")}</Empty>;
  const frozen = inspection.status === "submitted";
  const answer = (q: Question, v: unknown) => mutate("inspection.answer", { inspection_id: inspection.id, question_id: q.id, value: v, hlc: hlc(clientId() ?? me.user.id) });
  const missing = template.questions.filter((q) => q.required !== false && !answered(q, value(q.id)));
  const submit = async () => {
    setBusy(true);
    try {
      // Each photo is attached once its upload finished; the submission waits behind them.
      const photos = template.questions.filter((q) => q.kind === "photo").flatMap((q) => (value(q.id) as string[] | undefined) ?? []);
      for (const sha of photos) await mutate("media.attach", { sha256: sha, record_type: "inspection", record_id: inspection.id, kind: "photo" }, { afterUpload: sha });
      await mutate("inspection.submit", { inspection_id: inspection.id });
      toast(t("inspection_submitted"));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div data-testid="inspection" data-status={inspection.status}>
      <RecordProblems recordId={inspection.id} />
      <Card>
        <div class="row wrap">
          <b class="grow">{template.title}</b>
          <StatePill state={inspection.status} pending={inspection.pending} />
        </div>
        {frozen && (
          <div class="notice ok" style={{ marginTop: ".6rem" }} data-testid="score-card">
            {t("score")}: <Score inspection={inspection} />
            {inspection.score_pct === null && <div class="small">{t("score_after_sync")}</div>}
          </div>
        )}
      </Card>
      {template.questions.map((q) => (
        <Card key={q.id}>
          <div data-testid="question" data-qid={q.id} data-kind={q.kind}>
            <div style={{ fontWeight: 600, marginBottom: ".5rem" }}>
              {q.text}{q.required !== false && <span style={{ color: "var(--bad)" }}> *</span>}
            </div>
            <AnswerInput q={q} value={value(q.id)} disabled={frozen} onAnswer={(v) => void answer(q, v)} />
          </div>
        </Card>
      ))}
      {!frozen && (
        <>
          {missing.length > 0 && (
            <div class="notice warn" data-testid="missing">
              {t("still_needed")}
              <ul style={{ margin: ".3rem 0 0", paddingLeft: "1.2rem" }}>
                {missing.map((q) => <li key={q.id} data-testid="missing-item">{q.kind === "photo" ? tn("needs_photos", photosMissing(q, value(q.id)), { text: q.text }) : q.text}</li>)}
              </ul>
            </div>
          )}
          <button class="btn block" data-testid="submit-inspection" disabled={busy || missing.length > 0} onClick={submit}>{t("submit_inspection")}</button>
        </>
      )}
    </div>
  );
}

function AnswerInput(props: { q: Question; value: unknown; disabled: boolean; onAnswer: (v: unknown) => void }) {
  const { q, value, disabled } = props;
  const [text, setText] = useState<string>(typeof value === "string" ? value : "");
  const [uploading, setUploading] = useState(0);
  switch (q.kind) {
    case "yes_no":
      return (
        <div class="choices">
          {[true, false].map((v) => (
            <button key={String(v)} disabled={disabled} class={value === v ? "on" : ""} data-testid={`answer-${v ? "yes" : "no"}`} onClick={() => props.onAnswer(v)}>{t(v ? "yes" : "no")}</button>
          ))}
        </div>
      );
    case "number":
      return <Stepper value={typeof value === "number" ? value : (q.min ?? 0)} min={q.min ?? 0} max={q.max ?? undefined} label={q.text} onChange={(n) => !disabled && props.onAnswer(n)} testid="answer-number" />;
    case "single_choice":
      return (
        <div class="choices">
          {(q.options ?? []).map((o) => <button key={o} disabled={disabled} class={value === o ? "on" : ""} data-testid="answer-choice" onClick={() => props.onAnswer(o)}>{o}</button>)}
        </div>
      );
    case "multi_choice": {
      const picked = Array.isArray(value) ? (value as string[]) : [];
      return (
        <div class="choices">
          {(q.options ?? []).map((o) => (
            <button key={o} disabled={disabled} class={picked.includes(o) ? "on" : ""} data-testid="answer-choice"
              onClick={() => props.onAnswer(picked.includes(o) ? picked.filter((x) => x !== o) : [...picked, o])}>{o}</button>
          ))}
        </div>
      );
    }
    case "text":
      return <textarea disabled={disabled} maxLength={q.max_length} value={text} data-testid="answer-text" onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} onBlur={() => text !== value && props.onAnswer(text)} />;
    case "photo": {
      const shas = Array.isArray(value) ? (value as string[]) : [];
      const need = q.min_count ?? 1;
      return (
        <div>
          <div class="small muted" data-testid="photo-count">{t("photos_taken", { n: num(shas.length), need: num(need) })}</div>
          <div class="photos">{shas.map((s) => <span key={s} class="pill"><CameraIcon /> {s.slice(0, 6)}</span>)}</div>
          {!disabled && (
            <PhotoInput label={uploading ? t("saving_photo") : t("take_photo")} testid="photo-input" onFiles={async (files) => {
              setUploading(files.length);
              const added: string[] = [];
              for (const f of files) added.push(await uploadPhoto(f));
              setUploading(0);
              props.onAnswer([...new Set([...shas, ...added])]);
            }} />
          )}
        </div>
      );
    }
    default:
      return null;
  }
}
