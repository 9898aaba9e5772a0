/** Test phones: an SDK client on its own SQLite file, with a network the test can cut. */
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import WebSocket from "ws";
import { createClient, type FieldsyncClient } from "../src/index.js";
import type { ClientOptions } from "../src/types.js";
import { SqliteStorage } from "../src/storage/sqlite.js";
import { PASSWORD, scratchDir, Server } from "./harness.js";

/** A fetch the test controls: offline, drop the reply after the server acted, count calls. */
export class Network {
  offline = false;
  /** Drop the reply of the next N pushes (the server committed; the phone never hears). */
  loseReplies = 0;
  /** Fail the next N requests before they leave (connection refused). */
  failBefore = 0;
  readonly calls: string[] = [];

  readonly fetch = async (input: string, init?: RequestInit): Promise<Response> => {
    const path = new URL(input).pathname;
    this.calls.push(`${init?.method ?? "GET"} ${path}`);
    if (this.offline) throw new TypeError("fetch failed: offline");
    if (this.failBefore > 0) {
      this.failBefore -= 1;
      throw new TypeError("fetch failed: connection refused");
    }
    const response = await fetch(input, init);
    if (path.endsWith("/sync/v1/push") && this.loseReplies > 0) {
      this.loseReplies -= 1;
      await response.arrayBuffer();
      throw new TypeError("fetch failed: connection reset after the request was sent");
    }
    return response;
  };

  count(prefix: string): number {
    return this.calls.filter((c) => c.includes(prefix)).length;
  }
}

export interface Phone {
  client: FieldsyncClient;
  storage: SqliteStorage;
  file: string;
  net: Network;
}

export function phone(baseUrl: string, options: Partial<ClientOptions> & { file?: string } = {}): Phone {
  const file = options.file ?? join(scratchDir(), "replica.db");
  const storage = new SqliteStorage(file);
  const net = new Network();
  const client = createClient({
    baseUrl,
    storage,
    fetch: net.fetch,
    WebSocket: null,
    backoff: { baseMs: 50, maxMs: 500 },
    ...options,
  });
  return { client, storage, file, net };
}

export async function signedIn(baseUrl: string, username: string, options: Partial<ClientOptions> & { file?: string } = {}): Promise<Phone> {
  const p = phone(baseUrl, options);
  await p.client.signIn(username, PASSWORD);
  return p;
}

export { WebSocket };

/** A field rep's replica indexes, as the workbench declares them. */
const FIELD_REP_INDEXES = { stock_level: ["product_id", "terminal_id"], route_assignment: ["user_id"] };

/**
 * One real server for the calling test file (started before its tests, stopped after them),
 * and field reps' phones on it, closed with it.
 */
export function serverForFile(): {
  server: () => Server;
  member: (username: string, options?: Partial<ClientOptions>) => Promise<Phone>;
  fieldRep: (options?: Partial<ClientOptions>) => Promise<Phone>;
} {
  let server: Server | undefined;
  const phones: Phone[] = [];
  beforeAll(async () => {
    server = await Server.start();
  });
  afterAll(async () => {
    for (const p of phones) await p.client.close();
    await server?.stop();
  });
  const running = (): Server => {
    if (!server) throw new Error("the server starts in beforeAll: use it inside a test");
    return server;
  };
  const member = async (username: string, options: Partial<ClientOptions> = {}): Promise<Phone> => {
    const p = await signedIn(running().url, username, options);
    phones.push(p);
    return p;
  };
  const fieldRep = (options: Partial<ClientOptions> = {}): Promise<Phone> =>
    member("field-north", { indexes: FIELD_REP_INDEXES, ...options });
  return { server: running, member, fieldRep };
}

/** Waits until `check()` is truthy (polling), or fails after `ms`. */
export async function eventually<T>(check: () => Promise<T> | T, ms = 10_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
