// What the server refused or settled differently, in plain words, on the record it concerns,
// with a way to fix or discard it. Codes and details come from the push results the SDK keeps.
import { t } from "../i18n";
import type { Key } from "../locales/en";
import { num } from "../format";
import type { Problem } from "../data/store";
import { useSync } from "../data/store";
import { dismissProblem } from "../data/sdk";

function details(p: Problem): any {
  return (p.status === "conflict" ? p.data?.server : p.data) ?? {};
}

/** One sentence for a refusal, in the app's language; the server's own message as a fallback. */
export function describeProblem(p: Problem): string {
  const d = details(p);
  switch (p.code) {
    case "quota_exceeded":
      return t("why_quota_exceeded", { remaining: num(d.remaining ?? 0) });
    case "not_authorised_for_region":
      return t("why_not_authorised", { skus: (d.skus ?? []).join(", ") || "–" });
    case "price_missing":
      return t("why_price_missing");
    case "invalid_transition":
      return t("why_invalid_transition", { state: t(`state_${d.state}` as Key) || d.state });
    case "order_not_editable":
      return t("why_order_not_editable", { state: t(`state_${d.state}` as Key) || d.state });
    case "acceptance_exists":
      return t("why_acceptance_exists");
    case "inspection_frozen":
      return t("why_inspection_frozen");
    case "inspection_incomplete":
      return t("why_inspection_incomplete");
    case "photos_missing":
      return t("why_photos_missing");
    case "terminal_not_on_route":
      return t("why_not_on_route");
    case "forbidden":
      return t("why_forbidden");
    case "claim_resolved":
      return t("why_claim_resolved", { resolution: d.resolution ?? "–" });
    case "not_a_customer":
      return t("why_not_a_customer");
    case "conversation_exists":
      return t("why_conversation_exists");
    default:
      return p.message || p.code || t("why_unknown");
  }
}

/** The problems whose mutation names `recordId` in its arguments. */
export function problemsFor(problems: Problem[], recordId: string): Problem[] {
  return problems.filter((p) => Object.values(p.args ?? {}).includes(recordId));
}

export function ProblemNotice(props: { problem: Problem; fix?: { label: string; run: () => void }; onDiscard?: () => void }) {
  const p = props.problem;
  return (
    <div class="notice bad" role="alert" data-testid="problem" data-code={p.code ?? ""}>
      <b>{p.status === "conflict" ? t("problem_conflict_title") : t("problem_rejected_title")}</b>
      <div data-testid="problem-text">{describeProblem(p)}</div>
      {p.status === "conflict" && <div class="small">{t("problem_server_kept")}</div>}
      <div class="actions">
        {props.fix && (
          <button class="btn small" onClick={props.fix.run}>{props.fix.label}</button>
        )}
        <button
          class="btn secondary small"
          onClick={() => {
            props.onDiscard?.();
            void dismissProblem(p.id);
          }}
        >
          {t("discard")}
        </button>
      </div>
    </div>
  );
}

/** Every open problem about one record. */
export function RecordProblems(props: { recordId: string; fix?: (p: Problem) => { label: string; run: () => void } | undefined; onDiscard?: (p: Problem) => void }) {
  const sync = useSync();
  const list = problemsFor(sync.problems, props.recordId);
  return (
    <>
      {list.map((p) => (
        <ProblemNotice key={p.id} problem={p} fix={props.fix?.(p)} onDiscard={() => props.onDiscard?.(p)} />
      ))}
    </>
  );
}
