/** One HTTP call to the server with fetch: error bodies decoded, network failures typed. */
import { FieldsyncHttpError, NetworkError } from "./errors.js";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface HttpReply {
  status: number;
  headers: Headers;
  text: string;
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  token?: string | null;
  query?: Record<string, string | number | undefined>;
  timeoutMs?: number;
}

/** Milliseconds from a `Retry-After` header (seconds or an HTTP date), else null. */
export function retryAfterMs(value: string | null): number | null {
  if (value === null || value === "") return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

export class Http {
  constructor(
    readonly baseUrl: string,
    private readonly fetchFn: FetchLike,
    private readonly defaultTimeoutMs = 30_000,
  ) {}

  url(path: string, query?: Record<string, string | number | undefined>): string {
    const url = new URL(path, this.baseUrl.endsWith("/") ? this.baseUrl : `${this.baseUrl}/`);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url.toString();
  }

  /** Sends one request; returns a 2xx reply, throws FieldsyncHttpError or NetworkError. */
  async call(path: string, options: CallOptions = {}): Promise<HttpReply> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (options.token) headers.Authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? this.defaultTimeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await this.fetchFn(this.url(path, options.query), {
        method: options.method ?? (body === undefined ? "GET" : "POST"),
        headers,
        body,
        signal: controller.signal,
      });
      text = await response.text();
    } catch (error) {
      throw new NetworkError(`cannot reach ${this.baseUrl}: ${(error as Error).message ?? error}`, error);
    } finally {
      clearTimeout(timer);
    }
    if (response.status >= 200 && response.status < 300) return { status: response.status, headers: response.headers, text };
    let code = `http_${response.status}`;
    let message = text.slice(0, 200) || response.statusText;
    let details: unknown = null;
    try {
      const parsed = JSON.parse(text) as { code?: string; message?: string; details?: unknown };
      code = parsed.code ?? code;
      message = parsed.message ?? message;
      details = parsed.details ?? null;
    } catch {
      // not JSON (a proxy's page): keep the status code
    }
    let wait = retryAfterMs(response.headers.get("Retry-After"));
    const hinted = (details as { retry_after_s?: number } | null)?.retry_after_s;
    if (wait === null && typeof hinted === "number") wait = hinted * 1000;
    throw new FieldsyncHttpError(response.status, code, message, details, wait);
  }
}
