/**
 * `createClient({ baseUrl, storage })`: the object an app holds. It composes the layers — auth,
 * the outbox push, the pull into the replica, the optimistic view, the live socket, photo
 * uploads — and runs the background loop (`start()` / `stop()`) with backoff and jitter.
 * No global state: two clients on two storages are two independent phones.
 */
import { Auth } from "./auth.js";
import { AuthError, FieldsyncHttpError, NetworkError, UnsentWorkError, UpgradeRequiredError } from "./errors.js";
import type { Entities, Mutations } from "./generated/schema.js";
import { Http } from "./http.js";
import { LiveConnection } from "./live.js";
import { builtinOptimistic } from "./optimistic.js";
import type { StorageAdapter } from "./storage/adapter.js";
import { pullAll } from "./sync/pull.js";
import { pushOnce } from "./sync/push.js";
import type {
  ClientEvents,
  ClientOptions,
  EntityMap,
  Filter,
  LiveEvent,
  MutationHandle,
  MutationMap,
  MutationResult,
  PendingInfo,
  PhotoHandle,
  PhotoOptions,
  RequestOptions,
  Session,
  SyncReport,
  SyncStatus,
  UploadInfo,
  User,
} from "./types.js";
import { sha256Hex, UploadInterrupted, uploadPending } from "./uploads.js";
import { hexId, uuidv7 } from "./uuid.js";
import { ReplicaView } from "./view.js";

type Listener<T> = (value: T) => void;

