"""A local fake of the FCM HTTP v1 API and of Google's OAuth2 token endpoint.

It is a real HTTP server on 127.0.0.1 (free port, one thread per connection), so the genuine
firebase-admin SDK and google-auth talk to it over sockets exactly as they would to Google:

* ``POST /token``: JWT-bearer grant. The assertion must be an RS256 JWT signed by the private key
  of a service account the fake trusts (verified with the public key), ``iss`` the account's
  ``client_email`` and ``aud`` Google's token endpoint (google-auth always sends that, even when
  ``token_uri`` points elsewhere) or this fake's. Returns an opaque access token.
* ``POST /v1/projects/{project}/messages:send``: requires ``Authorization: Bearer <token>`` issued
  above for that project, validates the message shape, records it and answers per the behaviour
  table: success ``{"name": "projects/{p}/messages/{n}"}``, or FCM's error JSON for the error code
  configured for the device token (exactly, optionally only the next N times) or its prefix.

firebase-admin 7 has no batch endpoint any more (FCM retired ``/batch`` in 2024): ``send_each``
posts every message to ``messages:send`` concurrently, one thread per message.

Use :func:`make_service_account` + :meth:`FakeFcm.trust` (or :meth:`FakeFcm.service_account`).
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: google-auth always puts Google's token endpoint in ``aud``, whatever ``token_uri`` says.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
SEND_SCOPES = {
    "https://www.googleapis.com/auth/firebase.messaging",
    "https://www.googleapis.com/auth/cloud-platform",
}

#: FCM errorCode -> (HTTP status, google.rpc status, message), as the real API answers.
FCM_ERRORS: dict[str, tuple[int, str, str]] = {
    "UNREGISTERED": (404, "NOT_FOUND", "Requested entity was not found."),
    "INVALID_ARGUMENT": (
        400,
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
    ),
    "QUOTA_EXCEEDED": (429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Send requests'."),
    "UNAVAILABLE": (503, "UNAVAILABLE", "The service is currently unavailable."),
    "INTERNAL": (500, "INTERNAL", "Internal error encountered."),
    "SENDER_ID_MISMATCH": (403, "PERMISSION_DENIED", "SenderId mismatch"),
    "THIRD_PARTY_AUTH_ERROR": (401, "UNAUTHENTICATED", "Auth error from APNS or Web Push Service"),
}

#: Device-token prefixes that always fail with the given FCM errorCode (editable per instance).
DEFAULT_PREFIX_RULES: dict[str, str] = {
    "unreg-": "UNREGISTERED",
    "invalid-": "INVALID_ARGUMENT",
    "quota-": "QUOTA_EXCEEDED",
    "unavail-": "UNAVAILABLE",
    "internal-": "INTERNAL",
    "mismatch-": "SENDER_ID_MISMATCH",
    "apnsauth-": "THIRD_PARTY_AUTH_ERROR",
}


def make_service_account(
    tmp_path: Path, token_uri: str, *, project_id: str = "fieldsync-test", name: str = "push"
) -> Path:
    """Generate an RSA key and write a service-account JSON whose ``token_uri`` is ``token_uri``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    email = f"{name}@{project_id}.iam.gserviceaccount.com"
    info = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": email,
        "client_id": str(secrets.randbelow(10**20)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{email}",
        "universe_domain": "googleapis.com",
    }
    path = Path(tmp_path) / f"{name}-{project_id}-{info['private_key_id'][:8]}.json"
    path.write_text(json.dumps(info, indent=2), encoding="utf-8")
    return path


@dataclass
class _Account:
    email: str
    project_id: str
    public_key: Any


@dataclass
class _Rule:
    code: str
    remaining: int | None  # None: fail forever
    retry_after: float | None


@dataclass
class Attempt:
    """One ``messages:send`` request as the fake answered it."""

    token: str | None
    status: int
    code: str | None


@dataclass
class _AccessToken:
    account: _Account
    scopes: set[str]
    expires_at: float


