"""Push gateway: turns :class:`PushMessage` values into FCM sends and classifies every result.

No database here. The outbox worker calls :meth:`PushGateway.send_batch` (synchronously, in a
thread) and acts on each :class:`PushOutcome`:

``sent``          delivered to FCM; ``message_id`` is FCM's message name.
``unregistered``  the token is dead (FCM ``UNREGISTERED``): deactivate it.
``invalid``       FCM rejected the request as invalid (``INVALID_ARGUMENT``, normally a malformed
                  token; ``SENDER_ID_MISMATCH``: the token belongs to another project). Do not retry.
``retry``         transient (``UNAVAILABLE``, ``QUOTA_EXCEEDED``, ``INTERNAL``, other 5xx, timeouts,
                  connection or OAuth-transport errors): back off and resend. ``retry_after_s`` carries
                  FCM's ``Retry-After`` when it sent one.
``failed``        anything else (permission/auth configuration, APNs/web-push auth, a message the SDK
                  refuses to encode). Not worth retrying unchanged.

Implementations: :class:`LogGateway` (no credentials configured: log and report ``sent``) and
:class:`FcmGateway` (the real firebase-admin SDK). :func:`make_gateway` picks one.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import firebase_admin
import google.auth.exceptions
import msgspec
import requests
import requests.adapters
from firebase_admin import credentials, exceptions, messaging
from google.auth.transport.requests import Request as GoogleAuthRequest
from urllib3.util.retry import Retry

log = logging.getLogger("fieldsync.push")

PushKind = Literal["chat", "sync", "alert"]
PushStatus = Literal["sent", "unregistered", "invalid", "retry", "failed"]

#: FCM accepts at most this many messages per ``send_each`` call.
FCM_MAX_BATCH = 500
#: Where firebase-admin sends FCM v1 requests unless told otherwise.
FCM_DEFAULT_ENDPOINT = "https://fcm.googleapis.com"
_FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


class PushMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One push to one device registration token.

    ``sync`` messages are data-only (``title``/``body`` are ignored); the payload always carries
    ``data["kind"]`` unless the caller set it. ``collapse_key`` becomes the Android collapse key
    and the APNs ``apns-collapse-id`` (at most 64 bytes for APNs); ``ttl_s`` the Android TTL and
    the APNs expiration.
    """

    token: str
    kind: PushKind
    title: str | None = None
    body: str | None = None
    data: dict[str, str] = msgspec.field(default_factory=dict)
    collapse_key: str | None = None
    ttl_s: int | None = None


class PushOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """What happened to one :class:`PushMessage` (same order as the input batch)."""

    token: str
    status: PushStatus
    message_id: str | None = None
    error: str | None = None
    retry_after_s: float | None = None


class PushGateway(Protocol):
    """Sends push messages; blocking, so async callers run it in a thread."""

    def send_batch(self, messages: list[PushMessage]) -> list[PushOutcome]:
        """Send ``messages`` and return one outcome per message, in input order."""
        ...


def _redact(token: str) -> str:
    return token if len(token) <= 12 else f"{token[:8]}…"


class LogGateway:
    """Logs every message on ``fieldsync.push`` instead of sending it; always reports ``sent``.

    The last ``keep`` messages stay in :attr:`recent` for inspection in development and tests.
    """

    def __init__(self, *, level: int = logging.INFO, keep: int = 1000) -> None:
        self._level = level
        self.recent: collections.deque[PushMessage] = collections.deque(maxlen=keep)

    def send_batch(self, messages: list[PushMessage]) -> list[PushOutcome]:
        """Log each message and report it as sent with a synthetic ``log/...`` message id."""
        outcomes = []
        for msg in messages:
            message_id = f"log/{uuid.uuid4().hex}"
            log.log(
                self._level,
                "push not sent (no FCM credentials): kind=%s token=%s collapse_key=%s title=%r "
                "body=%r data=%s id=%s",
                msg.kind,
                _redact(msg.token),
                msg.collapse_key,
                msg.title,
                msg.body,
                msg.data,
                message_id,
            )
            self.recent.append(msg)
            outcomes.append(PushOutcome(token=msg.token, status="sent", message_id=message_id))
        return outcomes


