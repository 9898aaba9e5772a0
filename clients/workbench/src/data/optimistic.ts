// What the phone shows before the server confirms it, for the mutations the SDK has no built-in
// effect for (or a fuller one than the built-in): a new shelf count, an inspection and its answers,
// an acceptance, a shipment, a support ticket, a claim's resolution. The SDK replays these over the replica until a pull covers them.
import type { OptimisticDraft, OptimisticHandler } from "@fieldsync/client";

type Args = Record<string, any>;
const now = () => new Date().toISOString();

export const optimistic: Record<string, OptimisticHandler> = {
  // The built-in one updates a level already held; a shop's first count of a SKU makes one.
  "stock_check.record": async (a: Args, draft: OptimisticDraft, { user }) => {
    const levels = await draft.find("stock_level", { product_id: a.product_id });
    const own = user?.org_id === a.org_id;
    const hit = levels.find((l) => (own ? l.terminal_id == null && l.distributor_id === a.org_id : l.terminal_id === a.org_id));
    const fields = { counted_qty: a.counted_qty, expected_qty: a.counted_qty, observed_at: a.observed_at, pending: true };
    if (hit) draft.put("stock_level", hit.id as string, { ...hit, ...fields });
    else
      draft.put("stock_level", `pending-${a.id}`, {
        id: `pending-${a.id}`, location_id: null, product_id: a.product_id, distributor_id: user?.org_id ?? null,
        terminal_id: own ? null : a.org_id, discrepancy: false, ...fields,
      });
  },
  "inspection.start": async (a: Args, draft: OptimisticDraft, { user }) => {
    if (await draft.get("inspection", a.id)) return;
    draft.put("inspection", a.id, {
      id: a.id, template_id: a.template_id, terminal_id: a.terminal_id, distributor_id: user?.org_id ?? null, inspector_id: user?.id ?? null,
      status: "in_progress", started_at: now(), submitted_at: null, score: null, max_score: null, score_pct: null, pending: true,
    });
  },
  "inspection.answer": async (a: Args, draft: OptimisticDraft) => {
    const [held] = await draft.find("inspection_answer", { inspection_id: a.inspection_id, question_id: a.question_id });
    const id = (held?.id as string | undefined) ?? `${a.inspection_id}:${a.question_id}`;
    draft.put("inspection_answer", id, { ...(held ?? { id, inspection_id: a.inspection_id, question_id: a.question_id }), value: a.value, hlc: a.hlc, pending: true });
  },
  "inspection.submit": async (a: Args, draft: OptimisticDraft) => {
    await draft.patch("inspection", a.inspection_id, { status: "submitted", submitted_at: now(), pending: true });
  },
  "acceptance.record": async (a: Args, draft: OptimisticDraft) => {
    await draft.patch("delivery", a.delivery_id, { state: "accepted", accepted_at: a.accepted_at, pending: true });
    if (await draft.get("acceptance", a.id)) return;
    const lines: Args[] = a.lines ?? [];
    draft.put("acceptance", a.id, {
      id: a.id, delivery_id: a.delivery_id, accepted_at: a.accepted_at, notes: a.notes ?? "", signature_sha256: a.signature_sha256 ?? null,
      photo_sha256s: a.photo_sha256s ?? [], has_discrepancy: lines.some((l) => l.short || l.damaged || l.wrong),
      gps_lat: a.gps?.[0] ?? null, gps_lon: a.gps?.[1] ?? null, pending: true,
    });
    for (const l of lines) {
      const dl = l.delivery_line_id ? await draft.get("delivery_line", l.delivery_line_id) : undefined;
      const id = `${a.id}:${l.delivery_line_id ?? l.product_id}`;
      draft.put("acceptance_line", id, {
        id, acceptance_id: a.id, delivery_line_id: l.delivery_line_id, product_id: (dl?.product_id as string) ?? l.product_id,
        shipped: (dl?.qty as number) ?? l.accepted + l.short + l.damaged + l.wrong, accepted: l.accepted, short: l.short, damaged: l.damaged, wrong: l.wrong, pending: true,
      });
    }
  },
  "order.ship": async (a: Args, draft: OptimisticDraft) => {
    const order = await draft.get("order", a.order_id);
    await draft.patch("order", a.order_id, { state: "shipped", pending: true });
    if (await draft.get("delivery", a.delivery_id)) return;
    draft.put("delivery", a.delivery_id, {
      id: a.delivery_id, order_id: a.order_id, state: "in_transit", delivery_note: a.delivery_note ?? "", shipped_at: now(), accepted_at: null,
      kind: order?.kind ?? "purchase", distributor_id: order?.distributor_id ?? null, supplier_id: order?.supplier_id ?? null, terminal_id: order?.terminal_id ?? null, pending: true,
    });
  },
  // A ticket opened offline: the conversation, my membership and its first message, at once.
  "support.open": async (a: Args, draft: OptimisticDraft, { user }) => {
    if (!(await draft.get("conversation", a.id))) {
      draft.put("conversation", a.id, { id: a.id, kind: "support", title: a.subject, status: "waiting", created_at: now(), last_message_at: now(), pending: true });
    }
    const members = await draft.find("conversation_member", { conversation_id: a.id });
    if (user && !members.some((m) => m.user_id === user.id)) {
      draft.put("conversation_member", `pending-${a.id}`, { id: `pending-${a.id}`, conversation_id: a.id, user_id: user.id, last_read_seq: 0, role: "customer", pending: true });
    }
    if ((await draft.find("message", { conversation_id: a.id, client_message_id: a.client_message_id })).length) return;
    draft.put("message", a.client_message_id, {
      id: a.client_message_id, conversation_id: a.id, client_message_id: a.client_message_id, sender_id: user?.id ?? null,
      body: a.body, attachments: [], seq: Number.MAX_SAFE_INTEGER, created_at: now(), deleted_at: null, pending: true,
    });
  },
  "claim.resolve": async (a: Args, draft: OptimisticDraft, { user }) => {
    await draft.patch("claim", a.claim_id, { state: "resolved", resolution: a.resolution, resolved_at: now(), resolved_by: user?.id ?? null, pending: true });
  },
  "order.reject": async (a: Args, draft: OptimisticDraft) => {
    await draft.patch("order", a.order_id, { state: "rejected", reject_reason: a.reason, pending: true });
  },
};

/** Fields `query` filters on, indexed in storage. */
export const indexes: Record<string, string[]> = {
  stock_level: ["product_id", "terminal_id"],
  order_line: ["order_id"],
  delivery_line: ["delivery_id"],
  inspection_answer: ["inspection_id"],
  message: ["conversation_id"],
  conversation_member: ["conversation_id"],
  acceptance_line: ["acceptance_id"],
};
