"""The WebSocket against a real server: delivery, isolation, typing, read markers, pull hints."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest
import websockets

from tests.messaging.conftest import LiveServer
from tests.messaging.wsclient import Socket


async def _token(server: LiveServer, username: str) -> str:
    return (await server.login(username))["access_token"]


async def test_message_reaches_members_and_never_outsiders(live_server: LiveServer, network) -> None:
    sup_h = await live_server.headers("supplier-a")
    dist = await Socket.open(live_server.ws_url, await _token(live_server, "dist-north"))
    sup = await Socket.open(live_server.ws_url, await _token(live_server, "supplier-a"))
    outsider = await Socket.open(live_server.ws_url, await _token(live_server, "dist-south"), via_query=True)
    created = await live_server.http.post(
        "/conversations",
        json={"kind": "direct", "member_ids": [network.user("dist-north").id]},
        headers=sup_h,
    )
    assert created.status_code == 201, created.text
    conv_id = created.json()["id"]
    await dist.wait_for(lambda e: e["type"] == "member.added" and e["conversation_id"] == conv_id)

    sent = await live_server.http.post(
        f"/conversations/{conv_id}/messages", json={"client_message_id": "m1", "body": "hello"}, headers=sup_h
    )
    assert sent.status_code == 201, sent.text
    event = await dist.wait_for(lambda e: e["type"] == "message")
    assert event["message"]["body"] == "hello" and event["message"]["seq"] == 1

    # An offline phone's message arrives through sync push and is broadcast the same way.
    pushed = await live_server.http.post(
        "/sync/v1/push",
        json={
            "client_id": "t-dist-north",
            "protocol": 1,
            "mutations": [
                {
                    "id": "mut-1",
                    "seq": 1,
                    "name": "message.send",
                    "args": {
                        "conversation_id": conv_id,
                        "client_message_id": "0f" * 16,
                        "body": "from the basement",
                    },
                }
            ],
        },
        headers=await live_server.headers("dist-north"),
    )
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["results"][0]["status"] == "applied", pushed.text
    synced = await sup.wait_for(lambda e: e["type"] == "message" and e["message"]["seq"] == 2)
    assert synced["message"]["body"] == "from the basement"
    await dist.send({"type": "typing", "conversation_id": conv_id})
    typing = await sup.wait_for(lambda e: e["type"] == "typing")
    assert typing == {"type": "typing", "conversation_id": conv_id, "user_id": network.user("dist-north").id}
    await sup.send({"type": "read", "conversation_id": conv_id, "seq": 2})
    await dist.wait_for(lambda e: e["type"] == "read" and e["seq"] == 2)
    # A socket cannot type into, or mark, a conversation it is not in.
    await outsider.send({"type": "typing", "conversation_id": conv_id})
    assert (await outsider.wait_for(lambda e: e["type"] == "error"))["code"] == "bad_message"
    leaked = [e for e in await outsider.drain(0.5) + outsider.seen if e.get("conversation_id") == conv_id]
    assert leaked == []
    listing = await live_server.http.get("/conversations", headers=await live_server.headers("dist-north"))
    assert listing.json()[0]["unread"] == 0

    # "Pull now": changing dist-north's user row touches user:<dist-north> and org:<its organisation>.
    await outsider.drain(0.1)
    response = await live_server.http.patch(
        f"/admin/users/{network.user('dist-north').id}",
        json={"display_name": "North Desk"},
        headers=await live_server.headers("admin"),
    )
    assert response.status_code == 200, response.text
    await dist.wait_for(lambda e: e["type"] == "pull")
    assert [e for e in await outsider.drain(0.4) if e["type"] == "pull"] == []
    for sock in (dist, sup, outsider):
        await sock.close()


async def test_rest_errors_have_stable_codes(live_server: LiveServer, network, settings) -> None:
    sup_h = await live_server.headers("supplier-a")
    south_h = await live_server.headers("dist-south")
    conv = (
        await live_server.http.post(
            "/conversations",
            json={"kind": "direct", "member_ids": [network.user("dist-north").id]},
            headers=sup_h,
        )
    ).json()
    post = live_server.http.post
    too_long = await post(
        f"/conversations/{conv['id']}/messages",
        json={"client_message_id": "x", "body": "x" * 4001},
        headers=sup_h,
    )
    assert (too_long.status_code, too_long.json()["code"]) == (413, "message_too_long")
    outsider = await post(
        f"/conversations/{conv['id']}/messages",
        json={"client_message_id": "x", "body": "hi"},
        headers=south_h,
    )
    assert (outsider.status_code, outsider.json()["code"]) == (403, "not_a_member")
    hidden = await live_server.http.get(f"/conversations/{conv['id']}/messages", headers=south_h)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "conversation_not_found")
    missing = await post(
        "/conversations/nope/messages", json={"client_message_id": "x", "body": "hi"}, headers=sup_h
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "conversation_not_found")
    unknown = await post(
        f"/conversations/{conv['id']}/messages",
        json={"client_message_id": "x", "body": "hi", "x": 1},
        headers=sup_h,
    )
    assert unknown.status_code == 400
    foreign = await post(
        "/conversations",
        json={"kind": "direct", "member_ids": [network.user("dist-north").id]},
        headers=south_h,
    )
    assert (foreign.status_code, foreign.json()["code"]) == (403, "cannot_contact")
    agent_only = await live_server.http.get("/support/queue", headers=south_h)
    assert (agent_only.status_code, agent_only.json()["code"]) == (403, "not_a_support_agent")
    with pytest.raises(PermissionError, match="token_invalid"):
        await Socket.open(live_server.ws_url, "not-a-token")
    # A socket lives as long as its access token.
    tokens = await live_server.login("dist-south")
    now = int(time.time())
    claims = {
        "sub": tokens["user"]["id"],
        "did": tokens["device_id"],
        "iat": now,
        "exp": now + 2,
        "aud": "fieldsync",
    }
    short = await Socket.open(live_server.ws_url, jwt.encode(claims, settings.secret_key, algorithm="HS256"))
    expired = await short.wait_for(lambda e: e["type"] == "error", timeout=5)
    assert expired["code"] == "token_expired"


async def test_revoking_a_device_closes_its_live_socket_at_once(live_server: LiveServer, network) -> None:
    """A signed-out phone does not keep listening until its access token runs out."""
    phone_tokens = await live_server.login("dist-north", client_id="revoked-phone")
    tablet_tokens = await live_server.login("dist-north", client_id="kept-tablet")
    phone = await Socket.open(live_server.ws_url, phone_tokens["access_token"])
    tablet = await Socket.open(live_server.ws_url, tablet_tokens["access_token"])
    admin_h = await live_server.headers("admin")

    revoked = await live_server.http.post(f"/devices/{phone_tokens['device_id']}/revoke", headers=admin_h)
    assert revoked.status_code == 200, revoked.text

    closed = await phone.wait_for(lambda e: e["type"] == "error", timeout=5)
    assert closed["code"] == "device_revoked"
    with pytest.raises(websockets.ConnectionClosed) as info:
        await asyncio.wait_for(phone.conn.recv(), 5)
    assert info.value.rcvd is not None and info.value.rcvd.code == 4401
    # The user's other device stays connected, and the revoked token cannot open a new socket.
    notice = await tablet.wait_for(lambda e: e["type"] == "device.revoked", timeout=5)
    assert notice["device_id"] == phone_tokens["device_id"]
    await tablet.conn.ping()
    with pytest.raises(PermissionError, match="device_revoked"):
        await Socket.open(live_server.ws_url, phone_tokens["access_token"])
    await tablet.conn.close()
