// fieldsync support console: the agent signs in, works tickets from status views with filters
// and search, and stays live over the WebSocket (messages, typing, who else is viewing, read
// state). Plain JavaScript, no build step; strings in i18n.js; times and numbers through Intl.
"use strict";

const $ = (id) => document.getElementById(id);
const VIEWS = ["open", "pending", "snoozed", "resolved", "all"];
const state = {
  token: null, me: null, socket: null, view: "open", tickets: [], counts: {}, current: null,
  ticket: null, people: {}, peopleOf: null, messages: [], notes: [], agents: [], teams: [], macros: [], canned: [],
  labels: [], choices: null, viewers: {}, typing: {}, mode: "reply", fetchedAt: Date.now(), page: "inbox",
  searching: "", lastTypingSent: 0, refreshTimer: null,
};

// --- helpers -----------------------------------------------------------------------------
async function api(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: Object.assign({ "Content-Type": "application/json" },
        state.token ? { Authorization: "Bearer " + state.token } : {}),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) { throw new Error(t("err.network")); }
  const type = res.headers.get("content-type") || "";
  const data = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) throw new Error((data && data.message) || res.statusText);
  return data;
}

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
const locale = () => I18N.lang;
const fmtNumber = (n, opts) => new Intl.NumberFormat(locale(), opts).format(n);
const fmtExact = (d) => new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "medium" }).format(new Date(d));
const fmtTime = (d) => new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit" }).format(new Date(d));
const fmtShort = (d) => new Intl.DateTimeFormat(locale(), { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }).format(new Date(d));

function fmtRelative(d) {
  const s = (new Date(d).getTime() - Date.now()) / 1000;
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: "auto" });
  const a = Math.abs(s);
  if (a < 45) return rtf.format(0, "second");
  if (a < 3600) return rtf.format(Math.round(s / 60), "minute");
  if (a < 86400) return rtf.format(Math.round(s / 3600), "hour");
  return rtf.format(Math.round(s / 86400), "day");
}
function timeEl(d, cls) {
  return `<time class="${cls || ""}" datetime="${esc(d)}" title="${esc(fmtExact(d))}" data-rel="1">${esc(fmtRelative(d))}</time>`;
}
function fmtDuration(seconds, down) {
  // time left is rounded up to the minute, time overdue down: neither says more than is true
  const minutes = Math.abs(seconds) / 60;
  const s = Math.max(0, down ? Math.floor(minutes) : Math.ceil(minutes)) * 60;
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  const unit = (n, u) => new Intl.NumberFormat(locale(), { style: "unit", unit: u, unitDisplay: "narrow" }).format(n);
  if (!down && Math.abs(seconds) < 60) return unit(Math.round(Math.abs(seconds)), "second");
  if (d) return unit(d, "day") + " " + unit(h, "hour");
  if (h) return unit(h, "hour") + " " + unit(m, "minute");
  return unit(m, "minute");
}
function dayLabel(d) {
  const day = new Date(d); const today = new Date();
  const key = (x) => x.getFullYear() + "-" + x.getMonth() + "-" + x.getDate();
  const yesterday = new Date(Date.now() - 86400000);
  if (key(day) === key(today)) return t("day.today");
  if (key(day) === key(yesterday)) return t("day.yesterday");
  return new Intl.DateTimeFormat(locale(), { weekday: "long", year: "numeric", month: "long", day: "numeric" }).format(day);
}
function showError(id, err) { $(id).textContent = err ? String(err.message || err) : ""; }
function toast(text) {
  const el = document.createElement("div");
  el.className = "toast"; el.textContent = text; $("toasts").append(el);
  setTimeout(() => el.remove(), 6000);
}
function agentName(id) { const a = state.agents.find((x) => x.id === id); return a ? a.name : "?"; }
// Photos need the bearer token (it is not taken from a URL outside the WebSocket): fetch them,
// keep blob URLs per photo and size; a derivative still being made (503) is asked for again.
const mediaCache = new Map();
async function mediaBlobUrl(sha, variant, tries = 6) {
  const key = sha + "/" + variant;
  if (mediaCache.has(key)) return mediaCache.get(key);
  for (let i = 0; i < tries; i++) {
    const res = await fetch(`/media/photos/${sha}/${variant}`, { headers: { Authorization: "Bearer " + state.token } });
    if (res.ok) { const url = URL.createObjectURL(await res.blob()); mediaCache.set(key, url); return url; }
    if (res.status !== 503) break;
    await new Promise((r) => setTimeout(r, 1500));
  }
  return "";
}
function uid() { return (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now()).replace(/-/g, ""); }

// --- sign in -----------------------------------------------------------------------------
$("signin").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showError("signin-error", null);
  try {
    const tokens = await api("POST", "/auth/login", {
      username: $("username").value, password: $("password").value, client_id: "console-" + uid().slice(0, 12), platform: "web",
    });
    if (!["support_agent", "admin"].includes(tokens.user.role)) throw new Error(t("signin.notAgent"));
    state.token = tokens.access_token; state.me = tokens.user;
    sessionStorage.setItem("fs-console", JSON.stringify({ token: state.token, me: state.me }));
    await start();
  } catch (err) { showError("signin-error", err); }
});
$("signout").addEventListener("click", () => { sessionStorage.removeItem("fs-console"); location.reload(); });

async function start() {
  $("signin-view").hidden = true; $("console-view").hidden = false;
  for (const id of ["signout", "page-nav", "presence-wrap", "unread-badge"]) $(id).hidden = false;
  $("whoami").textContent = state.me.display_name;
  await loadReference();
  connect();
  await refreshTickets();
  setInterval(tick, 15000);
  setInterval(() => sendViewing(), 15000);
  setInterval(() => refreshTickets().catch(() => {}), 60000);  // snoozes end and clocks move without an event
}

async function loadReference() {
  const [agents, canned, teams, macros, labels, choices] = await Promise.all([
    api("GET", "/support/agents"), api("GET", "/support/canned-replies"), api("GET", "/support/teams"),
    api("GET", "/support/macros"), api("GET", "/support/labels"), api("GET", "/support/filters"),
  ]);
  Object.assign(state, { agents, canned, teams, macros, labels: labels.map((l) => l.label), choices });
  const mine = agents.find((a) => a.id === state.me.id);
  if (mine) $("presence").value = mine.status;
  renderPresence();
  renderStatic();
}

