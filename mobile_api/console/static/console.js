// fieldsync support console: signs an agent in, shows the shared queue and one conversation,
// and keeps both live over the WebSocket. Plain JavaScript, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { token: null, me: null, queue: [], current: null, socket: null, createdBy: null };

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: Object.assign(
      { "Content-Type": "application/json" },
      state.token ? { Authorization: "Bearer " + state.token } : {}
    ),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = res.headers.get("content-type")?.includes("json") ? await res.json() : null;
  if (!res.ok) throw new Error((data && data.message) || res.statusText);
  return data;
}

function fmtDuration(s) {
  const sign = s < 0 ? "-" : "";
  s = Math.abs(Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return sign + (h ? h + "h " : "") + (h || m ? m + "m " : "") + sec + "s";
}

function showError(id, err) { $(id).textContent = err ? String(err.message || err) : ""; }

// --- sign in ---------------------------------------------------------------------------
$("signin").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showError("signin-error", null);
  try {
    const tokens = await api("POST", "/auth/login", {
      username: $("username").value, password: $("password").value, client_id: "console", platform: "web",
    });
    if (!["support_agent", "admin"].includes(tokens.user.role)) throw new Error("this console is for support agents");
    state.token = tokens.access_token;
    state.me = tokens.user;
    sessionStorage.setItem("fs-console", JSON.stringify({ token: state.token, me: state.me }));
    await start();
  } catch (err) { showError("signin-error", err); }
});

$("signout").addEventListener("click", () => {
  sessionStorage.removeItem("fs-console");
  location.reload();
});

async function start() {
  $("signin-view").hidden = true;
  $("console-view").hidden = false;
  $("signout").hidden = false;
  $("whoami").textContent = "Signed in as " + state.me.display_name;
  const [agents, canned] = await Promise.all([api("GET", "/support/agents"), api("GET", "/support/canned-replies")]);
  $("assign-to").innerHTML = agents.map((a) => `<option value="${a.id}">${escapeHtml(a.name)}</option>`).join("");
  $("canned").innerHTML = '<option value="">—</option>' +
    canned.map((c) => `<option value="${escapeHtml(c.body)}">${escapeHtml(c.title)}</option>`).join("");
  connect();
  await refreshQueue();
  setInterval(tick, 1000);
}

function escapeHtml(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// --- live socket -----------------------------------------------------------------------
function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${proto}//${location.host}/ws?access_token=${encodeURIComponent(state.token)}`);
  state.socket = socket;
  socket.onmessage = (ev) => {
    const event = JSON.parse(ev.data);
    const mineRead = event.type === "read" && event.user_id === state.me.id;
    if (event.type === "support.updated" || event.type === "conversation" || mineRead) refreshQueue();
    if (event.conversation_id && event.conversation_id === state.current) {
      if (event.type.startsWith("message") || event.type === "support.updated" || event.type === "conversation") {
        loadConversation(state.current, false);
      }
      if (event.type === "support.note") loadNotes();
    }
    document.body.dataset.socket = "open";
  };
  socket.onopen = () => { document.body.dataset.socket = "open"; };
  socket.onclose = () => { document.body.dataset.socket = "closed"; setTimeout(connect, 2000); };
}

// --- queue -----------------------------------------------------------------------------
async function refreshQueue() {
  const mine = $("mine-only").checked ? "?mine=true" : "";
  state.queue = await api("GET", "/support/queue" + mine);
  state.queueFetchedAt = Date.now();
  renderQueue();
}
$("mine-only").addEventListener("change", refreshQueue);

function renderQueue() {
  $("waiting-badge").textContent = state.queue.filter((q) => q.status === "waiting").length;
  $("unread-badge").textContent = state.queue.reduce((n, q) => n + (q.assignee_id === state.me.id ? q.unread : 0), 0);
  $("queue").innerHTML = state.queue.map((q) => `
    <li tabindex="0" data-id="${q.id}" class="${q.escalated ? "escalated" : ""}"
        aria-current="${q.id === state.current}">
      <strong>${escapeHtml(q.title)}</strong>
      ${q.unread ? `<span class="badge unread" title="unread">${q.unread}</span>` : ""}
      <div class="meta">${escapeHtml(q.customer)} · ${escapeHtml(q.organisation)}</div>
      <div class="meta">${q.status}${q.assignee ? " · " + escapeHtml(q.assignee) : ""}
        ${q.waiting_s !== null ? ` · waiting <span class="wait" data-base="${q.waiting_s}"></span>` : ""}</div>
    </li>`).join("");
  for (const li of $("queue").querySelectorAll("li")) {
    li.addEventListener("click", () => loadConversation(li.dataset.id, true));
    li.addEventListener("keydown", (ev) => { if (ev.key === "Enter") loadConversation(li.dataset.id, true); });
  }
  tick();
}