/** Exponential backoff with "equal jitter": half the step fixed, half random. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return step / 2 + Math.random() * (step / 2);
}

export class FieldsyncClient<M extends object = Mutations, E extends object = Entities> {
  /** Resolves once the storage is open and the session loaded (every method awaits it). */
  readonly ready: Promise<void>;
  /** Chat: messages and read markers go through the outbox (they work offline). */
  readonly chat: ChatApi;

  private readonly storage: StorageAdapter;
  private readonly http: Http;
  private readonly auth: Auth;
  private readonly view: ReplicaView;
  private readonly listeners = new Map<keyof ClientEvents, Set<Listener<any>>>();
  private clientId = "";
  private live: LiveConnection | null = null;
  private running = false;
  private loopTimer: ReturnType<typeof setTimeout> | null = null;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  private inFlight: Promise<SyncReport> | null = null;
  private followUp: Promise<SyncReport> | null = null;
  private readonly pushBatch: number;
  private state: SyncStatus = {
    online: true,
    signedIn: false,
    syncing: false,
    waiting: 0,
    uploading: 0,
    lastSyncedAt: null,
    live: false,
    error: null,
  };
  /** Test hook for cutting uploads part-way (see tests/uploads.test.ts). */
  uploadChunkHook: ((sha256: string, offset: number, total: number) => boolean) | undefined;

  constructor(private readonly options: ClientOptions) {
    this.storage = options.storage;
    const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.http = new Http(options.baseUrl, fetchFn);
    this.auth = new Auth(this.http, this.storage, options.refreshMarginS ?? 60, () => this.sessionChanged());
    this.view = new ReplicaView(
      this.storage,
      options.indexes ?? {},
      { ...builtinOptimistic, ...(options.optimistic ?? {}) },
      () => this.auth.current?.user ?? null,
    );
    this.pushBatch = options.pushBatch ?? 100;
    this.chat = new ChatApi(this as unknown as FieldsyncClient);
    this.ready = this.init();
    this.ready.catch(() => undefined);
  }

  private async init(): Promise<void> {
    await this.storage.open();
    await this.auth.load();
    let id = this.options.clientId ?? ((await this.storage.getMeta("client_id")) as string | undefined);
    if (id === undefined) id = `${this.options.platform ?? "web"}-${uuidv7()}`;
    if ((await this.storage.getMeta("client_id")) !== id) await this.storage.setMeta({ client_id: id });
    this.clientId = id;
    this.state.lastSyncedAt = ((await this.storage.getMeta("last_synced_at")) as number | undefined) ?? null;
    await this.updateCounts();
  }

  // --- events and status -------------------------------------------------------------------

  /** Subscribe to an event; returns the unsubscribe function. */
  on<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => set!.delete(listener);
  }

  private emit<K extends keyof ClientEvents>(event: K, value: ClientEvents[K]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        listener(value);
      } catch (error) {
        if (event !== "error") this.emit("error", error as Error);
      }
    }
  }

  /** The current status (also emitted as `status` on every change). */
  get status(): SyncStatus {
    return { ...this.state, error: this.state.error && { ...this.state.error } };
  }

  private setStatus(patch: Partial<SyncStatus>): void {
    const next = { ...this.state, ...patch };
    if (JSON.stringify(next) === JSON.stringify(this.state)) return;
    this.state = next;
    this.emit("status", this.status);
  }

  private sessionChanged(): void {
    this.setStatus({ signedIn: this.auth.signedIn });
    this.scheduleRefresh();
  }

  private async updateCounts(): Promise<void> {
    const outbox = await this.storage.outbox();
    const uploads = await this.storage.uploads();
    this.setStatus({
      waiting: outbox.filter((e) => e.state === "pending").length,
      uploading: uploads.filter((u) => u.state === "pending").length,
      signedIn: this.auth.signedIn,
    });
  }

  // --- auth ------------------------------------------------------------------------------

  /** The signed-in user, device and token expiry, or null. */
  get session(): Session | null {
    return this.auth.current;
  }

  /** The outbox's client id (sent with every push). */
  get id(): string {
    return this.clientId;
  }

  /**
   * A valid access token for a call of the app's own (say, an `<img>` fetched with
   * `Authorization: Bearer …`): refreshed first when due; offline, the token held. Throws
   * AuthError when signed out. Prefer `request()`, which also retries once after a 401.
   */
  async accessToken(): Promise<string> {
    await this.ready;
    return this.auth.token();
  }

  /**
   * An authorised call to the server's REST API (`path` relative to `baseUrl`, a leading `/`
   * allowed): the bearer token attached, one refresh and one retry after a 401. Resolves with the
   * decoded JSON body (null when empty); throws FieldsyncHttpError with the server's `code` and
   * `message`, NetworkError when the server cannot be reached, AuthError when signed out. Not
   * queued: for work that must survive being offline, use `mutate()`.
   */
  async request<T = unknown>(path: string, options: RequestOptions = {}): Promise<T> {
    await this.ready;
    const relative = path.replace(/^\/+/, "");
    const reply = await this.auth.authorized((token) =>
      this.http.call(relative, { method: options.method, body: options.body, query: options.query, timeoutMs: options.timeoutMs, token }),
    );
    return (reply.text === "" ? null : JSON.parse(reply.text)) as T;
  }

  /** Signs in (`POST /auth/login`), binding the session to this client id. */
  async signIn(username: string, password: string): Promise<User> {
    await this.ready;
    const user = await this.auth.signIn({
      username,
      password,
      client_id: this.clientId,
      platform: this.options.platform ?? "web",
      app_version: this.options.appVersion ?? "",
    });
    this.failures = 0;
    this.setStatus({ error: null });
    if (this.running) {
      this.live?.start();
      this.requestSync();
    }
    return user;
  }

  /**
   * Signs out and purges the replica, the outbox, the results and the photos. With unsent work
   * it refuses (UnsentWorkError, which says how much) unless `{ force: true }`.
   */
  async signOut(options: { force?: boolean } = {}): Promise<void> {
    await this.ready;
    const info = await this.pending();
    if ((info.waiting > 0 || info.uploads > 0) && !options.force) throw new UnsentWorkError(info.waiting, info.uploads);
    this.stop();
    const session = this.auth.current;
    if (session !== null && this.auth.signedIn) {
      try {
        await this.auth.authorized((token) => this.http.call("auth/logout", { method: "POST", token, body: {} }));
      } catch {
        // offline or already revoked: the local purge is what matters here
      }
    }
    await this.storage.purgeAll();
    await this.storage.setMeta({ client_id: `${this.options.platform ?? "web"}-${uuidv7()}` });
    this.clientId = (await this.storage.getMeta("client_id")) as string;
    await this.auth.forget();
    this.auth.ended = null;
    this.view.invalidate();
    await this.updateCounts();
    this.setStatus({ lastSyncedAt: null, error: null });
    this.emit("change", { entities: ["*"] });
  }

  // --- mutations ----------------------------------------------------------------------------

  /**
   * Queues a mutation: mints its UUIDv7 id and the next gapless seq and stores it before
   * resolving (it survives a restart); its optimistic effect shows at once. Works offline.
   */
  async mutate<N extends keyof M & string>(name: N, args: M[N], options: { afterUpload?: string } = {}): Promise<MutationHandle> {
    await this.ready;
    const entry = await this.storage.appendMutation({
      id: uuidv7(),
      name,
      args,
      clientTime: new Date().toISOString(),
      afterUpload: options.afterUpload ?? null,
    });
    this.view.invalidate();
    await this.updateCounts();
    this.emit("change", { entities: ["*"] });
    if (this.running) this.requestSync(0);
    return { id: entry.id, seq: entry.seq };
  }

  /** The server's result for a mutation, once acknowledged. */
  async result(id: string): Promise<MutationResult | undefined> {
    await this.ready;
    return (await this.storage.result(id)) as MutationResult | undefined;
  }

  /** Every stored result, in seq order (a rejected order says why: `code`, `message`). */
  async results(): Promise<MutationResult[]> {
    await this.ready;
    return (await this.storage.results()) as MutationResult[];
  }

  /** What is waiting to be sent: mutations not acknowledged and photos not uploaded. */
  async pending(): Promise<PendingInfo> {
    await this.ready;
    const mutations = (await this.storage.outbox())
      .filter((e) => e.state === "pending")
      .map(({ id, seq, name, args, clientTime, afterUpload }) => ({ id, seq, name, args, clientTime, afterUpload }));
    const uploads = (await this.storage.uploads()).filter((u) => u.state === "pending").length;
    return { waiting: mutations.length, mutations, uploads };
  }

  // --- sync ---------------------------------------------------------------------------------

  /**
   * One round: upload photos, push the outbox, pull until up to date (repairing any scope whose
   * checksum disagrees). Concurrent calls share one round, plus one more after it.
   */
  sync(): Promise<SyncReport> {
    if (this.inFlight === null) {
      this.inFlight = this.runSync().finally(() => {
        this.inFlight = null;
      });
      return this.inFlight;
    }
    if (this.followUp === null) {
      this.followUp = this.inFlight
        .catch(() => undefined)
        .then(() => {
          this.followUp = null;
          return this.sync();
        });
    }
    return this.followUp;
  }

  private async runSync(): Promise<SyncReport> {
    await this.ready;
    const report: SyncReport = { pushed: 0, results: [], pulled: 0, pages: 0, repaired: [], revoked: [], resyncRequired: [], uploaded: [], interrupted: [] };
    this.setStatus({ syncing: true });
    const authorized = <T>(call: (token: string) => Promise<T>) => this.auth.authorized(call);
    try {
      await this.auth.token();
      try {
        report.uploaded = await uploadPending({
          storage: this.storage,
          endpoint: this.http.url("media/uploads/"),
          token: () => this.auth.token(),
          chunkSize: this.options.uploadChunkSize ?? 1024 * 1024,
          onChunk: this.uploadChunkHook,
        });
      } catch (error) {
        if (!(error instanceof UploadInterrupted)) throw error;
        report.interrupted.push(error.sha256); // resumed by the next sync; the rest goes on
        this.emit("error", error);
      }
      if (report.uploaded.length > 0) await this.updateCounts();
      let batch = this.pushBatch;
      let renumbered = 0;
      for (let round = 0; round < 100_000; round++) {
        const pushed = await pushOnce({ http: this.http, storage: this.storage, clientId: this.clientId, authorized }, batch);
        batch = pushed.batch;
        this.absorb(report, pushed.results, pushed.sent);
        if (pushed.renumbered) renumbered += 1;
        if (pushed.sent === 0 && !pushed.again) break;
        if (renumbered > 3) throw new Error("the server keeps reporting a seq gap after renumbering the outbox");
      }
      const pulled = await pullAll({
        http: this.http,
        storage: this.storage,
        clientId: this.clientId,
        limit: this.options.pullLimit ?? 500,
        authorized,
        keysFor: (entity, data) => this.view.keysFor(entity, data),
        onPage: async (entities, lastApplied) => {
          if (lastApplied !== null) await this.storage.dropAcked(lastApplied);
          this.view.invalidate();
          if (entities.size > 0 || lastApplied !== null) this.emit("change", { entities: lastApplied !== null ? ["*"] : [...entities] });
        },
      });
      Object.assign(report, { pulled: pulled.pulled, pages: pulled.pages, repaired: pulled.repaired, revoked: pulled.revoked, resyncRequired: pulled.resyncRequired });
      const now = Date.now();
      await this.storage.setMeta({ last_synced_at: now });
      this.failures = 0;
      this.setStatus({ online: true, lastSyncedAt: now, error: null });
      return report;
    } catch (error) {
      const e = error as Error & { code?: string };
      this.setStatus({
        online: !(error instanceof NetworkError),
        error: { code: e.code ?? "error", message: e.message },
      });
      if (!(error instanceof NetworkError)) this.setStatus({ online: true });
      this.emit("error", e);
      throw error;
    } finally {
      await this.updateCounts();
      this.setStatus({ syncing: false });
    }
  }

  private absorb(report: SyncReport, results: MutationResult[], sent: number): void {
    report.pushed += sent;
    for (const r of results) {
      report.results.push(r);
      this.emit("result", r);
    }
    if (results.length > 0) {
      this.view.invalidate();
      this.emit("change", { entities: ["*"] });
    }
  }

  /** Starts the background loop: live hints, periodic sync, backoff after failures. */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.ready.then(() => {
      if (!this.running) return;
      const WS = this.options.WebSocket === undefined ? (globalThis as { WebSocket?: unknown }).WebSocket : this.options.WebSocket;
      if (WS && this.live === null) {
        this.live = new LiveConnection({
          url: (token) => this.http.url("ws", { access_token: token }).replace(/^http/, "ws"),
          WebSocket: WS as never,
          token: () => this.auth.token(),
          refresh: () => this.auth.refresh(),
          onPull: () => this.requestSync(0),
          onEvent: (event: LiveEvent) => {
            if (event.type === "error" && event.code === "device_revoked") void this.auth.refresh().catch(() => undefined);
            // A chat event (a message, a read marker, a member) comes instead of a pull hint for
            // its conversation: the replica catches up through a pull, its one path.
            if (typeof event.conversation_id === "string" && event.type !== "typing") this.requestSync(0);
            this.emit("live", event);
          },
          onState: (connected) => this.setStatus({ live: connected }),
          backoff: (attempt) => backoffDelay(attempt, this.options.backoff?.baseMs ?? 500, this.options.backoff?.maxMs ?? 30_000),
        });
      }
      if (this.auth.signedIn) this.live?.start();
      this.scheduleRefresh();
      this.requestSync(0);
    });
  }

  /** Stops the loop and the socket (queued work stays queued). */
  stop(): void {
    this.running = false;
    if (this.loopTimer !== null) clearTimeout(this.loopTimer);
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.loopTimer = null;
    this.refreshTimer = null;
    this.live?.stop();
  }

  /** Asks the loop for a sync after `delayMs` (coalesced with any already scheduled sooner). */
  private requestSync(delayMs = 0): void {
    if (!this.running) return;
    if (this.loopTimer !== null) clearTimeout(this.loopTimer);
    this.loopTimer = setTimeout(() => {
      this.loopTimer = null;
      void this.loopOnce();
    }, delayMs);
  }

  private async loopOnce(): Promise<void> {
    if (!this.running || !this.auth.signedIn) return;
    try {
      const report = await this.sync();
      if (report.interrupted.length > 0) throw new NetworkError(`photo upload interrupted (${report.interrupted.length})`);
      if (this.running && this.loopTimer === null) this.requestSync(this.options.syncIntervalMs ?? 30_000);
    } catch (error) {
      if (error instanceof AuthError || error instanceof UpgradeRequiredError) {
        this.live?.stop();
        return; // no loop: the app must sign in again (or update)
      }
      this.failures += 1;
      const hinted = error instanceof FieldsyncHttpError ? error.retryAfterMs : null;
      const delay = hinted ?? backoffDelay(this.failures, this.options.backoff?.baseMs ?? 500, this.options.backoff?.maxMs ?? 60_000);
      if (this.running) this.requestSync(delay);
    }
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    const at = this.auth.refreshAt();
    if (!this.running || at === null || !this.auth.signedIn) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      this.auth.refresh().catch((error: Error) => {
        if (error instanceof NetworkError) {
          this.refreshTimer = setTimeout(() => this.scheduleRefresh(), 5_000);
        } else {
          this.emit("error", error);
        }
      });
    }, Math.max(0, at - Date.now()));
  }

  // --- queries ---------------------------------------------------------------------------

  /** Rows of `entity` matching `filter` (equality; an array means any of), with optimistic effects. */
  async query<K extends keyof E & string>(entity: K, filter: Filter<E[K]> = {}): Promise<E[K][]> {
    await this.ready;
    return (await this.view.query(entity, filter as Record<string, unknown>)) as E[K][];
  }

  /**
   * Calls `callback` with the matching rows now and whenever a pull or a local mutation changes
   * them. Returns the unsubscribe function.
   */
  watch<K extends keyof E & string>(entity: K, filter: Filter<E[K]>, callback: (rows: E[K][]) => void): () => void {
    let last: string | null = null;
    let active = true;
    let queued = false;
    let running = false;
    const run = async () => {
      if (running) {
        queued = true;
        return;
      }
      running = true;
      try {
        do {
          queued = false;
          const rows = await this.query(entity, filter);
          const text = JSON.stringify(rows);
          if (active && text !== last) {
            last = text;
            callback(rows);
          }
        } while (queued && active);
      } catch (error) {
        this.emit("error", error as Error);
      } finally {
        running = false;
      }
    };
    const off = this.on("change", ({ entities }) => {
      if (entities.includes("*") || entities.includes(entity)) void run();
    });
    void run();
    return () => {
      active = false;
      off();
    };
  }

  // --- photos ---------------------------------------------------------------------------

  /**
   * Keeps a photo for upload (SHA-256 computed here) and, with `attach`, queues `media.attach`
   * to be pushed once the upload has finished. Works offline; the loop (or `sync()`) uploads.
   */
  async uploadPhoto(photo: Uint8Array | Blob, options: PhotoOptions = {}): Promise<PhotoHandle> {
    await this.ready;
    const bytes = photo instanceof Uint8Array ? photo : new Uint8Array(await photo.arrayBuffer());
    const sha256 = sha256Hex(bytes);
    await this.storage.putUpload({
      sha256,
      bytes,
      filetype: options.filetype ?? ((photo as Blob).type || "image/jpeg"),
      url: null,
      state: "pending",
      code: null,
      createdAt: new Date().toISOString(),
    });
    let attach: MutationHandle | null = null;
    if (options.attach !== undefined) {
      attach = await this.mutate(
        "media.attach" as keyof M & string,
        { sha256, record_type: options.attach.recordType, record_id: options.attach.recordId, kind: options.attach.kind ?? "photo" } as M[keyof M & string],
        { afterUpload: sha256 },
      );
    } else {
      await this.updateCounts();
      if (this.running) this.requestSync(0);
    }
    return { sha256, attach };
  }

  /** Every photo kept for upload, with its state. */
  async uploads(): Promise<UploadInfo[]> {
    await this.ready;
    return (await this.storage.uploads()).map((u) => ({
      sha256: u.sha256,
      filetype: u.filetype,
      size: u.bytes.byteLength,
      state: u.state,
      code: u.code,
      url: u.url,
    }));
  }

  /** Sends a live event over the socket (`typing`…); false when not connected. */
  sendLive(event: Record<string, unknown>): boolean {
    return this.live?.send(event) ?? false;
  }

  /** Stops the loop and closes the storage. */
  async close(): Promise<void> {
    this.stop();
    await this.ready.catch(() => undefined);
    await this.inFlight?.catch(() => undefined);
    await this.storage.close();
  }
}