function renderStatic() {
  const opt = (v, label, sel) => `<option value="${esc(v)}"${sel ? " selected" : ""}>${esc(label)}</option>`;
  const keep = (id) => $(id).value;
  const fa = keep("f-assignee"), ft = keep("f-team"), fl = keep("f-label"), fo = keep("f-org"), fr = keep("f-region");
  $("f-assignee").innerHTML = opt("", t("filters.any")) + opt("me", t("filters.me"), fa === "me") + opt("none", t("filters.nobody"), fa === "none") +
    state.agents.map((a) => opt(a.id, a.name, fa === a.id)).join("");
  $("f-team").innerHTML = opt("", t("filters.any")) + state.teams.map((x) => opt(x.id, x.name, ft === x.id)).join("");
  $("f-label").innerHTML = opt("", t("filters.any")) + state.labels.map((l) => opt(l, l, fl === l)).join("");
  const choices = state.choices || { organisations: [], regions: [] };
  $("f-org").innerHTML = opt("", t("filters.any")) + choices.organisations.map((o) => opt(o.id, o.name, fo === o.id)).join("");
  $("f-region").innerHTML = opt("", t("filters.any")) + choices.regions.map((r) => opt(r.id, r.name, fr === r.id)).join("");
  $("assign-to").innerHTML = state.agents.map((a) => opt(a.id, `${a.name} · ${t("presence." + a.status)} (${a.open}/${a.capacity})`)).join("");
  $("canned").innerHTML = opt("", t("compose.cannedPick")) + state.canned.map((c) => opt(c.id, c.title)).join("");
  $("macro").innerHTML = opt("", t("macro.pick")) + state.macros.map((m) => opt(m.id, m.title)).join("");
  $("snooze").innerHTML = opt("", t("snooze.pick")) + ["1h", "4h", "tomorrow", "week", "wake"].map((k) => opt(k, t("snooze." + k))).join("");
  const keys = [["j", "help.next"], ["k", "help.prev"], ["r", "help.reply"], ["n", "help.note"], ["e", "help.resolve"],
    ["/", "help.search"], ["Ctrl+Enter", "help.send"], ["?", "help.help"], ["Esc", "help.close"]];
  $("help-keys").innerHTML = keys.map(([k, d]) => `<dt><kbd>${esc(k)}</kbd></dt><dd>${esc(t(d))}</dd>`).join("");
}

function renderPresence() { $("presence-dot").dataset.status = $("presence").value; }
$("presence").addEventListener("change", async () => {
  renderPresence();
  try { await api("PUT", "/support/me/status", { status: $("presence").value }); await refreshAgents(); await refreshTickets(); }
  catch (err) { toast(err.message); }
});
async function refreshAgents() { state.agents = await api("GET", "/support/agents"); renderStatic(); }

$("lang").addEventListener("change", () => { I18N.set($("lang").value); renderStatic(); renderAll(); });

// --- live socket -------------------------------------------------------------------------
function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${proto}//${location.host}/ws?access_token=${encodeURIComponent(state.token)}`);
  state.socket = socket;
  socket.onopen = () => { document.body.dataset.socket = "open"; sendViewing(); };
  socket.onclose = () => { document.body.dataset.socket = "closed"; setTimeout(connect, 2000); };
  socket.onmessage = (ev) => onEvent(JSON.parse(ev.data));
}

function onEvent(e) {
  const here = e.conversation_id && e.conversation_id === state.current;
  switch (e.type) {
    case "ready": document.body.dataset.socket = "open"; break;
    case "support.updated": case "conversation": case "member.added": case "member.removed":
      soon(); if (here) loadTicket(state.current, false);
      if (e.type === "member.added" && e.user_id === state.me.id && e.role === "agent") soonToast(e.conversation_id);
      break;
    case "message": case "message.edited": case "message.deleted":
      soon(); if (here) { upsertMessage(e.message); delete state.typing[e.message.sender_id]; renderTyping(); } break;
    case "read": if (here) { if (state.people[e.user_id]) state.people[e.user_id].last_read_seq = e.seq; renderMessages(); } if (e.user_id === state.me.id) soon(); break;
    case "support.note": if (here) { upsertNote(e.note); } break;
    case "typing": if (here && e.user_id !== state.me.id) { state.typing[e.user_id] = Date.now() + 5000; renderTyping(); } break;
    case "viewing": onViewing(e); break;
    case "agent.status": refreshAgents(); break;
    case "support.mention": toast(t("toast.mention", { name: e.by ? agentName(e.by) : "SLA", title: e.title || "" })); break;
    default: break;
  }
}
async function soonToast(conversationId) {
  try { const tk = await api("GET", `/support/tickets/${conversationId}`); toast(t("toast.assigned", { title: tk.title })); } catch { /* gone */ }
}
function soon() { clearTimeout(state.refreshTimer); state.refreshTimer = setTimeout(refreshTickets, 150); }
function wsSend(obj) { if (state.socket && state.socket.readyState === 1) state.socket.send(JSON.stringify(obj)); }
function sendViewing() { wsSend({ type: "viewing", conversation_id: state.page === "inbox" ? state.current : null }); }

function onViewing(e) {
  if (e.user_id === state.me.id) return;
  for (const [cid, who] of Object.entries(state.viewers)) if (who[e.user_id]) delete who[e.user_id];
  if (e.conversation_id) (state.viewers[e.conversation_id] ||= {})[e.user_id] = Date.now() + 40000;
  renderViewers(); renderQueue();
}
function viewersOf(cid) {
  const now = Date.now();
  return Object.entries(state.viewers[cid] || {}).filter(([, until]) => until > now).map(([u]) => u);
}
function renderViewers() {
  const names = viewersOf(state.current).map(agentName);
  $("viewers").textContent = names.length ? t("chat.alsoViewing", { names: names.join(", ") }) : "";
}
function renderTyping() {
  const now = Date.now();
  const who = Object.entries(state.typing).filter(([, until]) => until > now).map(([u]) => (state.people[u] ? state.people[u].name : agentName(u)));
  $("typing").textContent = who.length ? t("chat.typing", { name: who.join(", ") }) : "";
  if (who.length) setTimeout(renderTyping, 1500);
}

// --- the ticket list -----------------------------------------------------------------------
function filterQuery() {
  const q = new URLSearchParams({ view: state.view, limit: "100" });
  const map = { assignee: "f-assignee", team: "f-team", label: "f-label", org: "f-org", region: "f-region" };
  let n = 0;
  for (const [k, id] of Object.entries(map)) if ($(id).value) { q.set(k, $(id).value); n++; }
  $("filter-count").textContent = n ? t("filters.active", { n }) : "";
  return q.toString();
}
async function refreshTickets() {
  const data = await api("GET", "/support/tickets?" + filterQuery());
  state.tickets = data.items; state.counts = data.counts; state.fetchedAt = Date.now();
  renderTabs(); renderQueue();
  if (state.current) { const tk = state.tickets.find((x) => x.id === state.current); if (tk) { state.ticket = tk; renderHead(); } }
}
for (const id of ["f-assignee", "f-team", "f-label", "f-org", "f-region"]) $(id).addEventListener("change", refreshTickets);
$("f-clear").addEventListener("click", () => { for (const id of ["f-assignee", "f-team", "f-label", "f-org", "f-region"]) $(id).value = ""; refreshTickets(); });

