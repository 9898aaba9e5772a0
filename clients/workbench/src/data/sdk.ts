// The one module that talks to @fieldsync/client: it creates the client over IndexedDB, feeds the
// store (rows of the entities on screen, the outbox, sync state, problems) and offers the actions
// screens take. Every action is a mutation (queued offline); `rest` (the SDK's authorised
// request) only reads: the evidence proofs, which are then kept on the phone (see proofs.ts).
import { createClient, FieldsyncHttpError, NetworkError, type FieldsyncClient, type MutationResult } from "@fieldsync/client";
import { IndexedDbStorage } from "@fieldsync/client/indexeddb";
import { useEffect, useState } from "preact/hooks";
import { clearCart } from "./cart";
import { indexes, optimistic } from "./optimistic";
import { forgetProofs, keepProof, type KeptProof, prefetchProofs, type Proof } from "./proofs";
import type { Acceptance, Entity, Organisation, User } from "./rows";
import { getRows, getSync, type Problem, setOutbox, setRows, setSync, setWantedHandler, wantedEntities } from "./store";
import { t } from "../i18n";

export interface Me {
  user: User;
  org: Organisation | undefined;
}

const DB_NAME = "fieldsync-workbench";
const MUTATIONS = "fieldsync.mutations"; // mutation id → {name, args}: which record a problem concerns
const DISMISSED = "fieldsync.dismissed";

let storage: IndexedDbStorage | null = null;
let client: FieldsyncClient<any, any> | null = null;
let me: Me | null = null;
let booted = false;
const meListeners = new Set<() => void>();

function setMe(next: Me | null): void {
  me = next;
  meListeners.forEach((fn) => fn());
}

function readJson<T>(key: string, fallback: T): T {
  try {
    return (JSON.parse(localStorage.getItem(key) ?? "null") as T) ?? fallback;
  } catch {
    return fallback;
  }
}

/** Online as the phone sees it: the browser has a network and the last call reached the server. */
function online(): boolean {
  return navigator.onLine && (client?.status.online ?? true);
}

async function reload(entity: Entity): Promise<void> {
  if (!client) return;
  const rows = await client.query(entity, {});
  setRows(entity, rows as never);
  if (entity === "organisation" || entity === "user") refreshMe();
}

function refreshMe(): void {
  const session = client?.session;
  if (!session) return;
  const user = (getRows("user").find((u) => u.id === session.user.id) ?? (session.user as unknown as User));
  const org = getRows("organisation").find((o) => o.id === user.org_id);
  if (!me || me.user !== user || me.org !== org) setMe({ user, org });
}

async function refreshOutbox(): Promise<void> {
  if (!client) return;
  const info = await client.pending();
  setOutbox(info.mutations.map((m) => ({ id: m.id, seq: m.seq, name: m.name, args: (m.args ?? {}) as Record<string, any>, createdAt: m.clientTime })));
  setSync({ pending: info.waiting + info.uploads });
}

async function refreshProblems(): Promise<void> {
  if (!client) return;
  const results: MutationResult[] = await client.results();
  const known = readJson<Record<string, { name: string; args: Record<string, any> }>>(MUTATIONS, {});
  const dismissed = new Set(readJson<string[]>(DISMISSED, []));
  const problems: Problem[] = results
    .filter((r) => (r.status === "rejected" || r.status === "conflict") && !dismissed.has(r.id))
    .map((r) => ({
      id: r.id, seq: r.seq, name: r.name, args: known[r.id]?.args ?? {}, status: r.status as Problem["status"],
      code: r.code, message: r.message, data: r.data, at: r.at,
    }));
  setSync({ problems });
  // Forget the arguments of mutations that went through: only problems need them.
  const settled = new Set(results.filter((r) => r.status === "applied" || r.status === "duplicate").map((r) => r.id));
  if ([...settled].some((id) => id in known)) {
    for (const id of settled) delete known[id];
    localStorage.setItem(MUTATIONS, JSON.stringify(known));
  }
}

function statusChanged(): void {
  if (!client) return;
  const s = client.status;
  const err = s.error && s.error.code !== "network" ? s.error.message : null;
  setSync({ online: online(), syncing: s.syncing, lastSyncedAt: s.lastSyncedAt, live: s.live, error: navigator.onLine ? err : null });
  void refreshOutbox();
}

const signedInListeners = new Set<() => void>();

/** Calls `fn` after each interactive sign-in. */
export function onSignedIn(fn: () => void): void {
  signedInListeners.add(fn);
}

/** Opens the phone's store, restores the session and starts syncing; true when signed in. */
export async function boot(): Promise<boolean> {
  storage = new IndexedDbStorage(DB_NAME);
  client = createClient({
    baseUrl: location.origin,
    storage,
    platform: "web",
    appVersion: "workbench-0.1",
    indexes,
    optimistic,
    syncIntervalMs: 30_000,
  });
  await client.ready;
  client.on("status", statusChanged);
  client.on("change", ({ entities }) => {
    const all = entities.includes("*");
    // The signed-in user and the organisations are always kept (the header names them).
    for (const e of new Set<Entity>([...wantedEntities(), "user", "organisation"])) if (all || entities.includes(e)) void reload(e);
    if (all || entities.includes("acceptance")) void keepProofs();
    void refreshOutbox();
  });
  client.on("result", () => void refreshProblems());
  setWantedHandler((e) => void reload(e));
  window.addEventListener("online", () => {
    setSync({ online: online() });
    void client?.sync().catch(() => undefined);
  });
  window.addEventListener("offline", () => setSync({ online: false }));
  if (client.session) {
    refreshMe();
    client.start();
  }
  statusChanged();
  await Promise.all([refreshOutbox(), refreshProblems(), reload("user"), reload("organisation")]);
  booted = true;
  meListeners.forEach((fn) => fn());
  return client.session !== null;
}

