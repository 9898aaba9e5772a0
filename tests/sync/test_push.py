"""Push: exactly once, in seq order, one savepoint per mutation, every mutation acknowledged."""

from __future__ import annotations

import json

import msgspec
from sqlalchemy import func, select

from backend.errors import Conflict, InvalidInput
from backend.identity import User
from backend.syncstate import SyncMutation
from sync.mutations import REGISTRY, Args, mutation
from tests.factories import auth_headers


class FailAfterWrite(Args):
    display_name: str
    fail: str = "invalid"


if "test.write_then_fail" not in REGISTRY:

    @mutation("test.write_then_fail", FailAfterWrite)
    async def _write_then_fail(ctx, args):
        """Renames the caller, then refuses: the savepoint must undo the rename."""
        user = await ctx.session.get(User, ctx.actor.user_id)
        user.display_name = args.display_name
        await ctx.session.flush()
        if args.fail == "conflict":
            raise Conflict("someone else won", code="test_conflict", details={"x": 1})
        if args.fail == "crash":
            raise RuntimeError("a bug in a handler")
        raise InvalidInput("not today", code="test_refused")


def _m(seq, name="profile.update", mid=None, **args):
    return {"id": mid or f"m{seq}", "seq": seq, "name": name, "args": args}


async def _push(client, headers, mutations, *, client_id="test-phone", protocol=1):
    body = {"client_id": client_id, "protocol": protocol, "mutations": mutations}
    return await client.post("/sync/v1/push", json=body, headers=headers)


async def _display_name(session_factory, network, username="field-north"):
    async with session_factory() as session:
        return (await session.get(User, network.user(username).id)).display_name


async def _stored(session_factory):
    async with session_factory() as session:
        return (await session.execute(select(func.count()).select_from(SyncMutation))).scalar_one()


class TestExactlyOnce:
    async def test_a_retried_mutation_id_is_a_duplicate_with_its_stored_result(
        self, client, network, session_factory
    ):
        h = await auth_headers(client, "field-north")
        first = (await _push(client, h, [_m(1, display_name="Once")])).json()
        assert first["results"][0] == {"id": "m1", "seq": 1, "status": "applied", "data": {"version": 2}}
        again = (await _push(client, h, [_m(1, display_name="Once")])).json()
        assert again["results"][0]["status"] == "duplicate"
        assert again["results"][0]["original_status"] == "applied"
        assert again["results"][0]["data"] == {"version": 2}
        async with session_factory() as session:
            assert (await session.get(User, network.user("field-north").id)).version == 2

    async def test_a_reused_seq_is_never_applied_again(self, client, network, session_factory):
        """A new id under an acknowledged seq is refused as ``seq_reused``: not a ``duplicate``
        carrying the other mutation's result (issue 12; the phone would think it applied)."""
        h = await auth_headers(client, "field-north")
        await _push(client, h, [_m(1, display_name="First")])
        reply = (await _push(client, h, [_m(1, mid="other", display_name="Second")])).json()
        result = reply["results"][0]
        assert (result["id"], result["status"], result["code"]) == ("other", "rejected", "seq_reused")
        assert result["data"] == {"expected_seq": 2} and "original_status" not in result
        assert await _display_name(session_factory, network) == "First"

    async def test_an_applied_id_under_the_next_seq_is_acknowledged_as_id_reused(
        self, client, network, session_factory
    ):
        """The id already names seq 1: under seq 2 it is ``rejected`` ``id_reused`` and seq 2 is
        acknowledged (it was a ``duplicate`` naming seq 1, seq 2 never acknowledged: seq_gap forever)."""
        h = await auth_headers(client, "field-north")
        await _push(client, h, [_m(1, mid="same", display_name="First")])
        reply = (await _push(client, h, [_m(2, mid="same", display_name="Again")])).json()
        result = reply["results"][0]
        assert (result["seq"], result["status"], result["code"]) == (2, "rejected", "id_reused")
        assert result["data"] == {"seq": 1} and reply["last_applied_seq"] == 2
        after = (await _push(client, h, [_m(3, display_name="Third")])).json()
        assert after["results"][0]["status"] == "applied" and after["last_applied_seq"] == 3
        retried = (await _push(client, h, [_m(2, mid="same", display_name="Again")])).json()
        assert retried["results"][0]["code"] == "id_reused"  # the same answer, every time
        first = (await _push(client, h, [_m(1, mid="same", display_name="First")])).json()
        assert first["results"][0]["status"] == "duplicate" and first["results"][0]["data"] == {"version": 2}
        assert await _display_name(session_factory, network) == "Third"

    async def test_a_lost_reply_is_retried_without_applying_twice(self, client, network, session_factory):
        h = await auth_headers(client, "field-north")
        batch = [_m(1, display_name="A"), _m(2, display_name="B")]
        await _push(client, h, batch)  # the phone never sees this reply
        reply = (await _push(client, h, [*batch, _m(3, display_name="C")])).json()
        assert [r["status"] for r in reply["results"]] == ["duplicate", "duplicate", "applied"]
        assert reply["last_applied_seq"] == 3
        async with session_factory() as session:
            assert (await session.get(User, network.user("field-north").id)).version == 4
        assert await _stored(session_factory) == 3

    async def test_clients_and_users_have_separate_sequences(self, client, network):
        a = await auth_headers(client, "field-north")
        b = await auth_headers(client, "dist-north")
        assert (await _push(client, a, [_m(1, display_name="A")])).json()["results"][0]["status"] == "applied"
        assert (await _push(client, b, [_m(1, display_name="B")])).json()["results"][0]["status"] == "applied"
        other = await _push(client, a, [_m(1, display_name="A2")], client_id="tablet")
        assert other.json()["results"][0]["status"] == "applied"