function renderTabs() {
  const short = (v) => (t("tab." + v) === "tab." + v ? t("view." + v) : t("tab." + v));
  $("tabs").innerHTML = VIEWS.map((v) => `<button type="button" role="tab" data-view="${v}" aria-selected="${v === state.view}" title="${esc(t("view." + v))}">
      <span class="count">${fmtNumber(state.counts[v] ?? 0)}</span><span class="tl">${esc(short(v))}</span></button>`).join("");
  for (const b of $("tabs").querySelectorAll("button")) b.addEventListener("click", () => { state.view = b.dataset.view; refreshTickets(); });
  $("unread-badge").textContent = fmtNumber(state.counts.unread || 0);
  $("unread-badge").classList.toggle("zero", !state.counts.unread);
}

function slaChip(clocks, short) {
  if (!clocks || !clocks.length) return "";
  const elapsed = (Date.now() - state.fetchedAt) / 1000;
  const c = clocks.slice().sort((a, b) => a.left_s - b.left_s)[0];
  const left = c.running ? c.left_s - elapsed : c.left_s;
  const cls = left < 0 ? "breach" : left < 900 ? "soon" : "ok";
  const target = short ? t("sla.short." + c.target) : t("sla." + c.target);
  const text = left < 0 ? t("sla.overdue", { target, time: fmtDuration(-left, true) }) : t("sla.left", { target, time: fmtDuration(left) });
  return `<span class="sla-chip ${cls}" title="${esc(fmtExact(c.due_at))}${c.running ? "" : " " + esc(t("sla.paused"))}">${esc(text)}</span>`;
}
function statusText(tk) {
  if (tk.merged_into_id) return t("status.merged");
  if (tk.view === "snoozed") return t("status.snoozed", { time: fmtShort(tk.snoozed_until) });
  return t("status." + tk.view);
}

function renderQueue() {
  if (state.searching) return;
  $("hits").hidden = true; $("queue").hidden = false;
  $("queue-empty").hidden = state.tickets.length > 0; $("queue-empty").textContent = t("queue.empty");
  $("queue").innerHTML = state.tickets.map((tk) => {
    const viewers = viewersOf(tk.id).map(agentName);
    const unread = tk.unread ? `<span class="badge unread" title="${esc(t("badge.unread"))}">${fmtNumber(tk.unread)}</span>` : "";
    const when = tk.last_message_at || tk.created_at;
    return `<li tabindex="0" data-id="${tk.id}" class="row${tk.unread ? " has-unread" : ""}${tk.sla.some((c) => c.breached) ? " breached" : ""}" aria-current="${tk.id === state.current}">
      <div class="row-top"><strong class="row-title">${esc(tk.title)}</strong>${unread}${timeEl(when, "row-time")}</div>
      <div class="row-who">${esc(tk.customer)} · ${esc(tk.organisation)}</div>
      <div class="row-tags"><span class="chip s-${tk.view}">${esc(statusText(tk))}</span>
        <span class="assignee">${esc(tk.assignee || t("row.unassigned"))}</span>
        ${slaChip(tk.sla, true)}
        ${tk.labels.map((l) => `<span class="label">${esc(l)}</span>`).join("")}
        ${viewers.length ? `<span class="eye">${esc(t("row.viewing", { name: viewers.join(", ") }))}</span>` : ""}</div>
    </li>`;
  }).join("");
  for (const li of $("queue").querySelectorAll("li")) {
    li.addEventListener("click", () => openTicket(li.dataset.id));
    li.addEventListener("keydown", (ev) => { if (ev.key === "Enter") openTicket(li.dataset.id); });
  }
}

// --- search --------------------------------------------------------------------------------
let searchTimer = null;
$("search").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(runSearch, 250); });
$("search").addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); clearTimeout(searchTimer); runSearch(); } });
function mark(snippet) { return esc(snippet).replace(/\uE000/g, "<mark>").replace(/\uE001/g, "</mark>"); }
async function runSearch() {
  const q = $("search").value.trim();
  state.searching = q;
  if (!q) { $("hits").hidden = true; renderQueue(); return; }
  const hits = await api("GET", "/support/search?q=" + encodeURIComponent(q));
  if (state.searching !== q) return;
  $("queue").hidden = true; $("hits").hidden = false;
  $("queue-empty").hidden = hits.length > 0; $("queue-empty").textContent = t("search.none", { q });
  $("hits").innerHTML = hits.map((h) => `<li tabindex="0" class="row hit" data-id="${h.conversation_id}" data-seq="${h.seq ?? ""}">
      <div class="row-top"><strong class="row-title">${h.message_id ? esc(h.title) : mark(h.snippet)}</strong>${h.created_at ? timeEl(h.created_at, "row-time") : ""}</div>
      <div class="row-who">${h.message_id ? mark(h.snippet) : esc(t("search.subject"))}</div></li>`).join("");
  for (const li of $("hits").querySelectorAll("li")) {
    const go = () => openTicket(li.dataset.id, li.dataset.seq ? +li.dataset.seq : null);
    li.addEventListener("click", go);
    li.addEventListener("keydown", (ev) => { if (ev.key === "Enter") go(); });
  }
}

// --- one ticket ------------------------------------------------------------------------------
async function openTicket(id, focusSeq) {
  state.current = id; state.typing = {};
  document.body.classList.add("has-ticket");
  sendViewing();
  await loadTicket(id, true, focusSeq);
  renderQueue();
}

async function loadTicket(id, full, focusSeq) {
  const [tk, people, messages, notes] = await Promise.all([
    api("GET", `/support/tickets/${id}`), api("GET", `/support/conversations/${id}/people`),
    api("GET", `/conversations/${id}/messages?limit=500`), api("GET", `/support/conversations/${id}/notes`),
  ]);
  if (state.current !== id) return;
  state.ticket = tk; state.messages = messages; state.notes = notes;
  // Read markers only move forward: a "read" event that arrived while this load was in flight
  // must not be undone by the older list it fetched.
  const before = state.peopleOf === id ? state.people : {};
  state.people = Object.fromEntries(people.map((p) => {
    const seen = before[p.id] ? before[p.id].last_read_seq || 0 : 0;
    return [p.id, seen > (p.last_read_seq || 0) ? { ...p, last_read_seq: seen } : p];
  }));
  state.peopleOf = id;
  renderHead(); renderMessages(focusSeq);
  $("composer").hidden = false;
  if (full) await loadContext(id);
  const last = messages.length ? messages[messages.length - 1].seq : 0;
  const me = state.people[state.me.id];
  if (me && me.member_role && last > (me.last_read_seq || 0)) wsSend({ type: "read", conversation_id: id, seq: last });
}

