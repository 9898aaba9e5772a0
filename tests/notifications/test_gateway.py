"""The push gateway against the real firebase-admin SDK and a local fake FCM/OAuth server."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from firebase_admin import messaging

from backend.notifications.gateway import (
    FcmGateway,
    LogGateway,
    PushGateway,
    PushMessage,
    build_fcm_message,
    make_gateway,
)
from tests.fakes.fake_fcm import GOOGLE_TOKEN_AUDIENCE, FakeFcm, make_service_account

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly if anything (SDK, google-auth) tries to reach beyond 127.0.0.1."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in _LOCAL_HOSTS:
            raise OSError(f"test tried to resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and address[0] not in _LOCAL_HOSTS:
            raise OSError(f"test tried to connect to {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def fake() -> Iterator[FakeFcm]:
    with FakeFcm() as server:
        yield server


@pytest.fixture
def sa_path(fake: FakeFcm, tmp_path: Path) -> Path:
    return fake.service_account(tmp_path)


@pytest.fixture
def gateway(fake: FakeFcm, sa_path: Path) -> Iterator[FcmGateway]:
    """Gateway with the default retry policy but a tiny backoff, to keep the suite fast."""
    with FcmGateway(str(sa_path), fcm_endpoint=fake.base_url, http_backoff_s=0.01) as gw:
        yield gw


def chat(token: str, **kw: Any) -> PushMessage:
    return PushMessage(token=token, kind="chat", title="New message", body="hi", **kw)


# -- success and payload shape -------------------------------------------------------------------


def test_chat_message_is_recorded_with_token_data_and_collapse_key(
    gateway: FcmGateway, fake: FakeFcm
) -> None:
    [outcome] = gateway.send_batch([chat("tok-a", data={"conversation": "c1"}, collapse_key="conv:c1")])

    assert outcome.status == "sent" and outcome.error is None
    [record] = fake.messages
    assert outcome.message_id == record["name"]
    assert record["name"].startswith("projects/fieldsync-test/messages/")
    msg = record["message"]
    assert msg["token"] == "tok-a"
    assert msg["data"] == {"kind": "chat", "conversation": "c1"}
    assert msg["notification"] == {"title": "New message", "body": "hi"}
    assert msg["android"] == {"priority": "high", "collapse_key": "conv:c1"}
    assert msg["apns"]["headers"] == {
        "apns-push-type": "alert",
        "apns-priority": "10",
        "apns-collapse-id": "conv:c1",
    }


def test_sync_tickle_is_data_only_and_collapses(gateway: FcmGateway, fake: FakeFcm) -> None:
    tickle = PushMessage(
        token="tok-s",
        kind="sync",
        title="ignored",
        data={"scope": "orders"},
        collapse_key="sync:u42",
        ttl_s=600,
    )
    before = int(time.time())
    assert gateway.send_batch([tickle])[0].status == "sent"

    [msg] = fake.messages_for("tok-s")
    assert "notification" not in msg
    assert msg["data"] == {"kind": "sync", "scope": "orders"}
    assert msg["android"] == {"priority": "normal", "collapse_key": "sync:u42", "ttl": "600s"}
    headers = msg["apns"]["headers"]
    assert headers["apns-collapse-id"] == "sync:u42"
    assert headers["apns-push-type"] == "background" and headers["apns-priority"] == "5"
    assert before + 600 <= int(headers["apns-expiration"]) <= int(time.time()) + 600
    assert msg["apns"]["payload"] == {"aps": {"content-available": 1}}


def test_build_fcm_message_ttl_zero_means_now_or_never() -> None:
    payload = json.loads(str(build_fcm_message(PushMessage(token="t", kind="alert", body="x", ttl_s=0))))
    assert payload["apns"]["headers"]["apns-expiration"] == "0"
    assert payload["android"]["ttl"] == "0s"


# -- OAuth -----------------------------------------------------------------------------------------


def test_oauth_token_endpoint_called_once_with_valid_signed_assertion(
    gateway: FcmGateway, fake: FakeFcm, sa_path: Path
) -> None:
    outcomes = gateway.send_batch([chat(f"tok-{i}") for i in range(50)])

    assert {o.status for o in outcomes} == {"sent"}
    assert fake.token_requests == 1  # pre-refreshed once, not once per SDK worker thread
    assert fake.token_rejections == []
    [claims] = fake.token_grants  # signature verified with the account's public key by the fake
    info = json.loads(sa_path.read_text())
    assert claims["iss"] == info["client_email"]
    assert info["token_uri"] == fake.token_uri  # where google-auth posted the grant
    assert claims["aud"] == GOOGLE_TOKEN_AUDIENCE  # what google-auth always signs
    assert "https://www.googleapis.com/auth/cloud-platform" in claims["scope"].split()
    assert fake.auth_failures == 0


def test_assertion_signed_by_an_untrusted_key_is_rejected(fake: FakeFcm, tmp_path: Path) -> None:
    rogue = make_service_account(tmp_path, fake.token_uri)  # never passed to fake.trust()
    with FcmGateway(str(rogue), fcm_endpoint=fake.base_url) as gw:
        [outcome] = gw.send_batch([chat("tok-a")])

    assert (outcome.status, outcome.error) == ("failed", "AUTH_REFRESH_FAILED")
    assert fake.token_requests == 1 and fake.token_rejections == ["Invalid JWT Signature."]
    assert fake.send_requests == 0


def test_revoked_access_token_is_refreshed_by_the_sdk(gateway: FcmGateway, fake: FakeFcm) -> None:
    assert gateway.send_batch([chat("tok-1")])[0].status == "sent"
    fake.revoke_access_tokens()

    assert gateway.send_batch([chat("tok-2")])[0].status == "sent"
    assert fake.auth_failures == 1  # 401, then google-auth refreshed and replayed the request
    assert fake.token_requests == 2
    assert len(fake.messages) == 2


# -- error mapping ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "status", "error", "attempts"),
    [
        ("unreg-1", "unregistered", "UNREGISTERED", 1),
        ("invalid-1", "invalid", "INVALID_ARGUMENT", 1),
        ("quota-1", "retry", "QUOTA_EXCEEDED", 1),
        ("unavail-1", "retry", "UNAVAILABLE", 3),  # 1 + 2 HTTP-level retries inside the SDK
        ("internal-1", "retry", "INTERNAL", 3),
        ("mismatch-1", "invalid", "SENDER_ID_MISMATCH", 1),
        ("apnsauth-1", "failed", "THIRD_PARTY_AUTH_ERROR", 3),  # a 401: google-auth refreshes twice
    ],
)
def test_fcm_errors_map_to_outcomes(
    gateway: FcmGateway, fake: FakeFcm, token: str, status: str, error: str, attempts: int
) -> None:
    [outcome] = gateway.send_batch([chat(token)])

    assert (outcome.token, outcome.status, outcome.error, outcome.message_id) == (token, status, error, None)
    assert fake.attempts_for(token) == attempts
    assert fake.messages == []


def test_mixed_batch_keeps_input_order(gateway: FcmGateway, fake: FakeFcm) -> None:
    tokens = ["ok-1", "unreg-x", "ok-2", "invalid-x", "quota-x", "ok-3"]
    outcomes = gateway.send_batch([chat(t) for t in tokens])

    assert [o.token for o in outcomes] == tokens
    assert [o.status for o in outcomes] == ["sent", "unregistered", "sent", "invalid", "retry", "sent"]
    assert sorted(m["message"]["token"] for m in fake.messages) == ["ok-1", "ok-2", "ok-3"]


def test_messages_rejected_client_side_are_not_sent(gateway: FcmGateway, fake: FakeFcm) -> None:
    bad_data = PushMessage(token="tok-b", kind="chat", data={"n": 1})  # type: ignore[dict-item]
    outcomes = gateway.send_batch([PushMessage(token="", kind="sync"), bad_data, chat("tok-ok")])

    assert [(o.status, (o.error or "").split(":")[0]) for o in outcomes] == [
        ("invalid", "EMPTY_TOKEN"),
        ("failed", "INVALID_MESSAGE"),
        ("sent", ""),
    ]
    assert fake.send_requests == 1


def test_persistent_unavailable_with_default_retry_policy_ends_as_retry(fake: FakeFcm, sa_path: Path) -> None:
    fake.fail("tok-down", "UNAVAILABLE", retry_after=30)
    with FcmGateway(str(sa_path), fcm_endpoint=fake.base_url) as gw:  # backoff 0.5 s, 2 retries
        started = time.monotonic()
        [outcome] = gw.send_batch([chat("tok-down")])

    assert (outcome.status, outcome.error, outcome.retry_after_s) == ("retry", "UNAVAILABLE", 30.0)
    assert fake.attempts_for("tok-down") == 3
    assert time.monotonic() - started < 5  # Retry-After is surfaced, not slept on


# -- fail N times, then succeed --------------------------------------------------------------------


def test_unavailable_once_is_absorbed_by_the_sdk_http_retry(gateway: FcmGateway, fake: FakeFcm) -> None:
    fake.fail("tok-blip", "UNAVAILABLE", times=1)

    [outcome] = gateway.send_batch([chat("tok-blip")])

    assert outcome.status == "sent"
    assert fake.attempts_for("tok-blip") == 2  # 503, then 200 on the SDK's own retry
    assert len(fake.messages_for("tok-blip")) == 1


def test_unavailable_beyond_http_retries_needs_a_resend(gateway: FcmGateway, fake: FakeFcm) -> None:
    fake.fail("tok-flaky", "UNAVAILABLE", times=4)

    assert gateway.send_batch([chat("tok-flaky")])[0].status == "retry"  # 3 attempts used up
    assert fake.attempts_for("tok-flaky") == 3
    assert gateway.send_batch([chat("tok-flaky")])[0].status == "sent"  # 503, then 200
    assert fake.attempts_for("tok-flaky") == 5
    assert len(fake.messages_for("tok-flaky")) == 1


def test_quota_exceeded_once_is_not_retried_by_the_sdk(gateway: FcmGateway, fake: FakeFcm) -> None:
    fake.fail("tok-q", "QUOTA_EXCEEDED", times=1, retry_after=7)

    first = gateway.send_batch([chat("tok-q")])[0]
    assert (first.status, first.error, first.retry_after_s) == ("retry", "QUOTA_EXCEEDED", 7.0)
    assert fake.attempts_for("tok-q") == 1
    assert gateway.send_batch([chat("tok-q")])[0].status == "sent"
    assert fake.attempts_for("tok-q") == 2


def test_without_http_retries_every_unavailable_surfaces(fake: FakeFcm, sa_path: Path) -> None:
    fake.fail("tok-u", "UNAVAILABLE", times=1)
    with FcmGateway(str(sa_path), fcm_endpoint=fake.base_url, http_retries=0) as gw:
        assert gw.send_batch([chat("tok-u")])[0].status == "retry"
        assert gw.send_batch([chat("tok-u")])[0].status == "sent"
    assert fake.attempts_for("tok-u") == 2


# -- batching --------------------------------------------------------------------------------------


def test_1200_messages_go_out_in_send_each_calls_of_at_most_500(
    gateway: FcmGateway, fake: FakeFcm, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    real_send_each = messaging.send_each

    def spy(messages: list[messaging.Message], *args: Any, **kwargs: Any) -> messaging.BatchResponse:
        sizes.append(len(messages))
        return real_send_each(messages, *args, **kwargs)

    monkeypatch.setattr(messaging, "send_each", spy)
    tokens = [f"dev-{i:04d}" for i in range(1200)]

    outcomes = gateway.send_batch([PushMessage(token=t, kind="sync", collapse_key="sync:u1") for t in tokens])

    assert sizes == [500, 500, 200]
    assert [o.token for o in outcomes] == tokens
    assert all(o.status == "sent" for o in outcomes)
    assert sorted(m["message"]["token"] for m in fake.messages) == tokens
    assert len({o.message_id for o in outcomes}) == 1200
    assert fake.token_requests == 1


def test_send_each_calls_reuse_their_connections(fake: FakeFcm, sa_path: Path) -> None:
    """send_each runs one thread per message; the pool keeps a connection for each of them, so the
    next calls reconnect for nothing (with fewer pooled connections than threads urllib3 drops
    the surplus after every call)."""
    with FcmGateway(str(sa_path), fcm_endpoint=fake.base_url, batch_size=250) as gateway:
        gateway.send_batch([chat("warm-up")])  # OAuth token first (its own connection)
        fake.reset()
        fake.latency_s = 0.3  # a round trip long enough for all 250 threads of a call to overlap
        outcomes = gateway.send_batch([chat(f"pooled-{i}") for i in range(750)])  # 3 calls of 250
    assert [o.status for o in outcomes] == ["sent"] * 750
    assert fake.send_requests == 750
    assert fake.connections <= 250


def test_batch_size_must_be_within_fcm_limit(sa_path: Path) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        FcmGateway(str(sa_path), batch_size=501)


# -- app lifecycle and factory ---------------------------------------------------------------------


def test_gateways_for_two_projects_coexist(fake: FakeFcm, tmp_path: Path) -> None:
    a = fake.service_account(tmp_path, project_id="proj-a")
    b = fake.service_account(tmp_path, project_id="proj-b")
    with (
        FcmGateway(str(a), fcm_endpoint=fake.base_url, app_name="push-a") as gw_a,
        FcmGateway(str(b), fcm_endpoint=fake.base_url) as gw_b,
    ):
        assert gw_a.app.name == "push-a" and gw_b.app.name != gw_a.app.name
        assert gw_a.send_batch([chat("t1")])[0].status == "sent"
        assert gw_b.send_batch([chat("t2")])[0].status == "sent"
    assert sorted(m["project"] for m in fake.messages) == ["proj-a", "proj-b"]
    assert fake.token_requests == 2


def test_default_endpoint_is_google(sa_path: Path) -> None:
    with FcmGateway(str(sa_path)) as gw:
        assert gw.send_url == "https://fcm.googleapis.com/v1/projects/fieldsync-test/messages:send"


async def test_used_from_asyncio_via_thread_and_closed_inside_the_loop(fake: FakeFcm, sa_path: Path) -> None:
    gw = FcmGateway(str(sa_path), fcm_endpoint=fake.base_url)
    outcomes = await asyncio.to_thread(gw.send_batch, [chat("tok-async")])
    gw.close()  # the SDK's close() uses asyncio.run(); must not blow up inside a running loop

    assert outcomes[0].status == "sent"
    with pytest.raises(RuntimeError, match="closed"):
        gw.send_batch([chat("tok-async")])


def test_make_gateway_picks_implementation(fake: FakeFcm, sa_path: Path) -> None:
    assert isinstance(make_gateway(None), LogGateway)
    gw = make_gateway(str(sa_path), fcm_endpoint=fake.base_url)
    try:
        assert isinstance(gw, FcmGateway)
    finally:
        gw.close()


# -- LogGateway ------------------------------------------------------------------------------------


def test_log_gateway_logs_and_reports_sent(caplog: pytest.LogCaptureFixture) -> None:
    gw: PushGateway = LogGateway()
    messages = [chat("abcdefghijklmnopqrstuvwxyz"), PushMessage(token="short", kind="sync")]

    with caplog.at_level(logging.INFO, logger="fieldsync.push"):
        outcomes = gw.send_batch(messages)

    assert [o.status for o in outcomes] == ["sent", "sent"]
    assert all(o.message_id and o.message_id.startswith("log/") for o in outcomes)
    records = [r for r in caplog.records if r.name == "fieldsync.push"]
    assert len(records) == 2
    assert "kind=chat" in records[0].getMessage() and "abcdefgh…" in records[0].getMessage()
    assert "abcdefghijklmnopqrstuvwxyz" not in records[0].getMessage()  # token redacted
    assert "kind=sync" in records[1].getMessage()