/** Chat calls: sends and read markers are mutations (queued offline, exactly once). */
export class ChatApi {
  constructor(private readonly client: FieldsyncClient) {}

  /** Queues a message; its row shows at once (optimistic), then as the server stored it. */
  send(conversationId: string, body: string, options: { attachments?: string[] } = {}): Promise<MutationHandle & { clientMessageId: string }> {
    const clientMessageId = hexId();
    return this.client
      .mutate("message.send", { conversation_id: conversationId, client_message_id: clientMessageId, body, attachments: options.attachments ?? [] })
      .then((handle) => ({ ...handle, clientMessageId }));
  }

  /** Moves my read marker up to `upToSeq`. */
  markRead(conversationId: string, upToSeq: number): Promise<MutationHandle> {
    return this.client.mutate("message.read", { conversation_id: conversationId, up_to_seq: upToSeq });
  }

  /** Tells the other members I am typing (live only; false when not connected). */
  typing(conversationId: string): boolean {
    return this.client.sendLive({ type: "typing", conversation_id: conversationId });
  }

  /** The conversation's messages, oldest first (unsent ones last). */
  async messages(conversationId: string): Promise<Record<string, unknown>[]> {
    const rows = (await this.client.query("message", { conversation_id: conversationId })) as Record<string, unknown>[];
    const seqOf = (r: Record<string, unknown>) => (typeof r.seq === "number" ? r.seq : Number.MAX_SAFE_INTEGER);
    return rows.sort((a, b) => seqOf(a) - seqOf(b));
  }

  /** Conversations I am in. */
  conversations(): Promise<Record<string, unknown>[]> {
    return this.client.query("conversation", {}) as Promise<Record<string, unknown>[]>;
  }
}

/** Creates a client. Nothing touches the network until `signIn`, `sync` or `start`. */
export function createClient<M extends object = Mutations, E extends object = Entities>(
  options: ClientOptions,
): FieldsyncClient<M, E> {
  return new FieldsyncClient<M, E>(options);
}
