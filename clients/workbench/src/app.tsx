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
import { AcceptScreen, DeliveriesScreen, ReceiptScreen } from "./screens/acceptance";
import { CartScreen, Catalog } from "./screens/catalog";
import { ChatList, ChatThread } from "./screens/chat";
import { ClaimsScreen } from "./screens/claims";
import { Home } from "./screens/home";
import { Login } from "./screens/login";
import { OrderDetail, OrdersList } from "./screens/orders";
import { RouteScreen, Visit } from "./screens/route";
import { StockScreen } from "./screens/stock";
import { SyncPage } from "./screens/syncpage";

interface Screen { pattern: string; title: Key; back?: boolean; view: (p: Record<string, string>) => ComponentChildren }

const SCREENS: Screen[] = [
  { pattern: "/", title: "tab_home", view: () => <Home /> },
  { pattern: "/catalog", title: "tab_catalog", view: () => <Catalog /> },
  { pattern: "/cart", title: "cart", back: true, view: () => <CartScreen /> },
  { pattern: "/orders", title: "tab_orders", view: () => <OrdersList /> },
  { pattern: "/orders/:id", title: "order", back: true, view: (p) => <OrderDetail id={p.id} /> },
  { pattern: "/incoming", title: "tab_incoming", view: () => <OrdersList incoming /> },
  { pattern: "/stock", title: "tab_stock", view: () => <StockScreen /> },
  { pattern: "/claims", title: "tab_claims", view: () => <ClaimsScreen /> },
  { pattern: "/route", title: "tab_route", view: () => <RouteScreen /> },
  { pattern: "/visit/:id", title: "visit", back: true, view: (p) => <Visit terminalId={p.id} /> },
  { pattern: "/deliveries", title: "tab_deliveries", view: () => <DeliveriesScreen /> },
  { pattern: "/accept/:id", title: "acceptance", back: true, view: (p) => <AcceptScreen deliveryId={p.id} /> },
  { pattern: "/receipt/:id", title: "acceptance_receipt", back: true, view: (p) => <ReceiptScreen acceptanceId={p.id} /> },
  { pattern: "/chat", title: "tab_chat", view: () => <ChatList /> },
  { pattern: "/chat/:id", title: "conversation", back: true, view: (p) => <ChatThread id={p.id} /> },
  { pattern: "/sync", title: "sync_state", back: true, view: () => <SyncPage /> },
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
