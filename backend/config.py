"""Settings read from ``FIELDSYNC_*`` environment variables into one typed structure.

Every variable is documented in the README. A bad value stops start-up with a message that
names the variable and says what it expects.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import msgspec


class ConfigError(Exception):
    """A setting could not be read; the message names the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    env: str = "development"
    database_url: str = ""
    var_dir: str = "./var"
    media_url: str = ""
    redis_url: str = ""
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 30 * 24 * 3600
    login_max_failures: int = 5
    login_lockout_s: int = 300
    max_body_bytes: int = 2 * 1024 * 1024
    max_import_bytes: int = 10 * 1024 * 1024
    sync_max_batch: int = 500
    sync_min_protocol: int = 1
    sync_compaction_horizon_s: int = 30 * 24 * 3600
    sync_result_retention_s: int = 30 * 24 * 3600
    upload_max_bytes: int = 30 * 1024 * 1024
    image_max_pixels: int = 50_000_000
    message_max_chars: int = 4000
    requests_per_minute: int = 600
    support_first_response_s: int = 3600
    # the support desk's SLA clock stopped at this ISO time (tests, demos); empty: the wall clock
    support_clock_at: str = ""
    stock_discrepancy_ratio: float = 0.2
    run_worker_in_process: bool = True
    log_json: bool = False
    log_level: str = "INFO"
    google_application_credentials: str = ""
    # media and evidence (issue 5; documented in docs/media.md)
    media_upload_expiry_s: int = 24 * 3600
    media_orphan_ttl_s: int = 30 * 24 * 3600
    evidence_signing_key: str = ""
    # messaging and push (issue 6)
    message_edit_window_s: int = 900
    fcm_endpoint: str = ""
    push_batch_size: int = 500
    push_max_attempts: int = 8
    # a claimed row another worker may take over once this lapses (issue 18; docs/operations.md)
    push_lease_s: float = 120.0
    # sync (issue 8): mutations one device may push per minute; 0 turns the limit off.
    sync_mutations_per_minute: int = 6000
    # field operations (issue 4; documented in docs/field-operations.md)
    stock_low_qty: int = 10
    # graceful drain on SIGTERM (issue 18; documented in docs/operations.md)
    drain_delay_s: float = 2.0
    drain_timeout_s: float = 20.0
    # visits and replenishment (issue 17; documented in docs/visits-and-replenishment.md)
    visit_plan_days: int = 7
    replenishment_service_level: float = 0.95
    replenishment_review_days: int = 7

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{Path(self.var_dir).resolve() / 'fieldsync.db'}"

    @property
    def resolved_media_url(self) -> str:
        return self.media_url or f"file://{Path(self.var_dir).resolve() / 'media'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


_PREFIX = "FIELDSYNC_"
_NON_PREFIXED = {"google_application_credentials": "GOOGLE_APPLICATION_CREDENTIALS"}


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    return _NON_PREFIXED.get(field, _PREFIX + field.upper())


def _coerce(field: str, raw: str, default: Any) -> Any:
    name = env_name(field)
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{name}={raw!r} is not a boolean; use true or false")
    if isinstance(default, int):
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a whole number") from None
        if value < 0:
            raise ConfigError(f"{name}={raw!r} must not be negative")
        return value
    if isinstance(default, float):
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a number") from None
        if not 0 <= value < float("inf"):
            raise ConfigError(f"{name}={raw!r} must be a finite number, not negative")
        return value
    return raw


# Limits and periods that make no sense at zero.
_POSITIVE = (
    "port",
    "access_token_ttl_s",
    "refresh_token_ttl_s",
    "login_max_failures",
    "max_body_bytes",
    "max_import_bytes",
    "sync_max_batch",
    "upload_max_bytes",
    "image_max_pixels",
    "message_max_chars",
    "requests_per_minute",
)
# Variables with the prefix that are read elsewhere (the test suite), not by Settings.
_OTHER_VARIABLES = {"FIELDSYNC_TEST_DATABASE_URL", "FIELDSYNC_TEST_REDIS_URL"}


def _validate(settings: Settings) -> None:
    for field in _POSITIVE:
        if getattr(settings, field) < 1:
            raise ConfigError(f"{env_name(field)}={getattr(settings, field)} must be at least 1")
    url = settings.resolved_database_url
    if not (url.startswith("sqlite+aiosqlite://") or url.startswith("postgresql+asyncpg://")):
        raise ConfigError(
            f"{env_name('database_url')}={url!r} is not supported; use "
            "sqlite+aiosqlite:///path/to.db or postgresql+asyncpg://user@host/db"
        )
    if settings.env not in {"development", "production", "test"}:
        raise ConfigError(f"{env_name('env')}={settings.env!r}: use development, production or test")
    if settings.env == "production" and len(settings.secret_key) < 32:
        raise ConfigError(f"{env_name('secret_key')} must be set to 32+ characters in production")
    if settings.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(
            f"{env_name('log_level')}={settings.log_level!r}: use DEBUG, INFO, WARNING or ERROR"
        )
    if settings.port > 65535:
        raise ConfigError(f"{env_name('port')}={settings.port} is not a TCP port")


