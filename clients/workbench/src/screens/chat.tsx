// Chat with the supplier and support: conversations, live messages (the SDK pulls on the
// socket's hints), photos in messages, read markers, and opening a support ticket.
import { useEffect, useRef, useState } from "preact/hooks";
import { ago, time } from "../format";
import { t } from "../i18n";
import { newId } from "../data/ids";
import { mutate, uploadPhoto, useMe, usePhoto } from "../data/sdk";
import { byId, groupBy } from "../data/select";
import { useRows } from "../data/store";
import type { Conversation, Message } from "../data/rows";
import { navigate } from "../router";
import { CameraIcon, Card, Empty, Link, PhotoInput, toast } from "../ui/parts";

function title(c: Conversation, others: string[]): string {
  if (c.kind === "support") return c.title ? `${t("support")} · ${c.title}` : t("support");
  return c.title || others.join(", ") || t(c.kind === "direct" ? "direct_chat" : "conversation");
}

export function ChatList() {
  const me = useMe()!;
  const conversations = useRows("conversation");
  const members = groupBy(useRows("conversation_member"), "conversation_id");
  const messages = groupBy(useRows("message"), "conversation_id");
  const users = byId(useRows("user"));
  const [opening, setOpening] = useState(false);
  const list = conversations
    .map((c) => {
      const msgs = messages.get(c.id) ?? [];
      const last = msgs.reduce<Message | undefined>((a, m) => (!a || m.seq > a.seq ? m : a), undefined);
      const mine = members.get(c.id)?.find((m) => m.user_id === me.user.id);
      const unread = msgs.filter((m) => m.sender_id !== me.user.id && m.seq > (mine?.last_read_seq ?? 0) && !m.pending).length;
      const others = (members.get(c.id) ?? []).filter((m) => m.user_id !== me.user.id).map((m) => users.get(m.user_id)?.display_name).filter((n): n is string => !!n);
      return { c, last, unread, others };
    })
    .sort((a, b) => (b.last?.created_at ?? b.c.created_at).localeCompare(a.last?.created_at ?? a.c.created_at));
  return (
    <div data-testid="chat-list">
      <ul class="list">
        {list.map(({ c, last, unread, others }) => (
          <li key={c.id} data-testid="conversation" data-id={c.id}>
            <Link href={`/chat/${c.id}`} class="item">
              <div class="grow">
                <div class="t">{title(c, others)}</div>
                <div class="s" style={{ whiteSpace: "nowrap", overflow: "hidden", textOverflow: "ellipsis" }}>{last ? (last.body || t("photo")) : t("no_messages")}</div>
              </div>
              <div style={{ textAlign: "right" }}>
                <div class="small muted">{last ? ago(last.created_at) : ""}</div>
                {unread > 0 && <span class="badge" data-testid="unread">{unread}</span>}
              </div>
            </Link>
          </li>
        ))}
      </ul>
      {list.length === 0 && <Empty>{t("no_conversations")}</Empty>}
      {!opening ? (
        <button class="btn secondary block" data-testid="new-ticket" onClick={() => setOpening(true)}>{t("open_support_ticket")}</button>
      ) : (
        <SupportTicket onDone={() => setOpening(false)} />
      )}
    </div>
  );
}

