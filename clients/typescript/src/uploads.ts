/**
 * Photos: kept in storage with their SHA-256 (computed on the device), sent over tus with
 * tus-js-client. The upload URL is stored as soon as the server creates it, so an upload
 * resumes (HEAD, then PATCH from the server's offset) after an app restart, by a new client on
 * the same storage. A mutation queued with `afterUpload` is pushed only once the upload is done.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import * as tus from "tus-js-client";
import type { StorageAdapter, UploadRecord } from "./storage/adapter.js";

/** Refusals after which sending the same bytes again cannot help. */
const FINAL = new Set([413, 415, 422]);

export function sha256Hex(bytes: Uint8Array): string {
  return Array.from(sha256(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

export interface UploadContext {
  storage: StorageAdapter;
  endpoint: string;
  token: () => Promise<string>;
  chunkSize: number;
  /** Test hook: called after each chunk the server acknowledged; return true to stop there. */
  onChunk?: (sha256: string, offset: number, total: number) => boolean;
}

/** Thrown when an upload could not finish now (offline, server error); the next sync resumes. */
export class UploadInterrupted extends Error {
  constructor(readonly sha256: string, message: string) {
    super(message);
    this.name = "UploadInterrupted";
  }
}

function source(bytes: Uint8Array): Blob | Uint8Array {
  const B = (globalThis as { Buffer?: { from(b: Uint8Array): Uint8Array } }).Buffer;
  return B !== undefined ? B.from(bytes) : new Blob([bytes as BlobPart]);
}

/** Sends one photo; resolves when it is done or refused for good, rejects when interrupted. */
export async function uploadOne(ctx: UploadContext, record: UploadRecord): Promise<"done" | "refused" | "stopped"> {
  const token = await ctx.token();
  return new Promise((resolve, reject) => {
    let stopped = false;
    const upload: tus.Upload = new tus.Upload(source(record.bytes) as never, {
      endpoint: ctx.endpoint,
      uploadUrl: record.url ?? undefined,
      chunkSize: ctx.chunkSize,
      retryDelays: [],
      storeFingerprintForResuming: false,
      metadata: { filetype: record.filetype },
      headers: { Authorization: `Bearer ${token}` },
      onUploadUrlAvailable: () => {
        void ctx.storage.updateUpload(record.sha256, { url: upload.url });
      },
      onChunkComplete: (_size, accepted, total) => {
        if (ctx.onChunk?.(record.sha256, accepted, total) && accepted < total) {
          stopped = true;
          void upload.abort().then(() => resolve("stopped"));
        }
      },
      onSuccess: () => {
        void ctx.storage.updateUpload(record.sha256, { state: "done", url: upload.url }).then(() => resolve("done"));
      },
      onError: (error) => {
        if (stopped) return;
        const status = (error as tus.DetailedError).originalResponse?.getStatus() ?? 0;
        const body = (error as tus.DetailedError).originalResponse?.getBody() ?? "";
        if (FINAL.has(status)) {
          let code = `http_${status}`;
          try {
            code = (JSON.parse(body) as { code?: string }).code ?? code;
          } catch {
            // keep the status
          }
          void ctx.storage.updateUpload(record.sha256, { state: "refused", code }).then(() => resolve("refused"));
          return;
        }
        if (status === 404 || status === 410) {
          // expired or gone on the server: the next attempt starts a new upload
          void ctx.storage.updateUpload(record.sha256, { url: null });
        }
        reject(new UploadInterrupted(record.sha256, `upload of ${record.sha256.slice(0, 12)} interrupted: ${error.message}`));
      },
    });
    upload.start();
  });
}

/** Uploads every pending photo in order; returns the SHA-256s finished now. */
export async function uploadPending(ctx: UploadContext): Promise<string[]> {
  const finished: string[] = [];
  for (const record of await ctx.storage.uploads()) {
    if (record.state !== "pending") continue;
    const outcome = await uploadOne(ctx, record);
    if (outcome === "done") finished.push(record.sha256);
    if (outcome === "stopped") break;
  }
  return finished;
}
