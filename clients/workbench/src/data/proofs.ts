// The evidence proofs of acceptances, kept on the phone so a receipt shows its proof offline.
//
// A proof is fetched once the acceptance has reached the server (the receipt asks for it, and
// after each sync the phone fetches those of its newest acceptances it does not hold), then kept
// in localStorage with the acceptance's version: a later version (photos attached afterwards,
// logged as supplements) fetches it again. An inclusion proof in a signed tree head stays valid
// as the log grows, so the kept one is still evidence when there is no network.
import type { Acceptance } from "./rows";

export interface ProofEntry { index?: number; leaf_hash?: string; kind?: string; photo_hashes?: string[] }
export interface Proof { entries?: ProofEntry[]; tree_head?: { tree_size: number; root_hash?: string; timestamp_ms?: number } }
export interface KeptProof { version: number | null; fetchedAt: string; proof: Proof }

const KEY = "fieldsync.proofs";
const KEEP = 50; // the newest ones: older receipts fetch theirs again when online
const PREFETCH = 10; // per sync round

function load(): Record<string, KeptProof> {
  try {
    return (JSON.parse(localStorage.getItem(KEY) ?? "null") as Record<string, KeptProof> | null) ?? {};
  } catch {
    return {};
  }
}

export function keptProof(acceptanceId: string): KeptProof | null {
  return load()[acceptanceId] ?? null;
}

export function keepProof(acceptanceId: string, version: number | null, proof: Proof): KeptProof {
  const all = load();
  const kept = { version, fetchedAt: new Date().toISOString(), proof };
  all[acceptanceId] = kept;
  const newest = Object.entries(all).sort((a, b) => b[1].fetchedAt.localeCompare(a[1].fetchedAt)).slice(0, KEEP);
  localStorage.setItem(KEY, JSON.stringify(Object.fromEntries(newest)));
  return kept;
}

export function forgetProofs(): void {
  localStorage.removeItem(KEY);
}

/** Whether the phone should (re)fetch this acceptance's proof: synced, and none kept for its version. */
export function wantsProof(a: Acceptance): boolean {
  if (a.pending) return false;
  const kept = keptProof(a.id);
  return kept === null || (a.version ?? null) !== kept.version;
}

let running = false;
const failed = new Set<string>(); // refused this session (not ours to see, not logged): not asked again

/** Fetches the missing proofs of the newest synced acceptances, one after another. */
export async function prefetchProofs(acceptances: Acceptance[], fetchProof: (a: Acceptance) => Promise<unknown>): Promise<void> {
  if (running || !navigator.onLine) return;
  running = true;
  try {
    const todo = acceptances
      .filter((a) => wantsProof(a) && !failed.has(a.id))
      .sort((a, b) => (b.accepted_at ?? "").localeCompare(a.accepted_at ?? ""))
      .slice(0, PREFETCH);
    for (const a of todo) {
      if (!navigator.onLine) break;
      await fetchProof(a).catch(() => {
        if (navigator.onLine) failed.add(a.id);
      });
    }
  } finally {
    running = false;
  }
}
