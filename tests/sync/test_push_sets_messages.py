"""Property: a batch's ``message.send`` applied as a set gives exactly what one by one gives.

Random pushes from several phones (two of them one user): sends valid and refused (empty, too
long, bad or too many attachments, malformed arguments), client ids reused within and across
batches (the same conversation: the first message again; another: refused), conversations of
other people and ones that do not exist, mixed with read markers (which end a group), profile
renames (one group with the sends: a chat push names its sender), stock checks and orders
(which a group is moved across) and unknown mutations; batches resent whole or skipping a seq.
Members are offline (chat pushes owed), online or have muted the conversation. Each example
runs twice from one committed database, as the server does and one by one (``ONE_BY_ONE_KEY``),
with the helpers of ``test_push_sets``; both must give the same results, rows (messages,
members, conversations, the push outbox) and change feed. Message ids are minted per run, so
they are compared by (conversation, seq).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select

from backend.db import new_id
from backend.messaging import presence, support
from backend.messaging import service as messaging
from backend.messaging.models import Conversation, ConversationMember, Message
from backend.notifications import PushOutbox, PushPreference
from sync.batch import apply as set_apply
from tests.inventory.helpers import actor
from tests.sync import test_push_sets as push_sets
from tests.sync.test_push_sets import PHONES, _canon, _mutation, _prepared_world, _run

MISSING = "0" * 32


class Chats:
    """The conversations of the examples (by index), committed once."""

    ids: list[str]
    support_id: str


async def _prepare_chats(factory: Any, network: Any) -> Chats:
    """PHONES are field-north (two phones), inspector-north and dist-south: a direct conversation
    and a group of the north (dist-north muted it), dist-south's with the agent, and one none of
    the phones is in; dist-north is online, inspector-north takes no chat pushes."""
    chats = Chats()
    async with factory() as session:
        field, inspector, south, north, agent = (
            actor(network, n)
            for n in ("field-north", "inspector-north", "dist-south", "dist-north", "support")
        )

        async def conv(who: Any, kind: str, *others: Any) -> str:
            made = await messaging.create_conversation(
                session, who, kind=kind, member_ids=[o.user_id for o in others], title=kind
            )
            return made.id

        chats.ids = [
            await conv(field, "direct", inspector),
            await conv(field, "group", inspector, north),
            await conv(south, "direct", agent),
            await conv(north, "direct", agent),
        ]
        await messaging.send_message(
            session, field, conversation_id=chats.ids[0], client_message_id="k0", body="before"
        )
        await messaging.set_muted(session, north, conversation_id=chats.ids[1], muted=True)
        await presence.connected(session, user_id=north.user_id, node_id="test")
        session.add(PushPreference(user_id=inspector.user_id, chat_enabled=False, timezone="UTC"))
        opened = await support.open_support_conversation(
            session, field, subject="help", body="hello", client_message_id="s0"
        )
        chats.support_id = opened.id
        await session.commit()
    return chats


send = st.fixed_dictionaries(
    {
        "kind": st.just("send"),
        "conv": st.integers(0, 4),  # 4: a conversation that does not exist
        "client": st.sampled_from(["k0", "k1", "k2", None, None, None]),  # None: a fresh id
        "flavour": st.sampled_from(["ok"] * 8 + ["empty", "long", "photo", "bad_photo", "photos", "invalid"]),
    }
)
read = st.fixed_dictionaries({"kind": st.just("read"), "conv": st.integers(0, 3), "seq": st.integers(0, 4)})
other = st.one_of(
    st.fixed_dictionaries({"kind": st.just("profile"), "bad": st.booleans(), "same": st.booleans()}),
    push_sets.stock,
    st.fixed_dictionaries(
        {
            "kind": st.just("order"),
            "type": st.just("sales"),
            "terminal": st.integers(1, 2),
            "products": st.lists(st.sampled_from([0, 1, 2]), unique=True, min_size=1, max_size=2),
            "qty": st.integers(1, 5),
            "same": st.booleans(),
        }
    ),
    st.just({"kind": "unknown"}),
)
mutations = st.lists(st.one_of(send, send, send, send, read, other), min_size=1, max_size=10)
pushes = st.lists(
    st.tuples(st.integers(0, len(PHONES) - 1), mutations, st.sampled_from(["next"] * 6 + ["gap", "resend"])),
    min_size=1,
    max_size=4,
)


def _message_mutation(chats: Chats, item: dict[str, Any]) -> dict[str, Any]:
    conversation_id = (chats.ids + [MISSING])[item["conv"]]
    if item["kind"] == "read":
        return {
            "name": "message.read",
            "args": {"conversation_id": conversation_id, "up_to_seq": item["seq"]},
        }
    flavour = item["flavour"]
    args: dict[str, Any] = {
        "conversation_id": conversation_id,
        "client_message_id": item["client"] or new_id(),
        "body": {"empty": " ", "long": "x" * 4001}.get(flavour, f"hello {new_id()[-6:]}"),
    }
    if flavour == "photo":
        args["attachments"] = ["ab" * 32]  # well formed, not uploaded: linked to nothing
    elif flavour == "bad_photo":
        args["attachments"] = ["not-a-hash"]
    elif flavour == "photos":
        args["attachments"] = ["cd" * 32] * 11
    elif flavour == "invalid":
        del args["conversation_id"]
    return {"name": "message.send", "args": args}


def _envelopes(world: Any, chats: Chats, program: list) -> list[tuple[int, dict[str, Any]]]:
    """As ``test_push_sets._envelopes``, with the messaging mutations; ids drawn once for both runs."""
    seqs = [0] * len(PHONES)
    last: dict[int, dict[str, Any]] = {}
    pools: dict[str, list[str]] = {"orders": [], "inspections": []}
    out = []
    for phone, items, mode in program:
        if mode == "resend" and phone in last:
            out.append((phone, last[phone]))
            continue
        if mode == "gap":
            seqs[phone] += 1
        body = []
        for item in items:
            seqs[phone] += 1
            made = (
                _message_mutation(chats, item)
                if item["kind"] in ("send", "read")
                else _mutation(world, item, pools)
            )
            body.append({"id": new_id(), "seq": seqs[phone], **made})
        last[phone] = {"client_id": f"phone-{PHONES[phone][1]}", "protocol": 1, "mutations": body}
        out.append((phone, last[phone]))
    return out


def _with_messaging(state_of: Any) -> Any:
    """``test_push_sets._state`` plus the messaging rows, message ids as (conversation, seq); the
    names go under ``message_names`` (for the replies, which ``_run`` reads outside the state)."""

    async def state(session: Any, base: int) -> dict[str, Any]:
        out = await state_of(session, base)
        # A level's key holds its location's raw id, minted per run when a count made the location:
        # keyed by the canonical (location, product) its row carries instead.
        out["levels"] = {(repr(r["location_id"]), r["product_id"]): r for r in out["levels"].values()}
        messages = list((await session.execute(select(Message))).scalars())
        names = {m.id: ("message", m.conversation_id, m.seq) for m in messages}

        def rows(objs: list[Any], key: Any, drop: frozenset[str] = frozenset()) -> dict[Any, Any]:
            return {
                _canon(key(o), names): _canon(
                    {c.key: getattr(o, c.key) for c in o.__mapper__.column_attrs if c.key not in drop}, names
                )
                for o in objs
            }

        out["messages"] = rows(messages, lambda m: m.id)
        members = (await session.execute(select(ConversationMember))).scalars()
        out["members"] = rows(list(members), lambda m: (m.conversation_id, m.user_id))
        convs = (await session.execute(select(Conversation))).scalars()
        out["conversations"] = rows(list(convs), lambda c: c.id, frozenset({"last_message_at"}))
        outbox = (await session.execute(select(PushOutbox))).scalars()
        out["outbox"] = rows(
            list(outbox), lambda o: (o.user_id, o.collapse_key), frozenset({"id", "available_at"})
        )
        return {**_renamed(out, names), "message_names": names}

    return state


async def _both(loop: Any, factory: Any, network: Any, settings: Any, envelopes: list) -> tuple[dict, dict]:
    """The state of both runs (as sets, one by one), message ids renamed in the replies too."""
    runs = []
    for one_by_one in (False, True):
        state = await _run(factory, network, settings, envelopes, one_by_one=one_by_one)
        state["replies"] = _renamed(state["replies"], state.pop("message_names"))
        runs.append(push_sets._strip_ids(state))
    return runs[0], runs[1]


def _renamed(value: Any, names: dict[str, Any]) -> Any:
    """``value`` with every minted message id replaced by its (conversation, seq)."""
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, dict):
        return {_renamed(k, names): _renamed(v, names) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return type(value)(_renamed(v, names) for v in value)
    return value


@hsettings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(program=pushes)
def _example(program: list, ctx: dict[str, Any]) -> None:
    loop, factory, network, settings, world, chats = (
        ctx[k] for k in ("loop", "factory", "network", "settings", "world", "chats")
    )
    envelopes = _envelopes(world, chats, program)
    as_sets, one_by_one = loop.run_until_complete(_both(loop, factory, network, settings, envelopes))
    assert as_sets["replies"] == one_by_one["replies"]
    for key in as_sets:
        assert as_sets[key] == one_by_one[key], key


def test_message_sets_equal_one_by_one(settings, network, monkeypatch):
    monkeypatch.setattr(push_sets, "_state", _with_messaging(push_sets._state))
    with _prepared_world(settings, network) as (loop, factory, world):
        chats = loop.run_until_complete(_prepare_chats(factory, network))
        before = dict(set_apply.STATS)
        ctx = {"loop": loop, "factory": factory, "network": network, "settings": settings}
        _example(ctx={**ctx, "world": world, "chats": chats})
        assert set_apply.STATS["groups"] > before.get("groups", 0), "the set handlers never ran"
        assert set_apply.STATS["gave_up"] == before.get("gave_up", 0), "a set handler gave up"


@pytest.mark.parametrize("to_support", [False, True])
def test_a_send_to_a_support_conversation_goes_one_by_one(settings, network, monkeypatch, to_support):
    """Support conversations are not modelled by the set: such a batch is applied one by one
    (and equals the reference); without one, the set applies."""
    monkeypatch.setattr(push_sets, "_state", _with_messaging(push_sets._state))
    with _prepared_world(settings, network) as (loop, factory, world):
        chats = loop.run_until_complete(_prepare_chats(factory, network))
        target = chats.support_id if to_support else chats.ids[0]
        sends = [
            {
                "name": "message.send",
                "args": {"conversation_id": c, "client_message_id": new_id(), "body": "hi"},
            }
            for c in (chats.ids[0], target, chats.ids[1])
        ]
        body = [{"id": new_id(), "seq": i + 1, **m} for i, m in enumerate(sends)]
        envelopes = [(0, {"client_id": "phone-a", "protocol": 1, "mutations": body})]
        gave_up = set_apply.STATS["gave_up"]
        as_sets, one_by_one = loop.run_until_complete(_both(loop, factory, network, settings, envelopes))
        assert set_apply.STATS["gave_up"] == gave_up + to_support
        assert [r["status"] for r in as_sets["replies"][0]["results"]] == ["applied"] * 3
        for key in as_sets:
            assert as_sets[key] == one_by_one[key], key


def test_a_send_between_renames_names_its_sender_as_it_was_then(settings, network, monkeypatch):
    """A rename, a send, a rename: one group as sets (renames first), yet the send's chat push
    names the sender after the first rename only, as one by one."""
    monkeypatch.setattr(push_sets, "_state", _with_messaging(push_sets._state))
    with _prepared_world(settings, network) as (loop, factory, world):
        chats = loop.run_until_complete(_prepare_chats(factory, network))
        south = PHONES.index(("dist-south", "d"))  # the agent it writes to is offline: owed a push

        def rename(name: str) -> dict[str, Any]:
            return {"name": "profile.update", "args": {"display_name": name}}

        send = {
            "name": "message.send",
            "args": {"conversation_id": chats.ids[2], "client_message_id": new_id(), "body": "stock is in"},
        }
        body = [
            {"id": new_id(), "seq": i + 1, **m}
            for i, m in enumerate([rename("South A"), send, rename("South B")])
        ]
        envelopes = [(south, {"client_id": "phone-d", "protocol": 1, "mutations": body})]
        groups = set_apply.STATS["groups"]
        as_sets, one_by_one = loop.run_until_complete(_both(loop, factory, network, settings, envelopes))
        assert set_apply.STATS["groups"] == groups + 1
        assert [r["status"] for r in as_sets["replies"][0]["results"]] == ["applied"] * 3
        assert [o["body"] for o in as_sets["outbox"].values() if "stock is in" in o["body"]] == [
            "South A: stock is in"
        ]
        for key in as_sets:
            assert as_sets[key] == one_by_one[key], key