def load_settings(environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Read settings from ``environ`` (default: the process environment), then ``overrides``."""
    environ = dict(os.environ if environ is None else environ)
    defaults = Settings()
    values: dict[str, Any] = {}
    for field in Settings.__struct_fields__:
        raw = environ.get(env_name(field))
        if raw is not None and raw != "":
            values[field] = _coerce(field, raw, getattr(defaults, field))
    values.update(overrides)
    settings = msgspec.structs.replace(defaults, **values)
    if not settings.secret_key and settings.env != "production":
        settings = msgspec.structs.replace(settings, secret_key=_local_secret(settings.var_dir))
    _validate(settings)
    return settings


def _local_secret(var_dir: str) -> str:
    """A signing key kept under ``var/`` so tokens survive restarts of the embedded default."""
    path = Path(var_dir) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def unknown_variables(environ: dict[str, str] | None = None) -> list[str]:
    """``FIELDSYNC_*`` variables that set nothing: most likely misspelt."""
    environ = dict(os.environ if environ is None else environ)
    known = {env_name(f) for f in Settings.__struct_fields__} | _OTHER_VARIABLES
    return sorted(name for name in environ if name.startswith(_PREFIX) and name not in known)


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, what it sets) for every setting, for ``--help`` and the README."""
    defaults = Settings()
    return [
        (env_name(f), _show(getattr(defaults, f)), DESCRIPTIONS.get(f, "see the area's page in docs/"))
        for f in Settings.__struct_fields__
    ]


def _show(default: Any) -> str:
    if isinstance(default, bool):
        return str(default).lower()
    return str(default) if default != "" else "(empty)"


DESCRIPTIONS = {
    "env": "development, test or production (production requires FIELDSYNC_SECRET_KEY, logs JSON)",
    "database_url": "SQLAlchemy URL: sqlite+aiosqlite:///path.db or postgresql+asyncpg://user:pw@host/db "
    "(add ?pgbouncer=transaction when host is a PgBouncer in transaction mode); empty means var/fieldsync.db",
    "var_dir": "folder for the embedded SQLite file, local media and the generated signing key",
    "media_url": "where photos are stored: file:///path or s3://bucket/prefix; empty means var/media",
    "redis_url": "redis://host:6379/0 for fan-out between API processes; empty means in-process only",
    "secret_key": "signs access tokens; 32+ characters, the same in every process (generated under var/ "
    "when empty outside production)",
    "host": "address `fieldsync serve` binds",
    "port": "port `fieldsync serve` binds",
    "access_token_ttl_s": "lifetime of an access token (JWT), seconds",
    "refresh_token_ttl_s": "lifetime of a refresh token, seconds",
    "login_max_failures": "wrong passwords in a row before an account is locked",
    "login_lockout_s": "how long a locked account stays locked, seconds",
    "max_body_bytes": "largest request body the API accepts (413 above it)",
    "max_import_bytes": "largest catalog CSV file the import accepts",
    "sync_max_batch": "most mutations in one sync push",
    "sync_min_protocol": "oldest sync protocol version still served (older clients get 426)",
    "sync_compaction_horizon_s": "age after which the change log is compacted (older cursors re-snapshot)",
    "sync_result_retention_s": "how long stored push results are kept for retried mutations (a retry after "
    "that is still recognised as a duplicate, without its original result)",
    "upload_max_bytes": "largest photo upload",
    "image_max_pixels": "largest image (width × height) that is decoded",
    "message_max_chars": "longest chat message",
    "requests_per_minute": "requests per minute per signed-in device (or per address before sign-in)",
    "support_first_response_s": "support queue target: first answer within this many seconds",
    "support_clock_at": "stop the support desk's SLA clock at this ISO time (tests and demos; "
    "empty: wall clock)",
    "stock_discrepancy_ratio": "stock checks: a count further than this fraction from the expected stock "
    "is flagged as a discrepancy",
    "stock_low_qty": "workbench: a warehouse SKU whose expected stock is at or below this is low",
    "visit_plan_days": "how many local days ahead the worker plans each rep's visits",
    "replenishment_service_level": "share of replenishment cycles without a stock-out (sets safety stock)",
    "replenishment_review_days": "days between two orders a replenishment suggestion has to cover",
    "run_worker_in_process": "run the job scheduler inside `fieldsync serve` (false when workers run apart)",
    "log_json": "one JSON object a line (also on whenever FIELDSYNC_ENV=production)",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
    "google_application_credentials": "path to the Firebase service-account JSON for FCM push; empty means "
    "pushes are logged, not sent",
    "media_upload_expiry_s": "an unfinished photo upload is discarded after this many seconds",
    "media_orphan_ttl_s": "a stored photo that nothing refers to is removed after this many seconds",
    "evidence_signing_key": "base64 of 32 random bytes: the Ed25519 key that signs evidence tree heads "
    "(generated under var/ when empty)",
    "message_edit_window_s": "how long a sender may edit a chat message, seconds",
    "fcm_endpoint": "base URL of an FCM-compatible server instead of Google's (tests use a local fake)",
    "push_batch_size": "push notifications sent per FCM request (at most 500)",
    "push_max_attempts": "attempts before a push notification is given up",
    "push_lease_s": "seconds a delivery worker holds the outbox rows it claimed; another worker resends "
    "them after it lapses (a worker that died mid-send)",
    "sync_mutations_per_minute": "sync mutations one device may push per minute; 0 turns the limit off",
    "drain_delay_s": "after SIGTERM, seconds the API stays up but unready, so the load balancer stops "
    "sending to it",
    "drain_timeout_s": "then, seconds in-flight requests get to finish before they are cancelled",
}