def build_fcm_message(msg: PushMessage, *, now: float | None = None) -> messaging.Message:
    """Translate a :class:`PushMessage` into a firebase-admin ``Message``.

    * ``chat``/``alert``: Android priority ``high``; APNs ``alert`` push at priority 10 when there
      is a title or body, otherwise a background push.
    * ``sync``: data-only; Android priority ``normal``; APNs background push
      (``content-available``, ``apns-push-type: background``, ``apns-priority: 5``).
    """
    data = {"kind": msg.kind, **msg.data}
    visible = msg.kind != "sync" and (msg.title is not None or msg.body is not None)
    notification = messaging.Notification(title=msg.title, body=msg.body) if visible else None
    android = messaging.AndroidConfig(
        priority="normal" if msg.kind == "sync" else "high",
        collapse_key=msg.collapse_key,
        ttl=msg.ttl_s,
    )
    headers: dict[str, str]
    if visible:
        headers = {"apns-push-type": "alert", "apns-priority": "10"}
        aps = messaging.Aps(sound="default")
    else:
        headers = {"apns-push-type": "background", "apns-priority": "5"}
        aps = messaging.Aps(content_available=True)
    if msg.collapse_key:
        headers["apns-collapse-id"] = msg.collapse_key
    if msg.ttl_s is not None:
        expires = 0 if msg.ttl_s <= 0 else int(now if now is not None else time.time()) + msg.ttl_s
        headers["apns-expiration"] = str(expires)
    fcm_message = messaging.Message(
        data=data,
        notification=notification,
        android=android,
        apns=messaging.APNSConfig(headers=headers, payload=messaging.APNSPayload(aps=aps)),
    )
    # firebase-admin >= 7.5 deprecates ``Message(token=...)`` in favour of Firebase Installation
    # IDs (``fid``). Our devices register FCM registration tokens, which the v1 API still takes in
    # ``message.token``; assigning the attribute keeps the wire format without the warning.
    fcm_message.token = msg.token
    return fcm_message


def _encode(fcm_message: messaging.Message) -> None:
    """Run the SDK's encoder (its validators) on one message; raises ValueError/TypeError.

    ``send_each`` encodes the whole list before sending and one bad message would fail the call,
    so each message is checked first. ``str(message)`` would do the same plus an indented
    ``json.dumps`` that cost ~15% of a send's CPU.
    """
    encode = getattr(getattr(messaging, "_MessagingService", None), "encode_message", None)
    if encode is None:  # pragma: no cover - a future SDK without the classmethod
        str(fcm_message)
    else:
        encode(fcm_message)


def _fcm_error_code(exc: exceptions.FirebaseError) -> str | None:
    resp = exc.http_response
    if resp is None:
        return None
    try:
        body = resp.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("@type") == _FCM_ERROR_TYPE:
            code = detail.get("errorCode")
            return str(code) if code else None
    return None


def _retry_after(exc: exceptions.FirebaseError) -> float | None:
    resp = exc.http_response
    value = resp.headers.get("Retry-After") if resp is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


_RETRY_TYPES = (
    exceptions.UnavailableError,
    exceptions.InternalError,
    exceptions.DeadlineExceededError,
    exceptions.ResourceExhaustedError,
)


def classify_error(exc: exceptions.FirebaseError) -> tuple[PushStatus, str]:
    """Map a per-message firebase-admin error to ``(status, error code)``.

    The code is FCM's ``errorCode`` detail when present (``UNREGISTERED``, ``QUOTA_EXCEEDED``...),
    otherwise the platform code of the exception (``UNAVAILABLE``, ``DEADLINE_EXCEEDED``...).
    """
    code = _fcm_error_code(exc) or str(exc.code)
    if isinstance(exc, messaging.UnregisteredError) or code in (
        "UNREGISTERED",
        "registration-token-not-registered",
    ):
        return "unregistered", code
    if isinstance(exc, messaging.SenderIdMismatchError):
        return "invalid", code
    if isinstance(exc, (messaging.QuotaExceededError, *_RETRY_TYPES)):
        return "retry", code
    if isinstance(exc, messaging.ThirdPartyAuthError):
        return "failed", code
    if isinstance(exc, exceptions.InvalidArgumentError):
        return "invalid", code
    status_code = exc.http_response.status_code if exc.http_response is not None else None
    if status_code is not None and (status_code >= 500 or status_code == 429):
        return "retry", code
    if status_code is None and isinstance(exc.cause, requests.RequestException):
        return "retry", code  # transport-level trouble without an HTTP answer (e.g. RetryError)
    return "failed", code


def _classify_chunk_error(exc: Exception) -> tuple[PushStatus, str]:
    """Classify an error that took down a whole ``send_each`` call (typically OAuth)."""
    cause: BaseException | None = exc
    if isinstance(exc, exceptions.FirebaseError) and exc.cause is not None:
        cause = exc.cause
    if isinstance(cause, google.auth.exceptions.TransportError):
        return "retry", "AUTH_TRANSPORT_ERROR"
    if isinstance(cause, google.auth.exceptions.RefreshError):
        return ("retry" if cause.retryable else "failed"), "AUTH_REFRESH_FAILED"
    if isinstance(cause, requests.RequestException):
        return "retry", "TRANSPORT_ERROR"
    if isinstance(exc, exceptions.FirebaseError):
        return classify_error(exc)
    return "failed", type(exc).__name__