@dataclass
class FakeFcm:
    """The fake server. Start with :meth:`start` (or use as a context manager)."""

    prefix_rules: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PREFIX_RULES))
    token_lifetime_s: int = 3600
    latency_s: float = 0.0  # added before every messages:send answer, like a network round trip

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._accounts: dict[str, _Account] = {}
        self._rules: dict[str, _Rule] = {}
        self._access_tokens: dict[str, _AccessToken] = {}
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._replies_open = threading.Event()
        self._replies_open.set()
        #: set once a message has been accepted (recorded) since the last :meth:`reset`
        self.accepted = threading.Event()
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeFcm:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="fake-fcm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeFcm:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "FakeFcm not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def token_uri(self) -> str:
        return f"{self.base_url}/token"

    # -- configuration -----------------------------------------------------------------------
    def trust(self, service_account_path: Path) -> Path:
        """Accept JWT assertions signed by this service account's key."""
        info = json.loads(Path(service_account_path).read_text(encoding="utf-8"))
        private_key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
        with self._lock:
            self._accounts[info["private_key_id"]] = _Account(
                info["client_email"], info["project_id"], private_key.public_key()
            )
        return Path(service_account_path)

    def service_account(self, tmp_path: Path, *, project_id: str = "fieldsync-test") -> Path:
        """:func:`make_service_account` pointing at this fake, already trusted."""
        return self.trust(make_service_account(tmp_path, self.token_uri, project_id=project_id))

    def fail(
        self, token: str, code: str, *, times: int | None = None, retry_after: float | None = None
    ) -> None:
        """Answer sends to ``token`` with FCM error ``code``; only the next ``times`` if given."""
        if code not in FCM_ERRORS:
            raise ValueError(f"unknown FCM error code {code!r}")
        with self._lock:
            self._rules[token] = _Rule(code, times, retry_after)

    def hold_replies(self) -> None:
        """Accept (record) messages but hold their answers back until :meth:`release_replies`:
        FCM has taken the message, the sender has not heard so yet (a reply still on the wire)."""
        self._replies_open.clear()

    def release_replies(self) -> None:
        self._replies_open.set()

    def revoke_access_tokens(self) -> None:
        """Forget every issued access token (the next send gets 401 and must re-authenticate)."""
        with self._lock:
            self._access_tokens.clear()

    def reset(self) -> None:
        """Clear counters and recordings (rules and trusted accounts stay)."""
        with self._lock:
            self.token_requests = 0
            self.token_grants: list[dict[str, Any]] = []  # verified assertion claims
            self.token_rejections: list[str] = []
            self.send_requests = 0
            self.connections = 0  # TCP connections accepted (keep-alive reuse shows as few)
            self.auth_failures = 0
            self.attempts: list[Attempt] = []
            self.messages: list[dict[str, Any]] = []  # accepted: {"project", "name", "message", ...}
            self.accepted.clear()

    # -- assertions helpers ------------------------------------------------------------------
    def attempts_for(self, token: str) -> int:
        with self._lock:
            return sum(1 for a in self.attempts if a.token == token)

    def messages_for(self, token: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m["message"] for m in self.messages if m["message"].get("token") == token]

    def status_counts(self) -> Counter[int]:
        with self._lock:
            return Counter(a.status for a in self.attempts)

    # -- request handling (called from server threads) ----------------------------------------
    def _grant(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.token_requests += 1
        if form.get("grant_type", [""])[0] != JWT_BEARER:
            return self._reject("unsupported_grant_type", "Invalid grant_type.")
        assertion = form.get("assertion", [""])[0]
        try:
            kid = jwt.get_unverified_header(assertion).get("kid")
        except jwt.PyJWTError as exc:
            return self._reject("invalid_grant", f"Malformed assertion: {exc}")
        account = self._accounts.get(kid or "")
        if account is None:
            return self._reject("invalid_grant", "Invalid JWT Signature.")
        try:
            claims = jwt.decode(
                assertion,
                account.public_key,
                algorithms=["RS256"],
                audience=[GOOGLE_TOKEN_AUDIENCE, self.token_uri],
                issuer=account.email,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            return self._reject("invalid_grant", f"Invalid JWT: {exc}")
        if claims["exp"] - claims["iat"] > 3600:
            return self._reject("invalid_grant", "JWT lifetime exceeds one hour.")
        access_token = f"ya29.fake-{secrets.token_urlsafe(24)}"
        with self._lock:
            self.token_grants.append(claims)
            self._access_tokens[access_token] = _AccessToken(
                account, set(str(claims.get("scope", "")).split()), time.time() + self.token_lifetime_s
            )
        return 200, {
            "access_token": access_token,
            "expires_in": self.token_lifetime_s,
            "token_type": "Bearer",
        }

    def _reject(self, error: str, description: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.token_rejections.append(description)
        return 400, {"error": error, "error_description": description}

    def _send(
        self, project: str, authorization: str, raw: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            self.send_requests += 1
            bearer = authorization[7:] if authorization.startswith("Bearer ") else ""
            grant = self._access_tokens.get(bearer)
            if grant is None or grant.expires_at < time.time():
                self.auth_failures += 1
                self.attempts.append(Attempt(None, 401, "UNAUTHENTICATED"))
                return _google_error(
                    401, "UNAUTHENTICATED", "Request had invalid authentication credentials."
                )
            if grant.account.project_id != project or not grant.scopes & SEND_SCOPES:
                self.attempts.append(Attempt(None, 403, "PERMISSION_DENIED"))
                return _google_error(
                    403, "PERMISSION_DENIED", "Permission 'cloudmessaging.messages.create' denied"
                )
        if self.latency_s:
            time.sleep(self.latency_s)
        try:
            body = json.loads(raw)
            message = body["message"]
            targets = [k for k in ("token", "topic", "condition", "fid") if message.get(k)]
            data = message.get("data", {})
            if len(targets) != 1 or not all(isinstance(v, str) for v in data.values()):
                raise ValueError("bad message")
        except (ValueError, KeyError, TypeError, AttributeError):
            with self._lock:
                self.attempts.append(Attempt(None, 400, "INVALID_ARGUMENT"))
            return _fcm_error("INVALID_ARGUMENT", None, "Invalid JSON payload received.")
        token = message.get("token") or message.get("fid")
        with self._lock:
            code, retry_after = self._decide(token)
            if code is not None:
                self.attempts.append(Attempt(token, FCM_ERRORS[code][0], code))
                return _fcm_error(code, retry_after)
            validate_only = bool(body.get("validate_only"))
            name = f"projects/{project}/messages/" + (
                "fake_message_id" if validate_only else str(next(self._ids))
            )
            self.attempts.append(Attempt(token, 200, None))
            if not validate_only:
                self.messages.append({"project": project, "name": name, "message": message})
                self.accepted.set()
        self._replies_open.wait(120)  # open unless a test holds the replies back
        return 200, {"name": name}, {}

    def _decide(self, token: str | None) -> tuple[str | None, float | None]:
        rule = self._rules.get(token or "")
        if rule is not None:
            if rule.remaining is None:
                return rule.code, rule.retry_after
            if rule.remaining > 0:
                rule.remaining -= 1
                return rule.code, rule.retry_after
            return None, None
        for prefix, code in self.prefix_rules.items():
            if token and token.startswith(prefix):
                return code, None
        return None, None


def _google_error(
    status: int, rpc_status: str, message: str, details: list[dict[str, Any]] | None = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    error: dict[str, Any] = {"code": status, "message": message, "status": rpc_status}
    if details:
        error["details"] = details
    return status, {"error": error}, {}


def _fcm_error(
    code: str, retry_after: float | None, message: str | None = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    status, rpc_status, default_message = FCM_ERRORS[code]
    details: list[dict[str, Any]] = [{"@type": FCM_ERROR_TYPE, "errorCode": code}]
    if code == "INVALID_ARGUMENT":
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": "message.token", "description": "Invalid registration token"}],
            }
        )
    status, body, headers = _google_error(status, rpc_status, message or default_message, details)
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after))
    return status, body, headers


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # send_each opens up to 500 connections at once
    fake: FakeFcm


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in one write with TCP_NODELAY: two small writes on a keep-alive
    # connection otherwise meet the client's delayed ACK (Nagle), ~40 ms per request.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        fake = self.server.fake
        with fake._lock:
            fake.connections += 1

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fake = self.server.fake
        path = self.path.split("?", 1)[0]
        parts = path.strip("/").split("/")
        if path == "/token":
            status, body = fake._grant(parse_qs(raw.decode()))
            self._reply(status, body)
        elif len(parts) == 4 and parts[:2] == ["v1", "projects"] and parts[3] == "messages:send":
            status, body, headers = fake._send(parts[2], self.headers.get("Authorization", ""), raw)
            self._reply(status, body, headers)
        else:
            self._reply(*_google_error(404, "NOT_FOUND", f"No such endpoint: POST {path}")[:2])

    def _reply(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status, HTTPStatus(status).phrase)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self._headers_buffer.append(b"\r\n")  # end_headers() without its separate flush
        self.wfile.write(b"".join(self._headers_buffer) + payload)
        self._headers_buffer = []


class FakeFcmProcess:
    """A :class:`FakeFcm` in a child process (``python -m tests.fakes.fake_fcm DIR``), so it has
    its own GIL as Google's endpoint would; trusts a fresh service account at :attr:`service_account`."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        root = Path(__file__).resolve().parent.parent.parent
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.fake_fcm", str(workdir)],
            cwd=root,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()  # blocks until the child has started
        if not line.startswith("http://"):
            self.stop()
            raise RuntimeError(f"fake FCM did not start: {line!r}")
        self.base_url = line
        self.service_account = workdir / "service-account.json"

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the fake has used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def __enter__(self) -> FakeFcmProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _serve_forever(workdir: Path) -> None:
    fake = FakeFcm().start()
    shutil.copy(fake.service_account(workdir), workdir / "service-account.json")
    print(fake.base_url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    _serve_forever(Path(sys.argv[1]))
