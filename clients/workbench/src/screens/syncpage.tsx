// Everything about sync on one page: connection, what waits in the outbox, problems to look at.
import { ago, dateTime } from "../format";
import { t, tn } from "../i18n";
import { signOut, syncNow, useMe } from "../data/sdk";
import { useClock, useOutbox, useSync } from "../data/store";
import { Card, Empty } from "../ui/parts";
import { ProblemNotice } from "../ui/problems";

export function SyncPage() {
  const s = useSync();
  const outbox = useOutbox();
  const me = useMe();
  useClock(10_000);
  return (
    <div data-testid="sync-page">
      <Card title={t("sync_state")}>
        <dl class="kv">
          <dt>{t("connection")}</dt><dd>{s.online ? t("online") : t("offline")}</dd>
          <dt>{t("waiting")}</dt><dd>{s.pending ? tn("changes_waiting", s.pending) : t("all_synced")}</dd>
          <dt>{t("last_synced")}</dt><dd>{s.lastSyncedAt ? `${ago(s.lastSyncedAt)} (${dateTime(new Date(s.lastSyncedAt).toISOString())})` : t("never_synced")}</dd>
        </dl>
        {s.error && <div class="notice warn" style={{ marginTop: ".6rem" }}>{s.error}</div>}
        <button class="btn block" style={{ marginTop: ".75rem" }} disabled={!s.online} onClick={() => void syncNow()}>{t("sync_now")}</button>
      </Card>
      <Card title={t("problems_title")}>
        {s.problems.length === 0 && <Empty>{t("no_problems")}</Empty>}
        {s.problems.map((p) => <ProblemNotice key={p.id} problem={p} />)}
      </Card>
      <Card title={t("outbox")}>
        {outbox.length === 0 && <Empty>{t("outbox_empty")}</Empty>}
        {outbox.map((m) => (
          <div class="qline small row" key={m.id}>
            <span class="grow">{t(`mutation_${m.name.replace(".", "_")}` as any) || m.name}</span>
            <span class="muted">{ago(m.createdAt)}</span>
          </div>
        ))}
      </Card>
      {me && (
        <Card title={t("account")}>
          <p class="small">{me.user.display_name} · {me.user.username} · {me.org?.name}</p>
          <button class="btn danger block" data-testid="sign-out" onClick={() => {
            if (outbox.length && !confirm(tn("sign_out_unsent", outbox.length))) return;
            void signOut();
          }}>{t("sign_out")}</button>
        </Card>
      )}
    </div>
  );
}