function tick() {
  const elapsed = (Date.now() - (state.queueFetchedAt || Date.now())) / 1000;
  for (const el of document.querySelectorAll(".wait")) el.textContent = fmtDuration(+el.dataset.base + elapsed);
  const item = state.queue.find((q) => q.id === state.current);
  const timer = $("sla-timer");
  if (!item || item.first_response_left_s === null) { timer.textContent = item && item.first_response_at ? "first response sent" : ""; timer.className = ""; return; }
  const left = item.first_response_left_s - elapsed;
  timer.textContent = left >= 0 ? "first response due in " + fmtDuration(left) : "first response overdue by " + fmtDuration(-left);
  timer.className = left < 0 ? "breached" : "";
}

// --- one conversation ------------------------------------------------------------------
async function loadConversation(id, full) {
  state.current = id;
  const [conv, messages] = await Promise.all([
    api("GET", `/conversations/${id}`), api("GET", `/conversations/${id}/messages?limit=500`),
  ]);
  state.createdBy = conv.created_by;
  $("chat-title").textContent = conv.title;
  $("chat-status").textContent = "status: " + conv.status;
  $("actions").hidden = false;
  $("reply-form").hidden = conv.status === "resolved";
  $("note-form").hidden = false;
  $("claim").hidden = conv.assignee_id === state.me.id;
  $("resolve").hidden = conv.status === "resolved";
  $("reopen").hidden = conv.status !== "resolved";
  $("messages").innerHTML = messages.map((m) => `
    <li class="${m.sender_id === conv.created_by ? "customer" : "agent"}" data-seq="${m.seq}">
      <span class="who">${m.sender_id === conv.created_by ? "Customer" : (m.sender_id === state.me.id ? "You" : "Agent")}</span>
      ${m.deleted_at ? "<em>deleted</em>" : escapeHtml(m.body)}</li>`).join("");
  if (full) {
    renderQueue();
    const ctx = await api("GET", `/support/conversations/${id}/context`);
    const org = ctx.organisation;
    $("context").innerHTML = `
      <p><strong>${escapeHtml(ctx.customer?.name)}</strong> (${escapeHtml(ctx.customer?.role)})</p>
      <p>${org ? escapeHtml(org.name) + " · " + escapeHtml(org.kind) : ""}</p>
      <h3>Recent orders</h3>
      ${ctx.recent_orders.length ? "<ul>" + ctx.recent_orders.map((o) => `<li>Order …${escapeHtml(o.id.slice(-6))} · ${escapeHtml(o.state)}${o.total_minor !== null ? " · " + (o.total_minor / 100).toFixed(2) + " " + escapeHtml(o.currency || "") : ""}</li>`).join("") + "</ul>" : "<p>None yet.</p>"}
      <h3>Open acceptance discrepancies</h3>
      ${ctx.open_discrepancies.length ? "<ul>" + ctx.open_discrepancies.map((d) => `<li>Order …${escapeHtml(d.order_id.slice(-6))}: short ${d.short}, damaged ${d.damaged}, wrong ${d.wrong}</li>`).join("") + "</ul>" : "<p>None.</p>"}`;
    await loadNotes();
  }
  const last = messages.length ? messages[messages.length - 1].seq : 0;
  if (conv.role && last > conv.last_read_seq && state.socket?.readyState === 1) {
    state.socket.send(JSON.stringify({ type: "read", conversation_id: id, seq: last }));
  }
}

async function loadNotes() {
  const notes = await api("GET", `/support/conversations/${state.current}/notes`);
  $("notes").innerHTML = notes.map((n) => `<li>${escapeHtml(n.body)}</li>`).join("");
}

async function act(fn) {
  showError("action-error", null);
  try { await fn(); await refreshQueue(); await loadConversation(state.current, false); }
  catch (err) { showError("action-error", err); }
}

$("claim").addEventListener("click", () => act(() => api("POST", `/support/conversations/${state.current}/claim`)));
$("resolve").addEventListener("click", () => act(() => api("POST", `/support/conversations/${state.current}/resolve`)));
$("reopen").addEventListener("click", () => act(() => api("POST", `/support/conversations/${state.current}/reopen`)));
$("assign").addEventListener("click", () => act(() =>
  api("POST", `/support/conversations/${state.current}/assign`, { agent_id: $("assign-to").value })));
$("canned").addEventListener("change", () => { if ($("canned").value) $("reply").value = $("canned").value; });
$("reply-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const body = $("reply").value;
  act(async () => {
    await api("POST", `/support/conversations/${state.current}/reply`, { body, client_message_id: "console-" + crypto.randomUUID() });
    $("reply").value = "";
  });
});
$("note-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const body = $("note").value;
  act(async () => { await api("POST", `/support/conversations/${state.current}/notes`, { body }); $("note").value = ""; await loadNotes(); });
});

// Resume a session after a reload.
(() => {
  const saved = sessionStorage.getItem("fs-console");
  if (!saved) return;
  Object.assign(state, JSON.parse(saved));
  start().catch(() => { sessionStorage.removeItem("fs-console"); location.reload(); });
})();