function renderHead() {
  const tk = state.ticket;
  if (!tk) return;
  $("chat-title").textContent = tk.title;
  $("chat-sub").textContent = t("chat.sub", { customer: tk.customer, org: tk.organisation });
  $("chat-status").textContent = statusText(tk);
  $("chat-status").className = "chip s-" + tk.view;
  $("sla").innerHTML = tk.sla.map((c) => slaChip([c], false)).join(" ");
  $("actions").hidden = false;
  $("claim").hidden = tk.assignee_id === state.me.id || tk.status === "resolved";
  $("resolve").hidden = tk.status === "resolved";
  $("reopen").hidden = tk.status !== "resolved" || !!tk.merged_into_id;
  if (tk.assignee_id) $("assign-to").value = tk.assignee_id;
  renderLabels(); renderViewers();
}

function renderLabels() {
  const tk = state.ticket;
  $("labels").hidden = false;
  $("labels").innerHTML = tk.labels.map((l) => `<span class="label">${esc(l)}<button type="button" class="x" data-label="${esc(l)}" aria-label="${esc(t("labels.remove", { label: l }))}">×</button></span>`).join("") +
    `<input id="label-add" list="label-list" maxlength="40" placeholder="${esc(t("labels.add"))}" aria-label="${esc(t("labels.add"))}">
     <datalist id="label-list">${state.labels.map((l) => `<option value="${esc(l)}">`).join("")}</datalist>`;
  for (const b of $("labels").querySelectorAll("button.x")) {
    b.addEventListener("click", () => setLabels(tk.labels.filter((x) => x !== b.dataset.label)));
  }
  $("label-add").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && ev.target.value.trim()) { ev.preventDefault(); setLabels([...tk.labels, ev.target.value.trim()]); }
  });
}
async function setLabels(labels) {
  await act(() => api("PUT", `/support/conversations/${state.current}/labels`, { labels }));
  state.labels = (await api("GET", "/support/labels")).map((l) => l.label); renderStatic();
}

function upsertMessage(m) {
  const i = state.messages.findIndex((x) => x.id === m.id);
  if (i >= 0) state.messages[i] = m; else state.messages.push(m);
  state.messages.sort((a, b) => a.seq - b.seq);
  if (!state.people[m.sender_id]) loadTicket(state.current, false); else renderMessages();
  const me = state.people[state.me.id];
  if (me && me.member_role && m.sender_id !== state.me.id) wsSend({ type: "read", conversation_id: state.current, seq: m.seq });
}
function upsertNote(n) {
  if (!state.notes.some((x) => x.id === n.id)) state.notes.push(n);
  renderMessages();
}

function personLine(p, fallbackId) {
  if (!p) return esc(agentName(fallbackId));
  const name = p.id === state.me.id ? t("you") : p.name;
  const role = p.member_role === "customer" || p.id === (state.ticket && state.ticket.customer_id) ? t("role.customer") : t("role." + p.role);
  return `<strong>${esc(name)}</strong> <span class="muted">${esc(role)} · ${esc(p.organisation)}</span>`;
}

function renderMessages(focusSeq) {
  const tk = state.ticket;
  const customer = state.people[tk.customer_id];
  const items = [
    ...state.messages.map((m) => ({ kind: "msg", at: m.created_at, m })),
    ...state.notes.map((n) => ({ kind: "note", at: n.created_at, n })),
  ].sort((a, b) => new Date(a.at) - new Date(b.at) || (a.kind === "msg" && b.kind === "msg" ? a.m.seq - b.m.seq : 0));
  let lastDay = "";
  const html = [];
  for (const it of items) {
    const day = new Date(it.at).toDateString();
    if (day !== lastDay) { html.push(`<li class="day" role="separator"><span>${esc(dayLabel(it.at))}</span></li>`); lastDay = day; }
    if (it.kind === "note") {
      const n = it.n;
      html.push(`<li class="item note"><div class="meta">${personLine(state.people[n.author_id], n.author_id)} · <span class="tag">${esc(t("msg.note"))}</span> ${timeEl(n.created_at)}</div>
        <div class="body">${esc(n.body).replace(/@([\w.\-]+)/g, '<span class="mention">@$1</span>')}</div></li>`);
      continue;
    }
    const m = it.m;
    const fromCustomer = m.sender_id === tk.customer_id;
    const p = state.people[m.sender_id];
    const photos = (m.attachments || []).map((sha) => `<button type="button" class="thumb" data-sha="${esc(sha)}" aria-label="${esc(t("msg.photo"))}">
        <img src="${esc(mediaCache.get(sha + "/thumb") || "")}" alt="${esc(t("msg.photo"))}" data-sha="${esc(sha)}"></button>`).join("");
    let stateMark = "";
    if (!fromCustomer) {
      const read = customer && customer.last_read_seq >= m.seq;
      stateMark = `<span class="delivery ${read ? "read" : "sent"}" title="${esc(read ? t("msg.read") : t("msg.sent"))}">${read ? "✓✓ " + esc(t("msg.read")) : "✓ " + esc(t("msg.sent"))}</span>`;
    }
    const csat = m.meta && m.meta.kind === "csat" ? `<div class="quick">${m.meta.quick_replies.map((q) => `<span class="qr">${esc(q)}</span>`).join("")}<span class="muted small">${esc(t("msg.csat"))}${tk.rating ? " · ★ " + fmtNumber(tk.rating) : ""}</span></div>` : "";
    html.push(`<li class="item ${fromCustomer ? "customer" : "agent"}${m.seq === focusSeq ? " focus" : ""}" data-seq="${m.seq}">
      <div class="meta">${personLine(p, m.sender_id)} ${timeEl(m.created_at)}${m.edited_at ? ` <span class="muted">(${esc(t("msg.edited"))})</span>` : ""}</div>
      <div class="body">${m.deleted_at ? `<em>${esc(t("msg.deleted"))}</em>` : esc(m.body)}</div>
      ${photos ? `<div class="photos">${photos}</div>` : ""}${csat}
      ${stateMark ? `<div class="foot">${stateMark}</div>` : ""}</li>`);
  }
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  box.innerHTML = html.join("");
  for (const img of box.querySelectorAll(".thumb img")) {
    if (!img.getAttribute("src")) mediaBlobUrl(img.dataset.sha, "thumb").then((url) => { if (url) img.src = url; });
  }
  for (const b of box.querySelectorAll(".thumb")) b.addEventListener("click", () => openPhoto(b.dataset.sha));
  const stick = atBottom || focusSeq === undefined;
  for (const img of box.querySelectorAll(".thumb img")) {
    img.addEventListener("load", () => { if (stick && !focusSeq) box.scrollTop = box.scrollHeight; }); // photos grow the list
  }
  const focus = focusSeq && box.querySelector(`li[data-seq="${focusSeq}"]`);
  if (focus) focus.scrollIntoView({ block: "center" });
  else if (atBottom || focusSeq === undefined) box.scrollTop = box.scrollHeight;
}
async function openPhoto(sha) {
  $("photo-img").src = await mediaBlobUrl(sha, "display");
  $("photo-original").href = await mediaBlobUrl(sha, "original");
  $("photo").showModal();
}

