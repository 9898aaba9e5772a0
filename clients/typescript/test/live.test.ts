/** Live: a `/ws` pull hint brings another phone's mutation into an online replica; chat calls. */
import { expect, test } from "vitest";
import { eventually, signedIn, WebSocket } from "./clients.js";
import { sharedServerUrl } from "./harness.js";

const server = { url: sharedServerUrl() };

test("a pull hint over /ws brings a colleague's change without asking, and chat goes through the outbox", async () => {
  const writer = await signedIn(server.url, "inspector-north"); // nobody else on the shared server renames them
  const reader = await signedIn(server.url, "dist-north", { WebSocket: WebSocket as never, syncIntervalMs: 600_000 });
  await writer.client.sync();
  reader.client.start();
  await eventually(() => reader.client.status.live && reader.client.status.lastSyncedAt !== null, 15_000, "reader live and synced");
  const me = writer.client.session!.user;
  await eventually(() => !reader.client.status.syncing, 10_000, "the reader idle");
  const pullsBefore = reader.net.count("/sync/v1/pull");
  await writer.client.mutate("profile.update", { display_name: "Seen live" });
  await writer.client.sync();
  await eventually(async () => (await reader.client.query("user", { id: me.id }))[0]?.display_name === "Seen live", 10_000, "the change in the reader's replica");
  expect(reader.net.count("/sync/v1/pull")).toBeGreaterThan(pullsBefore);

  // Chat: the message shows at once, is sent once, and comes back as the server stored it.
  const chatter = await signedIn(server.url, "field-north");
  await chatter.client.sync();
  const [conversation] = await chatter.client.chat.conversations();
  expect(conversation).toBeDefined();
  const sent = await chatter.client.chat.send(String(conversation!.id), "hello from the SDK");
  const shown = await chatter.client.chat.messages(String(conversation!.id));
  expect(shown.at(-1)).toMatchObject({ body: "hello from the SDK", pending: true });
  await chatter.client.sync();
  const stored = (await chatter.client.chat.messages(String(conversation!.id))).filter((m) => m.client_message_id === sent.clientMessageId);
  expect(stored).toHaveLength(1);
  expect(typeof stored[0]!.seq).toBe("number");
  expect(stored[0]!.pending).toBeUndefined();
  await chatter.client.chat.markRead(String(conversation!.id), stored[0]!.seq as number);
  await chatter.client.sync();
  expect((await chatter.client.results()).at(-1)?.status).toBe("applied");
  reader.client.stop();
  await reader.client.close();
  await writer.client.close();
  await chatter.client.close();
});

test("a chat message from another phone reaches an online replica live (the socket's event starts a pull)", async () => {
  const reader = await signedIn(server.url, "field-north", { WebSocket: WebSocket as never, syncIntervalMs: 600_000 });
  reader.client.start();
  await eventually(() => reader.client.status.live && reader.client.status.lastSyncedAt !== null, 15_000, "reader live and synced");
  const [conversation] = await reader.client.chat.conversations();
  expect(conversation).toBeDefined();
  const id = String(conversation!.id);
  await eventually(() => !reader.client.status.syncing, 10_000, "the reader idle");
  const writer = await signedIn(server.url, "field-north"); // a second phone of a member
  const sent = await writer.client.chat.send(id, "to the other phone, live");
  await writer.client.sync();
  await eventually(
    async () => (await reader.client.chat.messages(id)).some((m) => m.client_message_id === sent.clientMessageId && !m.pending),
    10_000,
    "the message in the reader's replica",
  );
  reader.client.stop();
  await reader.client.close();
  await writer.client.close();
});