function SupportTicket(props: { onDone: () => void }) {
  const [subject, setSubject] = useState("");
  const [body, setBody] = useState("");
  const [busy, setBusy] = useState(false);
  // A mutation like every other action: opened offline, it shows at once and waits in the outbox.
  const send = async () => {
    setBusy(true);
    try {
      const id = newId();
      await mutate("support.open", { id, subject: subject.trim(), body: body.trim(), client_message_id: newId() });
      toast(t("ticket_opened"));
      props.onDone();
      navigate(`/chat/${id}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title={t("open_support_ticket")}>
      <label class="field"><span>{t("subject")}</span><input type="text" data-testid="ticket-subject" maxLength={200} value={subject} onInput={(e) => setSubject((e.target as HTMLInputElement).value)} /></label>
      <label class="field"><span>{t("describe_problem")}</span><textarea data-testid="ticket-body" value={body} onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)} /></label>
      <div class="actions">
        <button class="btn secondary" onClick={props.onDone}>{t("back")}</button>
        <button class="btn" data-testid="ticket-send" disabled={busy || !subject.trim() || !body.trim()} onClick={send}>{t("send")}</button>
      </div>
    </Card>
  );
}

function Photo(props: { sha: string }) {
  const url = usePhoto(props.sha);
  return url ? <img src={url} alt={t("photo")} loading="lazy" /> : <span class="pill"><CameraIcon /> {t("photo")}</span>;
}

/** A message's place: the server's seq; one still in the outbox goes last. */
const seqOf = (m: Message) => (m.pending || typeof m.seq !== "number" ? Number.MAX_SAFE_INTEGER : m.seq);

export function ChatThread(props: { id: string }) {
  const me = useMe()!;
  const conv = useRows("conversation").find((c) => c.id === props.id);
  const messages = (groupBy(useRows("message"), "conversation_id").get(props.id) ?? []).slice().sort((a, b) => seqOf(a) - seqOf(b));
  const members = groupBy(useRows("conversation_member"), "conversation_id").get(props.id) ?? [];
  const users = byId(useRows("user"));
  const [text, setText] = useState("");
  const end = useRef<HTMLDivElement>(null);
  const mine = members.find((m) => m.user_id === me.user.id);
  const lastSeq = messages.filter((m) => !m.pending).reduce((n, m) => Math.max(n, m.seq), 0);
  useEffect(() => {
    end.current?.scrollIntoView({ block: "end" });
    if (lastSeq > (mine?.last_read_seq ?? 0)) void mutate("message.read", { conversation_id: props.id, up_to_seq: lastSeq });
  }, [lastSeq, messages.length]);
  if (!conv) return <Empty>{t("conversation_not_found")}</Empty>;
  const others = members.filter((m) => m.user_id !== me.user.id);
  const readBy = (m: Message) => others.filter((o) => o.last_read_seq >= m.seq).map((o) => users.get(o.user_id)?.display_name ?? t("other_member"));
  const send = async (attachments: string[] = []) => {
    const body = text.trim();
    if (!body && !attachments.length) return;
    setText("");
    await mutate("message.send", { conversation_id: props.id, client_message_id: newId(), body, attachments });
  };
  return (
    <div data-testid="chat-thread">
      <div class="bubbles">
        {messages.map((m) => {
          const own = m.sender_id === me.user.id;
          const read = own && !m.pending ? readBy(m) : [];
          return (
            <div key={m.id} class={`bubble ${own ? "mine" : ""}`} data-testid="message" data-pending={m.pending ? "1" : "0"}>
              {!own && <div class="small" style={{ fontWeight: 600 }}>{users.get(m.sender_id)?.display_name ?? t("other_member")}</div>}
              {m.body && <div>{m.body}</div>}
              {m.attachments?.map((a) => <Photo key={a} sha={a} />)}
              <div class="meta">
                {time(m.created_at)}
                {own && (m.pending ? " · " + t("waiting_to_sync") : read.length ? " · " + t("read_by", { names: read.join(", ") }) : " · " + t("delivered"))}
              </div>
            </div>
          );
        })}
        {messages.length === 0 && <Empty>{t("no_messages")}</Empty>}
        <div ref={end} />
      </div>
      <div class="composer">
        <div>
          <PhotoInput label="" multiple={false} testid="chat-photo" onFiles={async (files) => void send([await uploadPhoto(files[0])])} />
          <input type="text" data-testid="chat-input" aria-label={t("write_message")} placeholder={t("write_message")} value={text}
            onInput={(e) => setText((e.target as HTMLInputElement).value)} onKeyDown={(e) => e.key === "Enter" && void send()} />
          <button class="btn" data-testid="chat-send" onClick={() => void send()}>{t("send")}</button>
        </div>
      </div>
    </div>
  );
}