async function loadContext(id) {
  const ctx = await api("GET", `/support/conversations/${id}/context`);
  if (state.current !== id) return;
  const org = ctx.organisation, dev = ctx.device;
  const money = (minor, cur) => minor === null || minor === undefined ? "" : " · " + fmtNumber(minor / 100, cur ? { style: "currency", currency: cur } : { minimumFractionDigits: 2 });
  const orderLink = (oid, number) => `<a href="#order/${esc(oid)}" data-order="${esc(oid)}">${esc(number || oid.slice(-6))}</a>`;
  const list = (rows, fn) => rows && rows.length ? "<ul class='plain'>" + rows.map(fn).join("") + "</ul>" : `<p class="muted">${esc(t("side.none2"))}</p>`;
  $("context").innerHTML = `
    <p class="who"><strong>${esc(ctx.customer?.name)}</strong><br><span class="muted">${esc(t("role." + ctx.customer?.role))}${org ? " · " + esc(org.name) + " (" + esc(org.code) + ")" : ""}</span></p>
    <h3>${esc(t("side.device"))}</h3>
    ${dev ? `<p>${esc(dev.platform)} · ${esc(dev.app_version || "?")}<br>${timeEl(dev.last_seen_at)}</p>` : `<p class="muted">${esc(t("side.noDevice"))}</p>`}
    <h3>${esc(t("side.orders"))}</h3>
    ${list(ctx.recent_orders, (o) => `<li>${orderLink(o.id, o.number)} · ${esc(t("state." + o.state))}${money(o.total_minor, o.currency)}</li>`)}
    <h3>${esc(t("side.claims"))}</h3>
    ${list(ctx.open_discrepancies, (d) => `<li>${orderLink(d.order_id, d.order_number)}: ${esc(t("side.claim", d))}</li>`)}
    <h3>${esc(t("side.stock"))}</h3>
    ${list(ctx.stock_discrepancies, (s) => `<li><strong>${esc(s.sku)}</strong> ${esc(s.product)}: ${esc(t("side.counted", { counted: fmtNumber(s.counted), expected: s.expected === null ? "?" : fmtNumber(s.expected) }))} · ${timeEl(s.observed_at)}</li>`)}
    <h3>${esc(t("side.inspections"))}</h3>
    ${list(ctx.inspections, (i) => `<li>${esc(i.terminal)} · ${esc(t("state." + i.status))}${i.score_pct !== null ? " · " + fmtNumber(i.score_pct / 100, { style: "percent" }) : ""} · ${timeEl(i.submitted_at || i.started_at)}</li>`)}`;
  for (const a of $("context").querySelectorAll("a[data-order]")) a.addEventListener("click", (ev) => { ev.preventDefault(); openOrder(a.dataset.order); });
}

async function openOrder(id) {
  const o = await api("GET", `/support/orders/${id}`);
  $("order-title").textContent = (o.number || id) + " · " + t("state." + o.state);
  const money = (minor) => minor === null ? "—" : fmtNumber(minor / 100, o.currency ? { style: "currency", currency: o.currency } : { minimumFractionDigits: 2 });
  $("order-body").innerHTML = `<p>${esc(t("order.parties"))}: ${esc([o.distributor, o.supplier, o.terminal].filter(Boolean).join(" → "))}</p>
    <p>${timeEl(o.created_at)}${o.delivery ? ` · ${esc(t("order.delivery"))} ${esc(o.delivery.number || "")} (${esc(t("state." + o.delivery.state))})` : ""}</p>
    <table class="table"><thead><tr><th>${esc(t("order.sku"))}</th><th>${esc(t("order.product"))}</th><th class="num">${esc(t("order.qty"))}</th><th class="num">${esc(t("order.total"))}</th></tr></thead>
    <tbody>${o.lines.map((l) => `<tr><td>${esc(l.sku)}</td><td>${esc(l.product)}</td><td class="num">${fmtNumber(l.qty)}</td><td class="num">${money(l.line_total_minor)}</td></tr>`).join("")}</tbody>
    <tfoot><tr><th colspan="3">${esc(t("order.total"))}</th><th class="num">${money(o.total_minor)}</th></tr></tfoot></table>`;
  $("order").showModal();
}

// --- actions -------------------------------------------------------------------------------
async function act(fn) {
  showError("action-error", null);
  try { await fn(); await Promise.all([refreshTickets(), loadTicket(state.current, false)]); }
  catch (err) { showError("action-error", err); }
}
$("claim").addEventListener("click", () => act(() => api("POST", `/support/conversations/${state.current}/claim`)));
$("resolve").addEventListener("click", () => act(() => api("POST", `/support/conversations/${state.current}/resolve`)));
$("reopen").addEventListener("click", () => act(() => api("POST", `/support/conversations/${state.current}/reopen`)));
$("assign").addEventListener("click", () => act(() => api("POST", `/support/conversations/${state.current}/assign`, { agent_id: $("assign-to").value })));
$("macro").addEventListener("change", () => {
  const id = $("macro").value; $("macro").value = "";
  if (id) act(() => api("POST", `/support/conversations/${state.current}/macros/${id}`, { client_message_id: "macro-" + uid() }));
});
$("snooze").addEventListener("change", () => {
  const k = $("snooze").value; $("snooze").value = "";
  if (!k) return;
  const d = new Date();
  if (k === "1h") d.setHours(d.getHours() + 1);
  if (k === "4h") d.setHours(d.getHours() + 4);
  if (k === "tomorrow") { d.setDate(d.getDate() + 1); d.setHours(9, 0, 0, 0); }
  if (k === "week") { d.setDate(d.getDate() + ((8 - d.getDay()) % 7 || 7)); d.setHours(9, 0, 0, 0); }
  act(() => api("PUT", `/support/conversations/${state.current}/snooze`, { until: k === "wake" ? null : d.toISOString() }));
});
$("merge").addEventListener("click", async () => {
  const tk = state.ticket;
  const data = await api("GET", `/support/tickets?view=all&limit=200&org=${encodeURIComponent(tk.organisation_id || "")}`);
  const others = data.items.filter((x) => x.customer_id === tk.customer_id && x.id !== tk.id && !x.merged_into_id);
  $("merge-list").innerHTML = others.length ? others.map((o) => `<li class="row" tabindex="0" data-id="${o.id}"><strong>${esc(o.title)}</strong> · ${esc(statusText(o))} ${timeEl(o.created_at)}</li>`).join("")
    : `<li class="muted">${esc(t("merge.none"))}</li>`;
  for (const li of $("merge-list").querySelectorAll("li[data-id]")) {
    li.addEventListener("click", () => {
      const into = others.find((o) => o.id === li.dataset.id);
      if (!confirm(t("merge.confirm", { from: tk.title, into: into.title }))) return;
      $("merge-dialog").close();
      act(() => api("POST", `/support/conversations/${tk.id}/merge`, { into_id: into.id }));
    });
  }
  $("merge-dialog").showModal();
});

