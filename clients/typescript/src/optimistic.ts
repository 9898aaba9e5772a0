/**
 * Built-in optimistic effects: how the common mutations change what the app sees before the
 * server confirms them. Apps add their own (or override these) with `createClient({optimistic})`.
 * Each effect is replaced by the server's rows once a pull's `last_applied_seq` covers it.
 */
import type { OptimisticHandler } from "./types.js";

type Args = Record<string, any>;

const setState =
  (state: string): OptimisticHandler =>
  async (args: Args, draft) => {
    await draft.patch("order", args.order_id, { state });
  };

export const builtinOptimistic: Record<string, OptimisticHandler> = {
  "profile.update": async (args: Args, draft, { user }) => {
    if (user !== null) await draft.patch("user", user.id, { display_name: args.display_name });
  },
  "order.create": async (args: Args, draft, { user }) => {
    if ((await draft.get("order", args.id)) !== undefined) return;
    draft.put("order", args.id, {
      id: args.id,
      kind: args.kind,
      state: "draft",
      supplier_id: args.supplier_id ?? null,
      terminal_id: args.terminal_id ?? null,
      created_by: user?.id ?? null,
      pending: true,
    });
    for (const line of (args.lines ?? []) as Args[]) {
      const id = `${args.id}:${line.product_id}`;
      draft.put("order_line", id, { id, order_id: args.id, product_id: line.product_id, qty: line.qty, pending: true });
    }
  },
  "order.update_line": async (args: Args, draft) => {
    const [line] = await draft.find("order_line", { order_id: args.order_id, product_id: args.product_id });
    const id = (line?.id as string | undefined) ?? `${args.order_id}:${args.product_id}`;
    if (args.qty === 0) draft.remove("order_line", id);
    else draft.put("order_line", id, { ...(line ?? { id, order_id: args.order_id, product_id: args.product_id }), qty: args.qty });
  },
  "order.submit": setState("submitted"),
  "order.cancel": setState("cancelled"),
  "order.confirm": setState("confirmed"),
  "order.reject": setState("rejected"),
  "order.ship": setState("shipped"),
  "stock_check.record": async (args: Args, draft) => {
    // The level of that SKU at that place (a shop's shelf or the distributor's warehouse).
    const levels = await draft.find("stock_level", { product_id: args.product_id });
    for (const level of levels) {
      if (level.terminal_id === args.org_id || (level.terminal_id == null && level.distributor_id === args.org_id)) {
        draft.put("stock_level", level.id as string, { ...level, counted_qty: args.counted_qty, observed_at: args.observed_at });
      }
    }
  },
  "message.send": async (args: Args, draft, { user }) => {
    const sent = await draft.find("message", { conversation_id: args.conversation_id, client_message_id: args.client_message_id });
    if (sent.length > 0) return; // the server's row is here already
    draft.put("message", args.client_message_id, {
      id: args.client_message_id,
      conversation_id: args.conversation_id,
      client_message_id: args.client_message_id,
      sender_id: user?.id ?? null,
      body: args.body ?? "",
      attachments: args.attachments ?? [],
      seq: null,
      pending: true,
    });
  },
  "message.read": async (args: Args, draft, { user }) => {
    if (user === null) return;
    const [member] = await draft.find("conversation_member", { conversation_id: args.conversation_id, user_id: user.id });
    if (member !== undefined && Number(member.last_read_seq ?? 0) < args.up_to_seq) {
      draft.put("conversation_member", member.id as string, { ...member, last_read_seq: args.up_to_seq });
    }
  },
};
