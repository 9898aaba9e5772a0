/**
 * Property (fast-check): several phones — two devices of one field rep and a colleague — edit
 * offline and sync in random orders while the network fails at random (requests refused, push
 * replies lost after the server committed). Afterwards every replica equals a fresh full pull of
 * its user, no outbox holds anything, and every acknowledged mutation took effect exactly once.
 */
import fc from "fast-check";
import { afterAll, beforeAll, expect, test } from "vitest";
import { hexId } from "../src/uuid.js";
import { type Phone, signedIn } from "./clients.js";
import { Server } from "./harness.js";

let server: Server;
let phones: Phone[] = [];
const USERS = ["field-north", "field-north", "dist-north"];

beforeAll(async () => {
  server = await Server.start();
  phones = [];
  for (const [i, user] of USERS.entries()) {
    const p = await signedIn(server.url, user, { clientId: `prop-${i}-${hexId().slice(0, 8)}`, pushBatch: 3 });
    await p.client.sync();
    phones.push(p);
  }
});

afterAll(async () => {
  for (const p of phones) await p.client.close();
  await server?.stop();
});

type Command =
  | { kind: "rename"; phone: number; name: string }
  | { kind: "message"; phone: number; body: string }
  | { kind: "doomed"; phone: number }
  | { kind: "sync"; phone: number; fault: "none" | "refuse" | "lose-reply" }
  | { kind: "offline"; phone: number; offline: boolean };

const phoneIx = fc.integer({ min: 0, max: USERS.length - 1 });
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("rename" as const), phone: phoneIx, name: fc.string({ minLength: 1, maxLength: 12 }).map((s) => `P ${s}`) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("message" as const), phone: fc.integer({ min: 0, max: 1 }), body: fc.string({ maxLength: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("doomed" as const), phone: phoneIx }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("sync" as const), phone: phoneIx, fault: fc.constantFrom("none" as const, "refuse" as const, "lose-reply" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("offline" as const), phone: phoneIx, offline: fc.boolean() }) },
);

/** Every row of a replica: "scope|entity|id" → JSON of version and data. */
async function snapshot(p: Phone): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const scope of await p.storage.scopes()) {
    for (const row of await p.storage.scopeRows(scope)) out.set(`${scope}|${row.entity}|${row.id}`, JSON.stringify([row.version, row.data]));
  }
  return out;
}

async function userVersion(p: Phone, username: string): Promise<number> {
  const [row] = await p.client.query("user", { username });
  return row!.version as number;
}

test("phones editing offline with random syncs and failures converge, and nothing applies twice", async () => {
  const [conversation] = await phones[0]!.client.chat.conversations();
  expect(conversation).toBeDefined();
  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 6, maxLength: 18 }), async (commands) => {
      const startVersions = new Map<string, number>();
      for (const user of new Set(USERS)) startVersions.set(user, await userVersion(phones[0]!, user));
      const minted: string[] = [];
      const messages: string[] = [];
      for (const c of commands) {
        const p = phones[c.phone]!;
        if (c.kind === "rename") {
          minted.push((await p.client.mutate("profile.update", { display_name: c.name })).id);
          // The edit shows at once, whatever the network does.
          const [me] = await p.client.query("user", { id: p.client.session!.user.id });
          expect(me?.display_name).toBe(c.name);
        } else if (c.kind === "message") {
          const sent = await p.client.chat.send(String(conversation!.id), c.body || "…");
          minted.push(sent.id);
          messages.push(sent.clientMessageId);
        } else if (c.kind === "doomed") {
          minted.push((await p.client.mutate("order.cancel", { order_id: `missing-${hexId()}` })).id);
        } else if (c.kind === "offline") {
          p.net.offline = c.offline;
        } else {
          if (c.fault === "refuse") p.net.failBefore = 1;
          if (c.fault === "lose-reply") p.net.loseReplies = 1;
          await p.client.sync().catch(() => undefined);
          p.net.failBefore = 0;
          p.net.loseReplies = 0;
        }
      }
      // Back online everywhere; everyone syncs until quiet (twice: the second round sees the others' pushes).
      for (const p of phones) p.net.offline = false;
      for (let round = 0; round < 2; round++) for (const p of phones) await p.client.sync();

      // Nothing is left unsent, and every minted mutation has a result.
      for (const p of phones) expect((await p.client.pending()).waiting).toBe(0);
      const results = new Map<string, { status: string; name: string; user: string }>();
      for (const [i, p] of phones.entries()) {
        for (const r of await p.client.results()) results.set(r.id, { status: r.status, name: r.name, user: USERS[i]! });
      }
      for (const id of minted) expect(results.has(id)).toBe(true);

      // Exactly once: each applied rename moved its user's version by exactly one.
      for (const user of new Set(USERS)) {
        const applied = minted.filter((id) => {
          const r = results.get(id)!;
          return r.user === user && r.name === "profile.update" && r.status === "applied";
        }).length;
        expect(await userVersion(phones[0]!, user)).toBe(startVersions.get(user)! + applied);
      }
      for (const id of minted) if (results.get(id)!.name === "order.cancel") expect(results.get(id)!.status).toBe("rejected");
      // Each message exactly once in the conversation.
      const rows = await phones[0]!.client.chat.messages(String(conversation!.id));
      for (const cm of messages) expect(rows.filter((m) => m.client_message_id === cm)).toHaveLength(1);

      // Convergence: each replica equals a fresh full pull of its user.
      for (const user of new Set(USERS)) {
        const fresh = await signedIn(server.url, user);
        await fresh.client.sync();
        const expected = await snapshot(fresh);
        await fresh.client.close();
        for (const [i, p] of phones.entries()) {
          if (USERS[i] !== user) continue;
          const held = await snapshot(p);
          expect(held.size).toBe(expected.size);
          for (const [key, value] of expected) if (held.get(key) !== value) expect([key, held.get(key)]).toEqual([key, value]);
        }
      }
    }),
    { numRuns: 3, endOnFailure: true, interruptAfterTimeLimit: 60_000 },
  );
}, 150_000);