// --- composer ------------------------------------------------------------------------------
function setMode(mode) {
  state.mode = mode;
  $("mode-reply").setAttribute("aria-selected", String(mode === "reply"));
  $("mode-note").setAttribute("aria-selected", String(mode === "note"));
  $("composer").classList.toggle("note-mode", mode === "note");
  $("reply-label").textContent = t(mode === "note" ? "compose.noteLabel" : "compose.replyLabel");
  $("reply").placeholder = t(mode === "note" ? "compose.notePlaceholder" : "compose.replyPlaceholder");
  $("send").textContent = t(mode === "note" ? "compose.addNote" : "compose.send");
  $("canned").hidden = mode === "note";
}
$("mode-reply").addEventListener("click", () => { setMode("reply"); $("reply").focus(); });
$("mode-note").addEventListener("click", () => { setMode("note"); $("reply").focus(); });
$("canned").addEventListener("change", () => {
  const c = state.canned.find((x) => x.id === $("canned").value); $("canned").value = "";
  if (c) { $("reply").value = c.body; $("reply").focus(); }
});
$("reply").addEventListener("input", () => {
  // typing indicators only for replies: an internal note is never announced to the customer
  if (state.mode !== "reply" || !state.current) return;
  const me = state.people[state.me.id];
  if (!me || !me.member_role) return;
  if (Date.now() - state.lastTypingSent > 2500) { state.lastTypingSent = Date.now(); wsSend({ type: "typing", conversation_id: state.current }); }
});
$("reply").addEventListener("keydown", (ev) => { if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); $("composer").requestSubmit(); } });
$("composer").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const body = $("reply").value.trim();
  if (!body) return;
  const mode = state.mode;
  act(async () => {
    if (mode === "note") await api("POST", `/support/conversations/${state.current}/notes`, { body });
    else await api("POST", `/support/conversations/${state.current}/reply`, { body, client_message_id: "console-" + uid() });
    $("reply").value = "";
  });
});

// --- pages, keyboard, ticking clocks -----------------------------------------------------------
function showPage(page) {
  state.page = page;
  for (const p of ["inbox", "reports", "settings"]) {
    $(p === "inbox" ? "console-view" : p + "-view").hidden = page !== p;
    $("nav-" + p).setAttribute("aria-current", page === p ? "page" : "false");
  }
  sendViewing();
  if (page === "reports") loadReport();
  if (page === "settings") loadSettings();
}
$("nav-inbox").addEventListener("click", () => showPage("inbox"));
$("nav-reports").addEventListener("click", () => showPage("reports"));
$("nav-settings").addEventListener("click", () => showPage("settings"));
$("back").addEventListener("click", () => { document.body.classList.remove("has-ticket"); });
$("help-open").addEventListener("click", () => $("help").showModal());

document.addEventListener("keydown", (ev) => {
  const typingInField = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement?.tagName);
  if (ev.key === "Escape" && typingInField) { document.activeElement.blur(); return; }
  if (typingInField || ev.ctrlKey || ev.metaKey || ev.altKey || !state.token || document.querySelector("dialog[open]")) return;
  const move = (d) => {
    const list = state.tickets; if (!list.length) return;
    const i = list.findIndex((x) => x.id === state.current);
    const next = list[Math.min(list.length - 1, Math.max(0, i < 0 ? 0 : i + d))];
    openTicket(next.id);
  };
  const keys = {
    j: () => move(1), k: () => move(-1), "/": () => $("search").focus(), "?": () => $("help").showModal(),
    r: () => { if (state.current) { setMode("reply"); $("reply").focus(); } },
    n: () => { if (state.current) { setMode("note"); $("reply").focus(); } },
    e: () => { if (state.current && !$("resolve").hidden) $("resolve").click(); },
  };
  if (keys[ev.key] && state.page === "inbox") { ev.preventDefault(); keys[ev.key](); }
});

function tick() {
  for (const el of document.querySelectorAll("time[data-rel]")) el.textContent = fmtRelative(el.getAttribute("datetime"));
  renderQueue(); renderViewers();
  if (state.ticket) $("sla").innerHTML = state.ticket.sla.map((c) => slaChip([c], false)).join(" ");
}
function renderAll() { renderTabs(); renderQueue(); if (state.ticket) { renderHead(); renderMessages(); loadContext(state.current); } setMode(state.mode); if (state.page === "reports") loadReport(); if (state.page === "settings") renderSettings(); }

