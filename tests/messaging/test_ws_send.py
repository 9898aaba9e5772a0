"""Messages sent over the WebSocket (stored in batches, answered after commit) and a slow
consumer that never reads, against a real server."""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlsplit

from backend.messaging import service
from backend.messaging.errors import NotAMember
from tests.messaging.conftest import LiveServer
from tests.messaging.helpers import actor
from tests.messaging.wsclient import Socket


async def _open(server: LiveServer, username: str) -> Socket:
    return await Socket.open(server.ws_url, (await server.login(username))["access_token"])


async def _conversation(server: LiveServer, owner: str, kind: str, member_ids: list[str]) -> str:
    created = await server.http.post(
        "/conversations", json={"kind": kind, "member_ids": member_ids}, headers=await server.headers(owner)
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_send_over_the_socket_is_answered_after_it_is_stored(live_server: LiveServer, network) -> None:
    conv_id = await _conversation(live_server, "supplier-a", "direct", [network.user("dist-north").id])
    other_id = await _conversation(live_server, "supplier-b", "direct", [network.user("dist-south").id])
    sup = await _open(live_server, "supplier-a")
    dist = await _open(live_server, "dist-north")
    dist_h = await live_server.headers("dist-north")

    # Twenty sends without waiting: answered in order, one seq each, without gaps.
    for n in range(20):
        await sup.send(
            {"type": "send", "conversation_id": conv_id, "client_message_id": f"w{n}", "body": f"hi {n}"}
        )
    acks = []
    for _ in range(20):
        ack = await sup.wait_for(lambda e: e["type"] in ("sent", "error"))
        assert ack["type"] == "sent", ack
        if not acks:  # once answered, it is stored: anyone reading the conversation sees it
            stored = await live_server.http.get(f"/conversations/{conv_id}/messages", headers=dist_h)
            assert ack["message"]["id"] in [m["id"] for m in stored.json()]
        acks.append(ack)
    assert [a["client_message_id"] for a in acks] == [f"w{n}" for n in range(20)]
    assert [a["message"]["seq"] for a in acks] == list(range(1, 21))
    received = []
    while len(received) < 20:
        received.append(await dist.wait_for(lambda e: e["type"] == "message"))
    assert [e["message"]["body"] for e in received] == [f"hi {n}" for n in range(20)]

    # The same client id again is the same message; refusals carry the client id and a code.
    await sup.send({"type": "send", "conversation_id": conv_id, "client_message_id": "w3", "body": "again"})
    again = await sup.wait_for(lambda e: e["type"] in ("sent", "error"))
    assert again["type"] == "sent" and again["message"]["id"] == acks[3]["message"]["id"]
    refusals = [
        ({"conversation_id": other_id, "client_message_id": "x1", "body": "psst"}, "not_a_member"),
        ({"conversation_id": "nope", "client_message_id": "x2", "body": "hm"}, "conversation_not_found"),
        ({"conversation_id": conv_id, "client_message_id": "x3", "body": "x" * 4001}, "message_too_long"),
        ({"conversation_id": conv_id, "client_message_id": "x4", "body": "   "}, "empty_message"),
        ({"conversation_id": conv_id, "client_message_id": "x5", "body": 7}, "bad_message"),
        # U+0000 is refused at the input boundary (backend/bounds.py) like in any HTTP body (issue 12)
        ({"conversation_id": conv_id, "client_message_id": "x6", "body": "a\x00b"}, "invalid_request"),
    ]
    for frame, code in refusals:
        await sup.send({"type": "send", **frame})
        error = await sup.wait_for(lambda e: e["type"] in ("sent", "error"))
        assert (error["type"], error["code"], error["client_message_id"]) == (
            "error",
            code,
            frame["client_message_id"],
        )
    nul = await live_server.http.post(  # over HTTP too: a stable code, never a 500 (PostgreSQL)
        f"/conversations/{conv_id}/messages",
        json={"client_message_id": "h1", "body": "a\x00b"},
        headers=await live_server.headers("supplier-a"),
    )
    assert (nul.status_code, nul.json()["code"]) == (400, "invalid_request")
    await sup.send({"type": "send", "conversation_id": conv_id, "client_message_id": "w20", "body": "after"})
    last = await sup.wait_for(lambda e: e["type"] in ("sent", "error"))
    assert last["type"] == "sent" and last["message"]["seq"] == 21
    stored = await live_server.http.get(f"/conversations/{conv_id}/messages", headers=dist_h)
    assert [m["seq"] for m in stored.json()] == list(range(1, 22))
    for s in (sup, dist):
        await s.close()


async def test_a_send_moves_the_senders_read_marker_announced_by_the_message_event(
    live_server: LiveServer, network
) -> None:
    """The sender's read marker moves with the send and reaches the sync pull, but the sender
    gets no ``pull`` hint for it: the ``message`` event announces the conversation."""
    conv_id = await _conversation(live_server, "supplier-a", "direct", [network.user("dist-north").id])
    sup = await _open(live_server, "supplier-a")
    dist = await _open(live_server, "dist-north")
    await dist.send({"type": "send", "conversation_id": conv_id, "client_message_id": "d1", "body": "hello"})
    await sup.wait_for(lambda e: e["type"] == "message" and e["message"]["seq"] == 1)
    await sup.send({"type": "send", "conversation_id": conv_id, "client_message_id": "s1", "body": "hi"})
    sent = await sup.wait_for(lambda e: e["type"] in ("sent", "error"))
    assert sent["type"] == "sent" and sent["message"]["seq"] == 2, sent
    own = lambda e: e["type"] == "message" and e["message"]["seq"] == 2  # noqa: E731
    if not any(own(e) for e in sup.seen):  # the event may come before the answer
        await sup.wait_for(own)
    assert [e for e in await sup.drain(0.4) + sup.seen if e["type"] == "pull"] == []

    sup_h = await live_server.headers("supplier-a")
    listing = await live_server.http.get("/conversations", headers=sup_h)
    assert [(c["id"], c["unread"]) for c in listing.json()] == [(conv_id, 0)]
    changes, cursor = [], None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = await live_server.http.get("/sync/v1/pull", params=params, headers=sup_h)
        assert page.status_code == 200, page.text
        changes += page.json()["changes"]
        cursor = page.json()["cursor"]
        if not page.json()["has_more"]:
            break
    markers = {
        (c["scope"], c["data"]["user_id"]): c["data"]["last_read_seq"]
        for c in changes
        if c["entity"] == "conversation_member" and c["data"]["conversation_id"] == conv_id
    }
    sup_id = network.user("supplier-a").id
    assert markers[(f"conv:{conv_id}", sup_id)] == 2
    assert markers[(f"user:{sup_id}", sup_id)] == 2
    assert {c["data"]["seq"] for c in changes if c["entity"] == "message"} >= {1, 2}
    for s in (sup, dist):
        await s.close()


async def _silent_socket(server: LiveServer, token: str) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads a byte."""
    url = urlsplit(server.base_url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (url.hostname, url.port))
    request = (
        f"GET /ws HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += await loop.sock_recv(sock, 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


async def test_a_consumer_that_never_reads_does_not_hold_up_the_others(
    live_server: LiveServer, network
) -> None:
    conv_id = await _conversation(
        live_server,
        "dist-north",
        "group",
        [network.user("field-north").id, network.user("inspector-north").id],
    )
    silent = await _silent_socket(live_server, (await live_server.login("inspector-north"))["access_token"])
    sender = await _open(live_server, "dist-north")
    reader = await _open(live_server, "field-north")
    # ~4 MB for each member: far more than the silent socket's buffers hold, so the server's
    # writes to it stall long before the end; the reader must get every message all the same.
    count, body = 1000, "y" * 4000
    for n in range(count):
        await sender.send(
            {"type": "send", "conversation_id": conv_id, "client_message_id": f"s{n}", "body": body}
        )
    seqs = []
    while len(seqs) < count:
        event = await reader.wait_for(lambda e: e["type"] == "message", timeout=60)
        seqs.append(event["message"]["seq"])
    assert seqs == list(range(1, count + 1))
    silent.close()
    for s in (sender, reader):
        await s.close()


async def test_one_refused_send_in_a_batch_does_not_sink_the_others(session_factory, network) -> None:
    sup, dist, outsider = (
        actor(network, "supplier-a"),
        actor(network, "dist-north"),
        actor(network, "dist-south"),
    )
    async with session_factory() as s, s.begin():
        conv = await service.create_conversation(s, sup, kind="direct", member_ids=[dist.user_id])
    requests = [
        service.SendRequest(sup, conv.id, "b1", "one"),
        service.SendRequest(outsider, conv.id, "b2", "not mine"),
        service.SendRequest(dist, conv.id, "b3", ""),
        service.SendRequest(dist, conv.id, "b4", "two"),
        service.SendRequest(sup, conv.id, "b1", "one, again"),
        service.SendRequest(sup, conv.id, "", "no id"),
    ]
    async with session_factory() as s, s.begin():
        results = await service.send_messages(s, requests)
    assert [getattr(r, "seq", None) for r in results] == [1, None, None, 2, 1, None]
    assert isinstance(results[1], NotAMember)
    assert [getattr(r, "code", None) for r in results] == [
        None,
        "not_a_member",
        "empty_message",
        None,
        None,
        "invalid_client_message_id",
    ]
    assert results[4] is results[0]
    async with session_factory() as s:
        stored = await service.list_messages(s, sup, conv.id)
        assert [(m.seq, m.body) for m in stored] == [(1, "one"), (2, "two")]
        assert (await service.membership(s, conv.id, dist.user_id)).last_read_seq == 2
        assert (await service.membership(s, conv.id, sup.user_id)).last_read_seq == 1