class TestOrderAndGaps:
    async def test_mutations_apply_in_seq_order_whatever_the_batch_order(
        self, client, network, session_factory
    ):
        h = await auth_headers(client, "field-north")
        reply = (await _push(client, h, [_m(2, display_name="Second"), _m(1, display_name="First")])).json()
        assert [r["seq"] for r in reply["results"]] == [1, 2]
        assert await _display_name(session_factory, network) == "Second"

    async def test_a_gap_is_reported_and_nothing_after_it_is_applied(self, client, network, session_factory):
        h = await auth_headers(client, "field-north")
        reply = (await _push(client, h, [_m(1, display_name="One"), _m(3, display_name="Three")])).json()
        assert [r["status"] for r in reply["results"]] == ["applied", "rejected"]
        assert reply["results"][1]["code"] == "seq_gap"
        assert reply["expected_seq"] == 2 and reply["last_applied_seq"] == 1
        assert await _display_name(session_factory, network) == "One"
        # The gap mutation was not acknowledged: once seq 2 arrives, 3 applies.
        reply = (await _push(client, h, [_m(2, display_name="Two"), _m(3, display_name="Three")])).json()
        assert [r["status"] for r in reply["results"]] == ["applied", "applied"]
        assert await _display_name(session_factory, network) == "Three"


class TestSavepointsAndResults:
    async def test_a_rejected_mutation_is_undone_and_does_not_block_the_rest(
        self, client, network, session_factory
    ):
        h = await auth_headers(client, "field-north")
        reply = (
            await _push(
                client,
                h,
                [
                    _m(1, "test.write_then_fail", display_name="Never"),
                    _m(2, display_name="Kept"),
                    _m(3, "test.write_then_fail", display_name="Never", fail="conflict"),
                    _m(4, "test.write_then_fail", display_name="Never", fail="crash"),
                ],
            )
        ).json()
        statuses = [(r["status"], r.get("code")) for r in reply["results"]]
        assert statuses == [
            ("rejected", "test_refused"),
            ("applied", None),
            ("conflict", "test_conflict"),
            ("rejected", "internal_error"),
        ]
        assert reply["results"][2]["data"] == {"server": {"x": 1}, "kept": "server"}
        assert reply["last_applied_seq"] == 4  # rejected and conflicting ones are acknowledged too
        assert await _display_name(session_factory, network) == "Kept"
        again = (await _push(client, h, [_m(1, "test.write_then_fail", display_name="Never")])).json()
        assert again["results"][0]["status"] == "duplicate"
        assert again["results"][0]["original_status"] == "rejected"
        assert again["results"][0]["code"] == "test_refused"

    async def test_malformed_mutations_are_rejected_as_invalid(self, client, network):
        h = await auth_headers(client, "field-north")
        malformed = [
            (_m(1, "no.such.thing"), "unknown_mutation"),
            (_m(2, display_name=""), "invalid"),
            (_m(3, display_name=5), "invalid"),
            (_m(4, display_name="x", role="admin"), "invalid"),
            ({"id": "m5", "seq": 5, "name": "profile.update", "args": [1, 2]}, "invalid"),
        ]
        response = await _push(client, h, [m for m, _code in malformed])
        assert response.status_code == 200
        results = response.json()["results"]
        assert [(r["status"], r["code"]) for r in results] == [("rejected", code) for _m, code in malformed]
        assert all(r["message"] for r in results)
        assert response.json()["last_applied_seq"] == 5