// --- reports -----------------------------------------------------------------------------------
function reportQuery() {
  const since = new Date($("rep-since").value + "T00:00:00"), until = new Date($("rep-until").value + "T00:00:00");
  until.setDate(until.getDate() + 1);
  return new URLSearchParams({ since: since.toISOString(), until: until.toISOString(), group: $("rep-group").value }).toString();
}
(() => {
  const iso = (d) => d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
  const now = new Date(); const from = new Date(now.getTime() - 29 * 86400000);
  $("rep-since").value = iso(from); $("rep-until").value = iso(now);
})();
$("report-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadReport(); });
$("rep-csv").addEventListener("click", async () => {
  const res = await fetch("/support/reports.csv?" + reportQuery(), { headers: { Authorization: "Bearer " + state.token } });
  const blob = await res.blob();
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = (res.headers.get("content-disposition") || "").match(/filename="([^"]+)"/)?.[1] || "support-report.csv";
  document.body.append(a); a.click(); a.remove();
});
const dur = (s) => (s === null || s === undefined ? "—" : fmtDuration(s));  // under a minute: seconds
function barChart(title, rows, value, format) {
  const vals = rows.map(value).map((v) => v || 0);
  const max = Math.max(1, ...vals);
  const w = 460, barH = 22, gap = 6, left = 120, h = rows.length * (barH + gap) + 10;
  const bars = rows.map((r, i) => {
    const y = i * (barH + gap) + 5, bw = Math.round((vals[i] / max) * (w - left - 70));
    return `<text x="${left - 8}" y="${y + 16}" text-anchor="end">${esc(r.name.length > 14 ? r.name.slice(0, 13) + "…" : r.name)}</text>
      <rect x="${left}" y="${y}" width="${Math.max(bw, 1)}" height="${barH}" rx="3"></rect>
      <text x="${left + bw + 6}" y="${y + 16}">${esc(format(value(r)))}</text>`;
  }).join("");
  return `<figure class="card chart"><figcaption>${esc(title)}</figcaption>
    <svg viewBox="0 0 ${w} ${Math.max(h, 30)}" role="img" aria-label="${esc(title)}">${bars}</svg></figure>`;
}
async function loadReport() {
  const data = await api("GET", "/support/reports?" + reportQuery());
  const tot = data.total;
  const card = (label, value) => `<div class="card stat"><div class="muted small">${esc(label)}</div><div class="big">${esc(value)}</div></div>`;
  $("rep-cards").innerHTML = [
    card(t("rep.tickets"), fmtNumber(tot.tickets)), card(t("rep.resolved"), fmtNumber(tot.resolved)),
    card(t("rep.frMedian"), dur(tot.first_response_median_s)), card(t("rep.frP90"), dur(tot.first_response_p90_s)),
    card(t("rep.resMedian"), dur(tot.resolution_median_s)), card(t("rep.resP90"), dur(tot.resolution_p90_s)),
    card(t("rep.breaches"), fmtNumber(tot.sla_breaches)),
    card(t("rep.csat"), tot.csat_average === null ? "—" : fmtNumber(tot.csat_average, { maximumFractionDigits: 2 }) + " (" + fmtNumber(tot.csat_count) + ")"),
  ].join("");
  const rows = data.rows.map((r) => ({ ...r, name: r.key === "-" ? t("row.unassigned") : (data.group === "day" ? new Intl.DateTimeFormat(locale(), { month: "short", day: "numeric" }).format(new Date(r.key + "T00:00:00")) : r.name) }));
  $("rep-charts").innerHTML = rows.length ? [
    barChart(t("rep.volume"), rows, (r) => r.tickets, (v) => fmtNumber(v || 0)),
    barChart(t("rep.frMedian"), rows, (r) => r.first_response_median_s, dur),
    barChart(t("rep.breaches"), rows, (r) => r.sla_breaches, (v) => fmtNumber(v || 0)),
    barChart(t("rep.csat"), rows, (r) => r.csat_average, (v) => (v === null ? "—" : fmtNumber(v, { maximumFractionDigits: 2 }))),
  ].join("") : `<p class="muted">${esc(t("queue.empty"))}</p>`;
  const cols = [["name", "rep.name"], ["tickets", "rep.tickets"], ["resolved", "rep.resolved"], ["first_response_median_s", "rep.frMedian"],
    ["first_response_p90_s", "rep.frP90"], ["resolution_median_s", "rep.resMedian"], ["resolution_p90_s", "rep.resP90"],
    ["sla_breaches", "rep.breaches"], ["csat_average", "rep.csat"], ["csat_count", "rep.csatCount"]];
  const cell = (r, k) => k === "name" ? esc(r.name) : k.endsWith("_s") ? esc(dur(r[k])) : r[k] === null ? "—" : esc(fmtNumber(r[k], { maximumFractionDigits: 2 }));
  $("rep-table").innerHTML = `<thead><tr>${cols.map(([, l]) => `<th${l === "rep.name" ? "" : ' class="num"'}>${esc(t(l))}</th>`).join("")}</tr></thead>
    <tbody>${rows.map((r) => `<tr data-key="${esc(r.key)}">${cols.map(([k]) => `<td${k === "name" ? "" : ' class="num"'} data-col="${k}">${cell(r, k)}</td>`).join("")}</tr>`).join("")}</tbody>
    <tfoot><tr data-key="total">${cols.map(([k]) => `<th${k === "name" ? "" : ' class="num"'} data-col="${k}">${k === "name" ? esc(t("rep.total")) : cell(tot, k)}</th>`).join("")}</tr></tfoot>`;
}

