// Numbers, money, dates and times for the chosen language (Intl throughout).
import { lang } from "./i18n";

const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat | Intl.RelativeTimeFormat>();

function memo<T extends Intl.NumberFormat | Intl.DateTimeFormat | Intl.RelativeTimeFormat>(key: string, make: () => T): T {
  const k = `${lang()}|${key}`;
  let f = cache.get(k) as T | undefined;
  if (!f) {
    f = make();
    cache.set(k, f);
  }
  return f;
}

export function num(n: number | null | undefined): string {
  if (n === null || n === undefined) return "–";
  return memo("n", () => new Intl.NumberFormat(lang())).format(n);
}

export function pct(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined) return "–";
  return memo("pct", () => new Intl.NumberFormat(lang(), { style: "percent", maximumFractionDigits: 0 })).format(fraction);
}

/** Money from minor units (cents, fen) in its currency. */
export function money(minor: number | null | undefined, currency: string | null | undefined): string {
  if (minor === null || minor === undefined || !currency) return "–";
  return memo(`m:${currency}`, () => new Intl.NumberFormat(lang(), { style: "currency", currency })).format(minor / 100);
}

export function date(iso: string | null | undefined): string {
  if (!iso) return "–";
  return memo("d", () => new Intl.DateTimeFormat(lang(), { dateStyle: "medium" })).format(new Date(iso));
}

/** A date and time; this year's without the year (shorter lines on a 360 px phone). */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return "–";
  const at = new Date(iso);
  if (at.getFullYear() === new Date().getFullYear()) {
    return memo("dty", () => new Intl.DateTimeFormat(lang(), { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" })).format(at);
  }
  return memo("dt", () => new Intl.DateTimeFormat(lang(), { dateStyle: "medium", timeStyle: "short" })).format(at);
}

export function time(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return "–";
  return memo("t", () => new Intl.DateTimeFormat(lang(), { timeStyle: "short" })).format(new Date(iso));
}

/** "2 minutes ago" / "2分钟前". */
export function ago(at: number | string | null | undefined, now = Date.now()): string {
  if (at === null || at === undefined) return "–";
  const ms = (typeof at === "number" ? at : Date.parse(at)) - now;
  const rtf = memo("rt", () => new Intl.RelativeTimeFormat(lang(), { numeric: "auto" }));
  const s = Math.round(ms / 1000);
  if (Math.abs(s) < 45) return rtf.format(0, "second");
  const m = Math.round(s / 60);
  if (Math.abs(m) < 60) return rtf.format(m, "minute");
  const h = Math.round(m / 60);
  if (Math.abs(h) < 24) return rtf.format(h, "hour");
  return rtf.format(Math.round(h / 24), "day");
}
