/** Errors the SDK raises. Every one carries a stable `code`, like the server's. */

/** The server answered with an error (`{code, message, details}`). */
export class FieldsyncHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    /** From `Retry-After` (or `details.retry_after_s`), when the server gave one. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(`${status} ${code}: ${message}`);
    this.name = "FieldsyncHttpError";
  }
}

/** The server could not be reached (offline, connection dropped, DNS, timeout). */
export class NetworkError extends Error {
  readonly code = "network";
  constructor(message: string, readonly cause?: unknown) {
    super(message);
    this.name = "NetworkError";
  }
}

/**
 * The session is gone: no sign-in, or the refresh token was refused (device revoked, user
 * disabled, session expired). Sync stops until `signIn()`; local work stays queued.
 */
export class AuthError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = "AuthError";
  }
}

/** `signOut()` without `{ force: true }` while mutations or photos are still unsent. */
export class UnsentWorkError extends Error {
  readonly code = "unsent_work";
  constructor(readonly mutations: number, readonly uploads: number) {
    super(
      `${mutations} change(s) and ${uploads} photo(s) are not sent yet; sync first, or call signOut({ force: true }) to discard them`,
    );
    this.name = "UnsentWorkError";
  }
}

/** The server no longer accepts this protocol version (426): the app must be updated. */
export class UpgradeRequiredError extends Error {
  readonly code = "upgrade_required";
  constructor(readonly minProtocol: number | null) {
    super(`the server needs sync protocol ${minProtocol ?? "newer"}: update the app`);
    this.name = "UpgradeRequiredError";
  }
}
