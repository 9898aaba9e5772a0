// The app's words in English and Simplified Chinese, chosen from the browser's languages
// (a saved choice wins) and switchable at any time. `t(key, params)` fills `{name}` slots;
// keys ending in `_one`/`_other` are picked with Intl.PluralRules through `tn`.
import { en, type Key } from "./locales/en";
import { zh } from "./locales/zh";

export type Lang = "en" | "zh-CN";
const STORE = "fieldsync.lang";
const dictionaries: Record<Lang, Record<Key, string>> = { en, "zh-CN": zh };
const listeners = new Set<() => void>();

export function detectLang(languages: readonly string[] = navigator.languages ?? [navigator.language]): Lang {
  for (const l of languages) {
    const low = l.toLowerCase();
    if (low.startsWith("zh")) return "zh-CN";
    if (low.startsWith("en")) return "en";
  }
  return "en";
}

function saved(): Lang | null {
  try {
    const v = localStorage.getItem(STORE);
    return v === "en" || v === "zh-CN" ? v : null;
  } catch {
    return null;
  }
}

let current: Lang = saved() ?? detectLang();
document.documentElement.lang = current;

export function lang(): Lang {
  return current;
}

export function setLang(next: Lang): void {
  current = next;
  document.documentElement.lang = next;
  try {
    localStorage.setItem(STORE, next);
  } catch {
    /* private mode: the choice lasts this session */
  }
  listeners.forEach((fn) => fn());
}

export function onLangChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export type Params = Record<string, string | number>;

export function t(key: Key, params?: Params): string {
  const text = dictionaries[current][key] ?? en[key] ?? key;
  return params ? text.replace(/\{(\w+)\}/g, (_, k: string) => String(params[k] ?? `{${k}}`)) : text;
}

/** Plural forms: `tn("changes_waiting", 3)` reads `changes_waiting_one` or `changes_waiting_other`. */
export function tn(base: string, n: number, params?: Params): string {
  const form = new Intl.PluralRules(current).select(n) === "one" ? "one" : "other";
  return t(`${base}_${form}` as Key, { n: formatNumber(n), ...params });
}

export function formatNumber(n: number): string {
  return new Intl.NumberFormat(current).format(n);
}
