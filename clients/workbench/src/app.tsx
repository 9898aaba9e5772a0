// Routes: which screen each path shows, its title, and who may see it.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { onLangChange, t } from "./i18n";
import type { Key } from "./locales/en";
import { useBooted, useMe } from "./data/sdk";
import { groupBy } from "./data/select";
import { useRows } from "./data/store";
import { match, usePath } from "./router";
import { Frame } from "./ui/shell";
import { Home } from "./screens/home";
import { Login } from "./screens/login";

// The first screens (sign-in, home) are in the main bundle; the others load on first use (the
// service worker has them all cached, so this works offline too).
const modules = new Map<string, unknown>();
function Lazy<M>(props: { name: string; load: () => Promise<M>; render: (m: M) => ComponentChildren }) {
  const [, loaded] = useState(0);
  const mod = modules.get(props.name) as M | undefined;
  useEffect(() => {
    if (mod) return;
    let live = true;
    props.load().then((m) => {
      modules.set(props.name, m);
      if (live) loaded((n) => n + 1);
    });
    return () => void (live = false);
  }, [props.name, mod]);
  return mod ? <>{props.render(mod)}</> : <div class="empty" aria-busy="true">…</div>;
}
const orders = () => import("./screens/orders");
const catalog = () => import("./screens/catalog");
const acceptance = () => import("./screens/acceptance");
const chat = () => import("./screens/chat");
const route = () => import("./screens/route");
const stock = () => import("./screens/stock");
const claims = () => import("./screens/claims");
const syncpage = () => import("./screens/syncpage");

/** Once the first screen is up, load the other screens too: a phone that loses signal right
 * after opening the app (before the service worker finished caching) can still open them. */
export function prefetchScreens(): void {
  const all: [string, () => Promise<unknown>][] = [["orders", orders], ["catalog", catalog], ["acceptance", acceptance], ["chat", chat], ["route", route], ["stock", stock], ["claims", claims], ["syncpage", syncpage]];
  const go = () => all.forEach(([name, load]) => void load().then((m) => modules.set(name, m), () => undefined));
  setTimeout(go, 0);
}

interface Screen { pattern: string; title: Key; back?: boolean; view: (p: Record<string, string>) => ComponentChildren }

const SCREENS: Screen[] = [
  { pattern: "/", title: "tab_home", view: () => <Home /> },
  { pattern: "/catalog", title: "tab_catalog", view: () => <Lazy name="catalog" load={catalog} render={(m) => <m.Catalog />} /> },
  { pattern: "/cart", title: "cart", back: true, view: () => <Lazy name="catalog" load={catalog} render={(m) => <m.CartScreen />} /> },
  { pattern: "/orders", title: "tab_orders", view: () => <Lazy name="orders" load={orders} render={(m) => <m.OrdersList />} /> },
  { pattern: "/orders/:id", title: "order", back: true, view: (p) => <Lazy name="orders" load={orders} render={(m) => <m.OrderDetail id={p.id} />} /> },
  { pattern: "/incoming", title: "tab_incoming", view: () => <Lazy name="orders" load={orders} render={(m) => <m.OrdersList incoming />} /> },
  { pattern: "/stock", title: "tab_stock", view: () => <Lazy name="stock" load={stock} render={(m) => <m.StockScreen />} /> },
  { pattern: "/claims", title: "tab_claims", view: () => <Lazy name="claims" load={claims} render={(m) => <m.ClaimsScreen />} /> },
  { pattern: "/route", title: "tab_route", view: () => <Lazy name="route" load={route} render={(m) => <m.RouteScreen />} /> },
  { pattern: "/visit/:id", title: "visit", back: true, view: (p) => <Lazy name="route" load={route} render={(m) => <m.Visit terminalId={p.id} />} /> },
  { pattern: "/deliveries", title: "tab_deliveries", view: () => <Lazy name="acceptance" load={acceptance} render={(m) => <m.DeliveriesScreen />} /> },
  { pattern: "/accept/:id", title: "acceptance", back: true, view: (p) => <Lazy name="acceptance" load={acceptance} render={(m) => <m.AcceptScreen deliveryId={p.id} />} /> },
  { pattern: "/receipt/:id", title: "acceptance_receipt", back: true, view: (p) => <Lazy name="acceptance" load={acceptance} render={(m) => <m.ReceiptScreen acceptanceId={p.id} />} /> },
  { pattern: "/chat", title: "tab_chat", view: () => <Lazy name="chat" load={chat} render={(m) => <m.ChatList />} /> },
  { pattern: "/chat/:id", title: "conversation", back: true, view: (p) => <Lazy name="chat" load={chat} render={(m) => <m.ChatThread id={p.id} />} /> },
  { pattern: "/sync", title: "sync_state", back: true, view: () => <Lazy name="syncpage" load={syncpage} render={(m) => <m.SyncPage />} /> },
];

function useUnread(userId: string): number {
  const members = useRows("conversation_member").filter((m) => m.user_id === userId);
  const messages = groupBy(useRows("message"), "conversation_id");
  return members.reduce((n, m) => n + (messages.get(m.conversation_id) ?? []).filter((x) => x.sender_id !== userId && x.seq > m.last_read_seq && !x.pending).length, 0);
}

function SignedIn(props: { path: string }) {
  const me = useMe()!;
  const unread = useUnread(me.user.id);
  const [screen, params] = (() => {
    for (const s of SCREENS) {
      const p = match(s.pattern, props.path);
      if (p) return [s, p] as const;
    }
    return [SCREENS[0], {}] as const;
  })();
  return (
    <Frame title={t(screen.title)} back={screen.back} role={me.user.role} badges={{ "/chat": unread }}>
      {screen.view(params)}
    </Frame>
  );
}

export function App() {
  const [, rerender] = useState(0);
  useEffect(() => onLangChange(() => rerender((n) => n + 1)), []);
  const path = usePath();
  const booted = useBooted();
  const me = useMe();
  if (!booted) return <div class="boot" aria-busy="true">fieldsync</div>;
  if (!me) return <Login />;
  return <SignedIn path={path} />;
}