MALFORMED_ENVELOPES = [
    b"{not json",
    b"[]",
    b'{"client_id": "p", "protocol": 1}',
    b'{"client_id": "p", "protocol": 1, "mutations": [{"id": "m1", "name": "x"}]}',
    b'{"client_id": "p", "protocol": 1, "mutations": [{"id": "m1", "seq": 0, "name": "x"}]}',
    b'{"client_id": "", "protocol": 1, "mutations": []}',
    b'{"client_id": "p", "protocol": 1, "mutations": [], "extra": 1}',
]


class TestEnvelope:
    async def test_a_malformed_envelope_is_a_400_with_the_error_shape(self, client, network):
        h = {**await auth_headers(client, "field-north"), "Content-Type": "application/json"}
        for body in MALFORMED_ENVELOPES:
            response = await client.post("/sync/v1/push", content=body, headers=h)
            assert response.status_code == 400, body
            assert set(response.json()) == {"code", "message", "details"}
            assert response.json()["code"] == "invalid_request"
        garbage = {**h, "Content-Type": "application/msgpack"}
        assert (await client.post("/sync/v1/push", content=b"\xc1\xff", headers=garbage)).status_code == 400

    async def test_an_old_protocol_gets_426_with_the_minimum(self, client, network):
        h = await auth_headers(client, "field-north")
        response = await _push(client, h, [_m(1, display_name="x")], protocol=0)
        assert response.status_code == 426
        assert response.json()["code"] == "upgrade_required"
        assert response.json()["details"]["min_protocol"] == 1

    async def test_a_batch_over_the_limit_is_413_and_nothing_is_applied(
        self, client, network, settings, session_factory
    ):
        h = await auth_headers(client, "field-north")
        batch = [_m(i, display_name=f"n{i}") for i in range(1, settings.sync_max_batch + 2)]
        response = await _push(client, h, batch)
        assert response.status_code == 413
        assert response.json()["code"] == "batch_too_large"
        assert await _stored(session_factory) == 0

    async def test_a_body_over_the_limit_is_413(self, client, network, settings):
        h = await auth_headers(client, "field-north")
        name = "x" * 190
        batch = [_m(i, display_name=name) for i in range(1, settings.max_body_bytes // 200 + 10)]
        response = await _push(client, h, batch)
        assert response.status_code == 413

    async def test_pushing_needs_a_signed_in_device(self, client, network):
        response = await _push(client, {}, [_m(1, display_name="x")])
        assert response.status_code == 401

    async def test_msgpack_in_and_out(self, client, network):
        h = await auth_headers(client, "field-north")
        body = msgspec.msgpack.encode(
            {"client_id": "p", "protocol": 1, "mutations": [_m(1, display_name="Packed")]}
        )
        response = await client.post(
            "/sync/v1/push",
            content=body,
            headers={**h, "Content-Type": "application/msgpack", "Accept": "application/msgpack"},
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/msgpack")
        assert msgspec.msgpack.decode(response.content)["results"][0]["status"] == "applied"


async def test_a_device_over_its_push_rate_gets_429_and_nothing_is_lost(
    app, client, network, session_factory
):
    app.state.settings = msgspec.structs.replace(app.state.settings, sync_mutations_per_minute=3)
    h = await auth_headers(client, "field-north")
    assert (await _push(client, h, [_m(1, display_name="a"), _m(2, display_name="b")])).status_code == 200
    refused = await _push(client, h, [_m(3, display_name="c"), _m(4, display_name="d")])
    assert refused.status_code == 429
    assert refused.json()["code"] == "sync_rate_limited"
    assert int(refused.headers["retry-after"]) > 0
    assert await _stored(session_factory) == 2


async def test_the_schema_publishes_every_mutations_arguments(client):
    response = await client.get("/sync/v1/schema")
    assert response.status_code == 200
    body = response.json()
    assert body["protocol"] == 1
    schema = body["mutations"]["profile.update"]["args"]
    assert schema["$ref"].endswith("/ProfileUpdate")
    assert body["$defs"]["ProfileUpdate"]["required"] == ["display_name"]
    json.dumps(body)
