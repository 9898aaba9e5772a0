/**
 * The session: sign-in, an access token refreshed before it expires, one refresh after a 401.
 *
 * Tokens are kept in storage (`meta.session`), so a restarted app stays signed in. Refresh
 * tokens rotate and a used one revokes the device, so refreshes are single-flight and the new
 * pair is stored before it is used. A refused refresh ends the session (AuthError) — never a
 * loop; a refresh that cannot reach the server keeps the old token (offline work goes on).
 */
import { AuthError, FieldsyncHttpError, NetworkError } from "./errors.js";
import type { Http } from "./http.js";
import type { StorageAdapter } from "./storage/adapter.js";
import type { Session, User } from "./types.js";

interface StoredSession {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
  /** Lifetime of the access token when issued (ms). */
  ttlMs: number;
  deviceId: string;
  user: User;
}

interface TokensOut {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  device_id: string;
  user: User;
}

export class Auth {
  private session: StoredSession | null = null;
  private refreshing: Promise<void> | null = null;
  /** Why the session ended (set when a refresh was refused), cleared by signIn. */
  ended: AuthError | null = null;

  constructor(
    private readonly http: Http,
    private readonly storage: StorageAdapter,
    private readonly marginS: number,
    private readonly onChange: () => void,
  ) {}

  async load(): Promise<void> {
    this.session = ((await this.storage.getMeta("session")) as StoredSession | undefined) ?? null;
  }

  get current(): Session | null {
    const s = this.session;
    return s === null ? null : { user: s.user, deviceId: s.deviceId, expiresAt: s.expiresAt };
  }

  get signedIn(): boolean {
    return this.session !== null && this.ended === null;
  }

  private async store(tokens: TokensOut): Promise<void> {
    const session: StoredSession = {
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      expiresAt: Date.now() + tokens.expires_in * 1000,
      ttlMs: tokens.expires_in * 1000,
      deviceId: tokens.device_id,
      user: tokens.user,
    };
    await this.storage.setMeta({ session });
    this.session = session;
    this.onChange();
  }

  async signIn(body: Record<string, unknown>): Promise<User> {
    const reply = await this.http.call("auth/login", { body });
    await this.store(JSON.parse(reply.text) as TokensOut);
    this.ended = null;
    this.onChange();
    return this.session!.user;
  }

  /** Forgets the session locally (the server is told by the caller, best effort). */
  async forget(): Promise<void> {
    this.session = null;
    await this.storage.setMeta({ session: null });
    this.onChange();
  }

  /** When to refresh: `marginS` before expiry, but at most a third of the token's life. */
  refreshAt(): number | null {
    const s = this.session;
    if (s === null) return null;
    return s.expiresAt - Math.min(this.marginS * 1000, s.ttlMs / 3);
  }

  /** A token to send now: refreshed first when it is due; throws AuthError without a session. */
  async token(): Promise<string> {
    const s = this.session;
    if (this.ended !== null) throw this.ended;
    if (s === null) throw new AuthError("signed_out", "not signed in: call signIn() first");
    if (Date.now() >= (this.refreshAt() ?? 0)) {
      try {
        await this.refresh();
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
        // offline: go on with the token we have (the server decides whether it is still good)
      }
    }
    return this.session!.accessToken;
  }

  /** Refresh now (single-flight). A refused refresh ends the session with AuthError. */
  refresh(): Promise<void> {
    if (this.refreshing === null) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    const s = this.session;
    if (s === null) throw new AuthError("signed_out", "not signed in");
    try {
      const reply = await this.http.call("auth/refresh", { body: { refresh_token: s.refreshToken } });
      await this.store(JSON.parse(reply.text) as TokensOut);
    } catch (error) {
      if (error instanceof FieldsyncHttpError && (error.status === 401 || error.status === 403)) {
        this.ended = new AuthError(error.code, `signed out by the server (${error.code}): sign in again`);
        this.onChange();
        throw this.ended;
      }
      throw error;
    }
  }

  /**
   * Runs `call(token)`; after a 401 refreshes once and runs it once more. A second 401 ends the
   * session (AuthError) instead of looping.
   */
  async authorized<T>(call: (token: string) => Promise<T>): Promise<T> {
    const token = await this.token();
    try {
      return await call(token);
    } catch (error) {
      if (!(error instanceof FieldsyncHttpError) || error.status !== 401) throw error;
    }
    await this.refresh();
    try {
      return await call(this.session!.accessToken);
    } catch (error) {
      if (error instanceof FieldsyncHttpError && error.status === 401) {
        this.ended = new AuthError(error.code, `the server refused a fresh token (${error.code}): sign in again`);
        this.onChange();
        throw this.ended;
      }
      throw error;
    }
  }
}
