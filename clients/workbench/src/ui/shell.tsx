// The frame around every screen: the sync bar (always visible), the header with the language
// switch, the screen, and the role's tab bar.
import type { ComponentChildren } from "preact";
import { ago } from "../format";
import { lang, setLang, t, tn } from "../i18n";
import type { Key } from "../locales/en";
import { useClock, useSync } from "../data/store";
import type { Role } from "../data/rows";
import { currentPath } from "../router";
import { Link } from "./parts";

export function SyncBar() {
  const s = useSync();
  useClock(20_000);
  const problems = s.problems.length;
  const cls = problems ? "problem" : s.online ? "" : "offline";
  return (
    <Link href="/sync" class={`syncbar ${cls}`} data-testid="syncbar" data-live={s.live ? "1" : "0"} data-synced={s.lastSyncedAt !== null && !s.syncing ? "1" : "0"} aria-label={t("sync_state")}>
      <span class="dot" aria-hidden="true" />
      <b data-testid="net" data-online={s.online ? "1" : "0"} data-live={s.live ? "1" : "0"}>{s.online ? (s.syncing ? t("syncing") : t("online")) : t("offline")}</b>
      <span class="sep">·</span>
      <span data-testid="pending" data-n={s.pending}>{s.pending ? tn("changes_waiting", s.pending) : t("all_synced")}</span>
      <span class="sep">·</span>
      <span data-testid="last-synced" class="fit">{s.lastSyncedAt ? t("synced_ago", { ago: ago(s.lastSyncedAt) }) : t("never_synced")}</span>
      {problems > 0 && (
        <>
          <span class="sep">·</span>
          <b data-testid="problems" data-n={problems}>{tn("problems", problems)}</b>
        </>
      )}
    </Link>
  );
}

export function LangSwitch() {
  const next = lang() === "zh-CN" ? "en" : "zh-CN";
  return (
    <button class="lang" data-testid="lang" aria-label={t("switch_language")} onClick={() => setLang(next)}>
      {next === "en" ? "EN" : "中文"}
    </button>
  );
}

interface Tab { href: string; label: Key; icon: string }
const TABS: Record<string, Tab[]> = {
  distributor_staff: [
    { href: "/", label: "tab_home", icon: "⌂" },
    { href: "/catalog", label: "tab_catalog", icon: "▦" },
    { href: "/orders", label: "tab_orders", icon: "☰" },
    { href: "/stock", label: "tab_stock", icon: "▤" },
    { href: "/chat", label: "tab_chat", icon: "✉" },
  ],
  field_staff: [
    { href: "/", label: "tab_home", icon: "⌂" },
    { href: "/route", label: "tab_route", icon: "➜" },
    { href: "/orders", label: "tab_orders", icon: "☰" },
    { href: "/chat", label: "tab_chat", icon: "✉" },
  ],
  inspector: [
    { href: "/", label: "tab_home", icon: "⌂" },
    { href: "/deliveries", label: "tab_deliveries", icon: "⇩" },
    { href: "/route", label: "tab_route", icon: "➜" },
    { href: "/claims", label: "tab_claims", icon: "!" },
    { href: "/chat", label: "tab_chat", icon: "✉" },
  ],
  supplier_staff: [
    { href: "/", label: "tab_home", icon: "⌂" },
    { href: "/incoming", label: "tab_incoming", icon: "⇧" },
    { href: "/claims", label: "tab_claims", icon: "!" },
    { href: "/chat", label: "tab_chat", icon: "✉" },
  ],
};

export function tabsFor(role: Role): Tab[] {
  return TABS[role] ?? [{ href: "/", label: "tab_home", icon: "⌂" }, { href: "/chat", label: "tab_chat", icon: "✉" }];
}

export function TabBar(props: { role: Role; badges?: Record<string, number> }) {
  const path = currentPath();
  const tabs = tabsFor(props.role);
  return (
    <div class="tabs">
      <nav aria-label={t("navigation")}>
        {tabs.map((tab) => {
          const on = tab.href === "/" ? path === "/" : path.startsWith(tab.href);
          const badge = props.badges?.[tab.href] ?? 0;
          return (
            <Link href={tab.href} class={on ? "on" : ""} key={tab.href} data-testid={`tab-${tab.href.slice(1) || "home"}`}>
              <span class="ico" aria-hidden="true">{tab.icon}</span>
              <span>{t(tab.label)}</span>
              {badge > 0 && <span class="badge">{badge}</span>}
            </Link>
          );
        })}
      </nav>
    </div>
  );
}

export function Frame(props: { title: string; back?: boolean; children: ComponentChildren; role: Role; badges?: Record<string, number> }) {
  return (
    <div class="app">
      <div class="top">
        <header class="header">
          {props.back && (
            <button class="back" aria-label={t("back")} onClick={() => history.back()}>‹</button>
          )}
          <h1 data-testid="title">{props.title}</h1>
          <LangSwitch />
        </header>
        <SyncBar />
      </div>
      <main>{props.children}</main>
      <TabBar role={props.role} badges={props.badges} />
    </div>
  );
}