export function useBooted(): boolean {
  useMeSubscription();
  return booted;
}

function useMeSubscription(): void {
  const [, bump] = useState(0);
  useEffect(() => {
    const fn = () => bump((n) => n + 1);
    meListeners.add(fn);
    return () => void meListeners.delete(fn);
  }, []);
}

export function useMe(): Me | null {
  useMeSubscription();
  return me;
}

export function clientId(): string | null {
  return client?.id ?? null;
}

export async function signIn(username: string, password: string): Promise<void> {
  if (!client) throw new Error(t("loading"));
  try {
    await client.signIn(username, password);
  } catch (err) {
    const e = err as { status?: number; code?: string; message?: string };
    if (e.code === "invalid_credentials" || e.status === 401) throw new Error(t("login_failed"));
    if (!navigator.onLine || e.code === "network") throw new Error(t("login_offline"));
    throw err;
  }
  refreshMe();
  client.start();
  signedInListeners.forEach((fn) => fn());
  await Promise.all(wantedEntities().map(reload));
}

export async function signOut(): Promise<void> {
  if (!client) return;
  await client.signOut({ force: true });
  localStorage.removeItem(MUTATIONS);
  localStorage.removeItem(DISMISSED);
  forgetProofs();
  clearCart();
  setMe(null);
  setSync({ problems: [], pending: 0, lastSyncedAt: null });
}

/** Queues a mutation in the outbox (works offline); the SDK pushes it when it can. */
export async function mutate(name: string, args: Record<string, unknown>, options: { afterUpload?: string } = {}): Promise<void> {
  if (!client) throw new Error(t("loading"));
  const handle = await client.mutate(name, args, options);
  const known = readJson<Record<string, unknown>>(MUTATIONS, {});
  known[handle.id] = { name, args };
  localStorage.setItem(MUTATIONS, JSON.stringify(known));
  await refreshOutbox();
}

/** Keeps a photo for upload (its SHA-256 computed on the phone) and returns the hash. */
export async function uploadPhoto(photo: Blob): Promise<string> {
  if (!client) throw new Error(t("loading"));
  const handle = await client.uploadPhoto(photo, { filetype: photo.type || "image/jpeg" });
  await refreshOutbox();
  return handle.sha256;
}

export async function syncNow(): Promise<void> {
  await client?.sync().catch(() => undefined);
}

export async function dismissProblem(id: string): Promise<void> {
  const dismissed = readJson<string[]>(DISMISSED, []);
  if (!dismissed.includes(id)) localStorage.setItem(DISMISSED, JSON.stringify([...dismissed, id]));
  setSync({ problems: getSync().problems.filter((p) => p.id !== id) });
}

/** A plain API call through the SDK's authorised request (online only); throws in plain words. */
export async function rest<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  if (!client) throw new Error(t("loading"));
  if (!navigator.onLine) throw new Error(t("needs_network"));
  try {
    return await client.request<T>(path, { method, body });
  } catch (err) {
    if (err instanceof NetworkError) throw new Error(t("needs_network"));
    if (err instanceof FieldsyncHttpError) throw new Error(err.message || `${err.status}`);
    throw err;
  }
}

/** Fetches an acceptance's evidence proof and keeps it on the phone (for the receipt offline). */
export async function fetchProof(acceptanceId: string, version: number | null): Promise<KeptProof> {
  const proof = await rest<Proof>("GET", `/evidence/acceptance/${acceptanceId}/proof`);
  return keepProof(acceptanceId, version, proof);
}

/** After a sync: fetch the proofs of the newest synced acceptances the phone does not hold. */
async function keepProofs(): Promise<void> {
  if (!client?.session || !navigator.onLine) return;
  const rows = (await client.query("acceptance", {})) as unknown as Acceptance[];
  await prefetchProofs(rows, (a) => fetchProof(a.id, a.version ?? null));
}

const photoUrls = new Map<string, string>();

/** An object URL for a photo: from this phone's upload store, else the server's thumbnail. */
export function usePhoto(sha: string): string | null {
  const [url, setUrl] = useState<string | null>(photoUrls.get(sha) ?? null);
  useEffect(() => {
    if (url) return;
    let live = true;
    (async () => {
      const local = await storage?.getUpload(sha);
      let blob: Blob | null = local ? new Blob([local.bytes as BlobPart], { type: local.filetype }) : null;
      if (!blob && navigator.onLine) {
        const r = await fetch(`/media/photos/${sha}/thumb`, { headers: { Authorization: `Bearer ${await client!.accessToken()}` } });
        if (r.ok) blob = await r.blob();
      }
      if (blob && live) {
        const u = URL.createObjectURL(blob);
        photoUrls.set(sha, u);
        setUrl(u);
      }
    })().catch(() => undefined);
    return () => {
      live = false;
    };
  }, [sha]);
  return url;
}
