// The replicated rows the app reads (the fields it uses), as the server's pull sends them.

export type Role = "admin" | "support_agent" | "supplier_staff" | "distributor_staff" | "field_staff" | "inspector";
export type OrderState = "draft" | "submitted" | "confirmed" | "shipped" | "delivered" | "rejected" | "cancelled";

export interface Row {
  id: string;
  version?: number;
  /** Set on rows the app shows from a mutation still in the outbox. */
  pending?: boolean;
}
export interface User extends Row { org_id: string; username: string; display_name: string; role: Role }
export interface Organisation extends Row { kind: "supplier" | "distributor" | "terminal" | "platform"; name: string; code: string; region_id: string | null; parent_id: string | null }
export interface Region extends Row { name: string; parent_id: string | null; level: string }
export interface Category extends Row { supplier_id: string; code: string; name: string }
export interface Product extends Row { supplier_id: string; category_id: string; sku: string; name: string; unit: string; pack_size: number; active: boolean }
export interface Price extends Row { distributor_id: string; product_id: string; price_minor: number; currency: string }
export interface Quota extends Row {
  supplier_id: string; distributor_id: string; region_id: string; product_id: string | null; category_id: string | null;
  period_start: string; period_end: string; limit_qty: number; used_qty: number;
}
export interface Order extends Row {
  kind: "purchase" | "sales"; state: OrderState; distributor_id: string; supplier_id: string | null; terminal_id: string | null;
  created_by: string; created_at: string; updated_at?: string; currency: string | null; total_minor: number | null;
  submitted_at: string | null; confirmed_at: string | null; shipped_at: string | null; delivered_at: string | null;
  reject_reason: string | null;
}
export interface OrderLine extends Row { order_id: string; product_id: string; qty: number; unit_price_minor: number | null; line_total_minor: number | null }
export interface Delivery extends Row {
  order_id: string; state: "in_transit" | "accepted"; delivery_note: string; shipped_at: string | null; accepted_at: string | null;
  kind: "purchase" | "sales"; distributor_id: string; supplier_id: string | null; terminal_id: string | null;
}
export interface DeliveryLine extends Row { delivery_id: string; order_line_id: string; product_id: string; qty: number }
export interface Acceptance extends Row {
  delivery_id: string; order_id: string; accepted_at: string; recorded_at?: string; notes: string;
  signature_sha256: string | null; photo_sha256s: string[]; has_discrepancy: boolean; kind: string;
  gps_lat?: number | null; gps_lon?: number | null;
}
export interface AcceptanceLine extends Row { acceptance_id: string; delivery_line_id: string; product_id: string; shipped: number; accepted: number; short: number; damaged: number; wrong: number }
export interface ClaimItem { delivery_line_id: string; product_id: string; short: number; damaged: number; wrong: number }
export interface Claim extends Row {
  acceptance_id: string; delivery_id: string; order_id: string; state: "open" | "resolved"; short_qty: number; damaged_qty: number; wrong_qty: number;
  items: ClaimItem[]; opened_at: string; resolved_at: string | null; resolution: string | null; kind: string; distributor_id: string; supplier_id: string | null; terminal_id: string | null;
}
export interface StockLocation extends Row { org_id: string; kind: "warehouse" | "shelf"; distributor_id: string; terminal_id: string | null }
export interface StockLevel extends Row {
  location_id: string; product_id: string; distributor_id: string; terminal_id: string | null;
  counted_qty: number | null; observed_at: string | null; expected_qty: number | null; discrepancy: boolean;
}
export interface RouteAssignment extends Row { user_id: string; terminal_id: string; distributor_id: string }
export type QuestionKind = "yes_no" | "number" | "single_choice" | "multi_choice" | "text" | "photo";
export interface Question {
  id: string; kind: QuestionKind; text: string; required?: boolean; weight?: number;
  min?: number | null; max?: number | null; options?: string[]; max_length?: number; min_count?: number;
}
export interface InspectionTemplate extends Row { family_id: string; version_no: number; owner_id: string; owner_kind: string; title: string; questions: Question[]; current?: boolean }
export interface Inspection extends Row {
  template_id: string; terminal_id: string; distributor_id: string; inspector_id: string; status: "in_progress" | "submitted";
  started_at: string; submitted_at: string | null; score: number | null; max_score: number | null; score_pct: number | null;
}
export interface InspectionAnswer extends Row { inspection_id: string; question_id: string; value: unknown; hlc: string }
export interface Conversation extends Row { kind: "direct" | "group" | "support"; title: string; last_message_at: string | null; status: string | null; created_at: string }
export interface ConversationMember extends Row { conversation_id: string; user_id: string; last_read_seq: number; role: string }
export interface Message extends Row {
  conversation_id: string; seq: number; sender_id: string; client_message_id: string; body: string; attachments: string[];
  created_at: string; deleted_at: string | null;
}

export interface EntityRows {
  user: User; organisation: Organisation; region: Region; category: Category; product: Product; price: Price; quota: Quota;
  order: Order; order_line: OrderLine; delivery: Delivery; delivery_line: DeliveryLine; acceptance: Acceptance;
  acceptance_line: AcceptanceLine; claim: Claim; stock_location: StockLocation; stock_level: StockLevel;
  route_assignment: RouteAssignment; inspection_template: InspectionTemplate; inspection: Inspection;
  inspection_answer: InspectionAnswer; conversation: Conversation; conversation_member: ConversationMember; message: Message;
}
export type Entity = keyof EntityRows;