// --- settings: agents (capacity, team), teams (calendar, targets, lead), macros -----------------
const isAdmin = () => state.me && state.me.role === "admin";
const opt = (v, label, sel) => `<option value="${esc(v)}"${sel ? " selected" : ""}>${esc(label)}</option>`;
const hhmm = (min) => String(Math.floor(min / 60)).padStart(2, "0") + ":" + String(min % 60).padStart(2, "0");
const minutes = (v) => { const [h, m] = v.split(":").map(Number); return h * 60 + m; };
function weekdayName(d) {  // 0 = Monday, as the server's calendars count
  return new Intl.DateTimeFormat(locale(), { weekday: "short" }).format(new Date(Date.UTC(2026, 10, 30 + d)));
}
function hoursText(hours) {  // consecutive days with the same hours as one range: "Mon–Fri 09:00–18:00"
  const days = Object.keys(hours).map(Number).sort();
  if (!days.length) return t("set.always");
  const spans = (d) => hours[d].map(([a, b]) => hhmm(a) + "–" + hhmm(b)).join(", ");
  const runs = [];
  for (const d of days) {
    const last = runs[runs.length - 1];
    if (last && last.to === d - 1 && last.text === spans(d)) last.to = d; else runs.push({ from: d, to: d, text: spans(d) });
  }
  return runs.map((r) => weekdayName(r.from) + (r.to > r.from ? "–" + weekdayName(r.to) : "") + " " + r.text).join(" · ");
}
function fmtTarget(seconds) {  // a target in its largest whole unit: "15 min", "8 hr", "1 day"
  const [unit, n] = seconds % 86400 === 0 ? ["day", seconds / 86400] : seconds % 3600 === 0 ? ["hour", seconds / 3600] : ["minute", Math.round(seconds / 60)];
  return new Intl.NumberFormat(locale(), { style: "unit", unit, unitDisplay: "short" }).format(n);
}
async function loadSettings() {
  showError("set-error", null);
  try {
    const [agents, teams, macros] = await Promise.all([api("GET", "/support/agents"), api("GET", "/support/teams"), api("GET", "/support/macros")]);
    Object.assign(state, { agents, teams, macros });
    renderStatic(); renderSettings();
  } catch (err) { showError("set-error", err); }
}
function renderSettings() {
  const admin = isAdmin(), dis = admin ? "" : " disabled";
  $("set-readonly").hidden = admin;
  const teamOpts = (sel) => opt("", t("set.noTeam"), !sel) + state.teams.map((x) => opt(x.id, x.name, sel === x.id)).join("");
  $("set-agents").innerHTML = `<thead><tr><th>${esc(t("set.agent"))}</th><th>${esc(t("set.status"))}</th><th>${esc(t("filters.team"))}</th>
    <th class="num">${esc(t("set.capacity"))}</th><th class="num">${esc(t("set.open"))}</th><th></th></tr></thead><tbody>${state.agents.map((a) => `
    <tr data-agent="${esc(a.id)}"><td>${esc(a.name)} <span class="muted small">@${esc(a.username)}</span></td>
      <td><span class="dot inline" data-status="${esc(a.status)}" aria-hidden="true"></span> ${esc(t("presence." + a.status))}</td>
      <td><select class="agent-team" aria-label="${esc(t("filters.team"))}"${dis}>${teamOpts(a.team_id)}</select></td>
      <td class="num"><input class="agent-capacity" type="number" min="0" max="100" value="${a.capacity}" aria-label="${esc(t("set.capacity"))}"${dis}></td>
      <td class="num">${fmtNumber(a.open)}</td>
      <td class="num"><button type="button" class="btn small agent-save"${dis}>${esc(t("set.save"))}</button></td></tr>`).join("")}</tbody>`;
  const lead = (id) => (id ? agentName(id) : "—");
  $("set-teams").innerHTML = state.teams.length ? `<thead><tr><th>${esc(t("set.name"))}</th><th>${esc(t("set.lead"))}</th><th>${esc(t("set.timezone"))}</th>
    <th>${esc(t("set.hours"))}</th><th class="num">${esc(t("set.targets"))}</th><th></th></tr></thead><tbody>${state.teams.map((x) => `
    <tr data-team="${esc(x.id)}"><td>${esc(x.name)}${x.is_default ? ` <span class="chip">${esc(t("set.isDefault"))}</span>` : ""}</td>
      <td>${esc(lead(x.lead_id))}</td><td>${esc(x.timezone)}</td><td class="small">${esc(hoursText(x.hours))}</td>
      <td class="num small nowrap">${esc(fmtTarget(x.first_response_s))} / ${esc(fmtTarget(x.next_response_s))} / ${esc(fmtTarget(x.resolution_s))}</td>
      <td class="num"><button type="button" class="btn small team-edit"${dis}>${esc(t("set.edit"))}</button></td></tr>`).join("")}</tbody>`
    : `<tbody><tr><td class="muted">${esc(t("set.noTeams"))}</td></tr></tbody>`;
  $("team-lead").innerHTML = opt("", "—") + state.agents.map((a) => opt(a.id, a.name, $("team-lead").value === a.id)).join("");
  if (!$("team-days").children.length) {
    $("team-days").innerHTML = [0, 1, 2, 3, 4, 5, 6].map((d) => `<label class="check"><input type="checkbox" value="${d}"${d < 5 ? " checked" : ""}> <span class="wd" data-d="${d}"></span></label>`).join("");
  }
  for (const el of document.querySelectorAll("#team-days .wd")) el.textContent = weekdayName(Number(el.dataset.d));
  for (const el of $("team-form").elements) el.disabled = !admin;
  const assignSel = $("macro-assign").value;
  $("macro-assign").innerHTML = opt("", t("set.nobody")) + opt("me", t("set.whoApplies"), assignSel === "me") +
    state.agents.map((a) => opt(a.id, a.name, assignSel === a.id)).join("");
  $("set-macros").innerHTML = state.macros.length ? `<thead><tr><th>${esc(t("set.title"))}</th><th>${esc(t("set.reply"))}</th><th>${esc(t("set.labelsCol"))}</th>
    <th>${esc(t("set.assign"))}</th><th>${esc(t("set.resolves"))}</th><th></th></tr></thead><tbody>${state.macros.map((m) => `
    <tr data-macro="${esc(m.id)}"><td>${esc(m.title)}</td><td class="small clip">${esc(m.reply_body || "—")}</td>
      <td>${m.add_labels.map((l) => `<span class="chip">${esc(l)}</span>`).join(" ") || "—"}</td>
      <td>${esc(m.assign_to === "me" ? t("set.whoApplies") : m.assign_to ? agentName(m.assign_to) : "—")}</td>
      <td>${m.resolve ? "✓" : "—"}</td>
      <td class="num"><button type="button" class="btn small macro-edit">${esc(t("set.edit"))}</button></td></tr>`).join("")}</tbody>`
    : `<tbody><tr><td class="muted">${esc(t("set.noMacros"))}</td></tr></tbody>`;
}
async function settingsAct(fn, done) {
  showError("set-error", null);
  try { await fn(); await loadSettings(); toast(done); } catch (err) { showError("set-error", err); }
}
$("set-agents").addEventListener("click", (ev) => {
  const btn = ev.target.closest(".agent-save"); if (!btn) return;
  const row = btn.closest("tr");
  const body = { capacity: Number(row.querySelector(".agent-capacity").value), team_id: row.querySelector(".agent-team").value || null };
  settingsAct(() => api("PUT", `/support/agents/${row.dataset.agent}`, body), t("set.saved"));
});
$("set-teams").addEventListener("click", (ev) => {
  const btn = ev.target.closest(".team-edit"); if (!btn) return;
  const x = state.teams.find((y) => y.id === btn.closest("tr").dataset.team); if (!x) return;
  $("team-name").value = x.name; $("team-lead").value = x.lead_id || ""; $("team-tz").value = x.timezone;
  const days = Object.keys(x.hours);
  for (const box of document.querySelectorAll("#team-days input")) box.checked = days.includes(box.value);
  const span = days.length ? x.hours[days[0]][0] : [0, 1440];
  $("team-open").value = hhmm(span[0]); $("team-close").value = hhmm(Math.min(span[1], 1439));
  $("team-holidays").value = x.holidays.join(", ");
  $("team-fr").value = Math.round(x.first_response_s / 60); $("team-nr").value = Math.round(x.next_response_s / 60);
  $("team-res").value = Math.round(x.resolution_s / 3600); $("team-default").checked = x.is_default;
  $("team-name").focus();
});
$("team-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const open = minutes($("team-open").value), close = minutes($("team-close").value);
  const hours = {};
  for (const box of document.querySelectorAll("#team-days input:checked")) hours[box.value] = [[open, close]];
  const body = {
    name: $("team-name").value.trim(), lead_id: $("team-lead").value || null, timezone: $("team-tz").value.trim(), hours,
    holidays: $("team-holidays").value.split(/[,\s]+/).filter(Boolean),
    first_response_s: Number($("team-fr").value) * 60, next_response_s: Number($("team-nr").value) * 60,
    resolution_s: Number($("team-res").value) * 3600, is_default: $("team-default").checked,
  };
  settingsAct(() => api("POST", "/support/teams", body), t("set.saved"));
});
$("set-macros").addEventListener("click", (ev) => {
  const btn = ev.target.closest(".macro-edit"); if (!btn) return;
  const m = state.macros.find((y) => y.id === btn.closest("tr").dataset.macro); if (!m) return;
  $("macro-title").value = m.title; $("macro-reply").value = m.reply_body; $("macro-labels").value = m.add_labels.join(", ");
  $("macro-assign").value = m.assign_to || ""; $("macro-resolve").checked = m.resolve; $("macro-title").focus();
});
$("macro-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const body = {
    title: $("macro-title").value.trim(), reply_body: $("macro-reply").value,
    add_labels: $("macro-labels").value.split(",").map((l) => l.trim().toLowerCase()).filter(Boolean),
    assign_to: $("macro-assign").value || null, resolve: $("macro-resolve").checked,
  };
  settingsAct(() => api("POST", "/support/macros", body), t("set.saved"));
});

// --- start ---------------------------------------------------------------------------------------
I18N.set(I18N.pick());
$("lang").value = I18N.lang;
setMode("reply");
renderStatic();
(() => {
  const saved = sessionStorage.getItem("fs-console");
  if (!saved) return;
  Object.assign(state, JSON.parse(saved));
  start().catch(() => { sessionStorage.removeItem("fs-console"); location.reload(); });
})();