def http_retry_config(retries: int, backoff_s: float) -> Retry:
    """The urllib3 retry policy mounted on the FCM endpoint.

    firebase-admin itself retries 500/503 up to 4 times (backoff 0.5 s doubling, honouring
    ``Retry-After`` for 429/503 too), which can block a worker thread for many seconds. We keep an
    HTTP-level retry for quick blips but bound it, and ignore ``Retry-After`` here: a persistent
    failure comes back as ``retry`` with ``retry_after_s`` and the outbox schedules the resend.
    Read errors are not retried (the POST may already have been delivered).
    """
    return Retry(
        total=None,
        connect=1,
        read=0,
        status=max(0, retries),
        other=0,
        status_forcelist=(500, 502, 503, 504),
        backoff_factor=backoff_s,
        respect_retry_after_header=False,
        raise_on_status=False,
        allowed_methods=None,
    )


class FcmGateway:
    """Sends through the firebase-admin SDK (``messaging.send_each``) with a named App.

    Args:
        credentials_path: service-account JSON; its ``project_id`` picks the FCM project and its
            ``token_uri`` is where google-auth fetches OAuth2 access tokens.
        app_name: firebase-admin App name; a unique one is generated when omitted so several
            gateways (and the default App) can coexist.
        http_timeout: per-request timeout in seconds (App option ``httpTimeout``).
        fcm_endpoint: base URL of an FCM-v1-compatible server (scheme://host[:port]) instead of
            ``https://fcm.googleapis.com``. firebase-admin has no option or emulator variable for
            FCM (unlike Auth/Database/Functions), so this rewrites the messaging service's
            send URL (``_MessagingService._fcm_url``); the constructor fails loudly if a future SDK
            renames that internal. Meant for tests and on-prem proxies.
        http_retries / http_backoff_s: bounded HTTP-level retries of 5xx, see
            :func:`http_retry_config`; ``http_retries=0`` disables them.
        batch_size: messages per ``send_each`` call (1..500). The SDK uses one thread per message
            of a call, so this also caps the threads (and pooled keep-alive connections) in flight.

    Why ``send_each`` and not ``send_each_async``: in firebase-admin 7.x the async variant queues a
    whole call on one httpx client whose httpcore pool assigns connections in O(queued x
    connections) per request (encode/httpcore#1035), and its auth flow builds a new
    ``requests.Session`` per message; measured against the local fake (HTTP/1.1) it used ~2.5 ms of
    CPU per message against ~0.8 ms for the thread-pool path (docs/performance.md).
    """

    def __init__(
        self,
        credentials_path: str,
        *,
        app_name: str | None = None,
        http_timeout: float = 10,
        fcm_endpoint: str | None = None,
        http_retries: int = 2,
        http_backoff_s: float = 0.5,
        batch_size: int = FCM_MAX_BATCH,
    ) -> None:
        if not 1 <= batch_size <= FCM_MAX_BATCH:
            raise ValueError(f"batch_size must be between 1 and {FCM_MAX_BATCH}")
        cert = credentials.Certificate(credentials_path)
        if not cert.project_id:
            raise ValueError(f"service account {credentials_path} has no project_id")
        self.project_id: str = cert.project_id
        self.endpoint = _normalise_endpoint(fcm_endpoint) if fcm_endpoint else FCM_DEFAULT_ENDPOINT
        self._batch_size = batch_size
        self._http_timeout = http_timeout
        self._credential = cert.get_credential()
        self._refresh_lock = threading.Lock()
        self._closed = False
        self.app: firebase_admin.App = firebase_admin.initialize_app(
            cert,
            {"projectId": self.project_id, "httpTimeout": http_timeout},
            name=app_name or f"fieldsync-push-{uuid.uuid4().hex[:12]}",
        )
        try:
            self._configure_transport(http_retry_config(http_retries, http_backoff_s))
        except Exception:
            firebase_admin.delete_app(self.app)
            raise

    def _configure_transport(self, retry: Retry) -> None:
        service: Any = messaging._get_messaging_service(self.app)  # noqa: SLF001 - no public hook
        client = getattr(service, "_client", None)
        url = getattr(service, "_fcm_url", None)
        if client is None or not isinstance(url, str) or not url.startswith(FCM_DEFAULT_ENDPOINT + "/"):
            raise RuntimeError(
                "unsupported firebase-admin version: cannot find the FCM send URL/HTTP client "
                "(written against firebase-admin 7.x messaging._MessagingService)"
            )
        if self.endpoint != FCM_DEFAULT_ENDPOINT:
            service._fcm_url = f"{self.endpoint}/v1/projects/{self.project_id}/messages:send"
        # ``send_each`` runs every message of a call on its own thread; with fewer pooled connections
        # than threads, urllib3 discards the surplus after each call and the next call reconnects.
        adapter = requests.adapters.HTTPAdapter(
            pool_connections=10, pool_maxsize=self._batch_size, max_retries=retry
        )
        session: requests.Session = client.session
        session.mount(self.endpoint + "/", adapter)
        # requests re-reads ~/.netrc and the proxy variables on every request while ``trust_env``
        # is on (a stat per request, ~6% of a send's CPU); read the proxies once instead.
        session.proxies.update(requests.utils.get_environ_proxies(self.endpoint))
        session.trust_env = False
        self.send_url: str = service._fcm_url

    def _ensure_access_token(self) -> None:
        """Fetch the OAuth2 token once per expiry, not once per SDK worker thread."""
        if self._credential.valid:
            return
        with self._refresh_lock:
            if not self._credential.valid:
                request = functools.partial(GoogleAuthRequest(), timeout=self._http_timeout)
                self._credential.refresh(request)

    def send_batch(self, messages: list[PushMessage]) -> list[PushOutcome]:
        """Send in ``send_each`` chunks of at most ``batch_size``; one outcome per message, in order."""
        outcomes: list[PushOutcome | None] = [None] * len(messages)
        pending: list[tuple[int, messaging.Message]] = []
        for i, msg in enumerate(messages):
            if not msg.token:
                outcomes[i] = PushOutcome(token=msg.token, status="invalid", error="EMPTY_TOKEN")
                continue
            try:
                fcm_message = build_fcm_message(msg)
                _encode(fcm_message)  # the SDK's encoder/validators on this message alone
            except (ValueError, TypeError) as exc:
                outcomes[i] = PushOutcome(token=msg.token, status="failed", error=f"INVALID_MESSAGE: {exc}")
                continue
            pending.append((i, fcm_message))
        for start in range(0, len(pending), self._batch_size):
            chunk = pending[start : start + self._batch_size]
            results = self._send_chunk([messages[i].token for i, _ in chunk], [m for _, m in chunk])
            for (i, _), outcome in zip(chunk, results, strict=True):
                outcomes[i] = outcome
        return [o for o in outcomes if o is not None]

    def _send_chunk(self, tokens: Sequence[str], fcm_messages: list[messaging.Message]) -> list[PushOutcome]:
        if self._closed:
            raise RuntimeError("FcmGateway is closed")
        try:
            self._ensure_access_token()
            batch = messaging.send_each(fcm_messages, app=self.app)
        except (
            exceptions.FirebaseError,
            google.auth.exceptions.GoogleAuthError,
            requests.RequestException,
        ) as exc:
            status, code = _classify_chunk_error(exc)
            log.warning("push chunk of %d failed before sending: %s (%s)", len(tokens), code, exc)
            return [PushOutcome(token=t, status=status, error=code) for t in tokens]
        outcomes = []
        for token, resp in zip(tokens, batch.responses, strict=True):
            if resp.success:
                outcomes.append(PushOutcome(token=token, status="sent", message_id=resp.message_id))
                continue
            exc = resp.exception
            status, code = classify_error(exc)
            outcomes.append(
                PushOutcome(token=token, status=status, error=code, retry_after_s=_retry_after(exc))
            )
            log.info("push to %s: %s (%s)", _redact(token), status, code)
        return outcomes

    def close(self) -> None:
        """Delete the firebase-admin App (safe to call from inside an event loop)."""
        if self._closed:
            return
        self._closed = True
        app = self.app
        # The messaging service's close() calls asyncio.run(), which refuses to run inside a
        # running loop, so in that case delete the App from a helper thread.
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            firebase_admin.delete_app(app)
            return
        worker = threading.Thread(target=firebase_admin.delete_app, args=(app,), name="fcm-close")
        worker.start()
        worker.join()

    def __enter__(self) -> FcmGateway:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _normalise_endpoint(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
        raise ValueError(f"fcm_endpoint must look like scheme://host[:port], got {endpoint!r}")
    return f"{parts.scheme}://{parts.netloc}"


def make_gateway(credentials_path: str | None, **fcm_options: Any) -> PushGateway:
    """:class:`FcmGateway` when a service-account path is configured, else :class:`LogGateway`."""
    if credentials_path:
        return FcmGateway(credentials_path, **fcm_options)
    log.info("no Firebase credentials configured: push messages will be logged, not sent")
    return LogGateway()
