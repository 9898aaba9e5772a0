"""The two mutations the phone app queues offline besides the others: opening a support ticket
(``support.open``) and a seller resolving a claim (``claim.resolve``), pushed through sync on each
database, with bad input, outsiders and a second resolution (a conflict carrying the one that stands).
"""

from __future__ import annotations

from sqlalchemy import func, select

from backend.acceptance import service as acceptance
from backend.db import new_id
from backend.messaging.models import Conversation, Message
from tests.acceptance.test_acceptance import _shipped
from tests.orders.kit import cast_of
from tests.sync.helpers import signed_in_phone


async def _open_claim(session_factory, network) -> str:
    cast = cast_of(network)
    async with session_factory() as session:
        _order, delivery, lines = await _shipped(session, cast)
        first, *rest = lines
        items = [{"delivery_line_id": first.id, "accepted": first.qty - 2, "short": 2}]
        items += [{"delivery_line_id": line.id, "accepted": line.qty} for line in rest]
        await acceptance.record_acceptance(
            session, cast["inspector"], acceptance_id=new_id(), delivery_id=delivery.id, lines=items
        )
        claims = (await acceptance.list_claims(session, cast["supplier"], state="open")).items
        await session.commit()
    return claims[0].id


async def test_a_claim_resolved_offline_by_the_supplier(client, session_factory, network):
    claim_id = await _open_claim(session_factory, network)
    supplier = await signed_in_phone(client, "supplier-a", client_id="sup-a-phone")
    outsider = await signed_in_phone(client, "supplier-b", client_id="sup-b-phone")
    buyer = await signed_in_phone(client, "dist-north", client_id="north-phone")

    bad = [
        supplier.mutate("claim.resolve", {"claim_id": claim_id, "resolution": ""}),
        supplier.mutate("claim.resolve", {"claim_id": claim_id}),
        supplier.mutate("claim.resolve", {"claim_id": claim_id, "resolution": "x", "state": "closed"}),
        supplier.mutate("claim.resolve", {"claim_id": "c" * 65, "resolution": "x"}),
        supplier.mutate("claim.resolve", {"claim_id": claim_id, "resolution": "y" * 4001}),
        supplier.mutate("claim.resolve", {"claim_id": claim_id, "resolution": "   "}),
    ]
    unknown = supplier.mutate("claim.resolve", {"claim_id": new_id(), "resolution": "x"})
    good = supplier.mutate("claim.resolve", {"claim_id": claim_id, "resolution": "credit note 7"})
    await supplier.push_all()
    codes = [(supplier.result(m)["status"], supplier.result(m)["code"]) for m in bad]
    assert codes[:5] == [("rejected", "invalid")] * 5, codes
    assert codes[5] == ("rejected", "resolution_required")
    assert (supplier.result(unknown)["status"], supplier.result(unknown)["code"]) == (
        "rejected",
        "claim_not_found",
    )
    assert supplier.result(good)["status"] == "applied"
    assert supplier.result(good)["data"] == {"claim_id": claim_id, "state": "resolved"}

    # Another organisation's claim is not found; the buyer may see it but not settle it.
    theirs = outsider.mutate("claim.resolve", {"claim_id": claim_id, "resolution": "mine"})
    await outsider.push_all()
    assert (outsider.result(theirs)["status"], outsider.result(theirs)["code"]) == (
        "rejected",
        "claim_not_found",
    )
    own = buyer.mutate("claim.resolve", {"claim_id": claim_id, "resolution": "mine"})
    await buyer.push_all()
    assert (buyer.result(own)["status"], buyer.result(own)["code"]) == ("rejected", "forbidden")

    # A second phone of the supplier resolved it offline too: the first resolution stands.
    second = await signed_in_phone(client, "supplier-a", client_id="sup-a-tablet")
    late = second.mutate("claim.resolve", {"claim_id": claim_id, "resolution": "replacement"})
    await second.push_all()
    result = second.result(late)
    assert (result["status"], result["code"]) == ("conflict", "claim_resolved")
    assert result["data"]["kept"] == "server"
    assert result["data"]["server"]["resolution"] == "credit note 7"
    assert result["data"]["server"]["state"] == "resolved"

    # The pull brings the claim as resolved to the buyer's phone.
    await buyer.sync()
    claims = [d for (_s, e, i), (_v, d) in buyer.rows().items() if e == "claim" and i == claim_id]
    assert claims and all(c["state"] == "resolved" and c["resolution"] == "credit note 7" for c in claims)
    held = await client.get(f"/claims/{claim_id}", headers=buyer.headers)
    assert held.json()["state"] == "resolved" and held.json()["resolution"] == "credit note 7"


async def test_a_support_ticket_opened_offline(client, session_factory, network):
    phone = await signed_in_phone(client, "dist-north", client_id="north-phone")
    ticket, first, again = new_id(), new_id(), new_id()
    args = {
        "id": ticket,
        "subject": "Short delivery",
        "body": "Two cases missing.",
        "client_message_id": first,
    }
    bad = [
        phone.mutate("support.open", {**args, "subject": ""}),
        phone.mutate("support.open", {**args, "body": ""}),
        phone.mutate("support.open", {**args, "id": "not-hex"}),
        phone.mutate("support.open", {**args, "subject": "s" * 201}),
        phone.mutate("support.open", {**args, "priority": "high"}),
        phone.mutate("support.open", {k: v for k, v in args.items() if k != "client_message_id"}),
        phone.mutate("support.open", {**args, "subject": "   "}),
    ]
    opened = phone.mutate("support.open", args)
    retried = phone.mutate("support.open", {**args, "client_message_id": first})  # a retry: same message
    await phone.push_all()
    codes = [(phone.result(m)["status"], phone.result(m)["code"]) for m in bad]
    assert codes[:6] == [("rejected", "invalid")] * 6, codes
    assert codes[6] == ("rejected", "invalid_subject")
    assert phone.result(opened)["status"] == "applied"
    assert phone.result(opened)["data"] == {"conversation_id": ticket, "status": "waiting"}
    assert phone.result(retried)["status"] == "applied"

    await phone.sync()
    rows = phone.rows()
    convs = {d["id"]: d for (_s, e, _i), (_v, d) in rows.items() if e == "conversation"}
    assert convs[ticket]["kind"] == "support" and convs[ticket]["title"] == "Short delivery"
    bodies = [
        d["body"]
        for (_s, e, _i), (_v, d) in rows.items()
        if e == "message" and d["conversation_id"] == ticket
    ]
    assert bodies == ["Two cases missing."]  # opened once, its first message once
    async with session_factory() as session:
        assert (await session.get(Conversation, ticket)).status == "waiting"
        n = await session.scalar(
            select(func.count()).select_from(Message).where(Message.conversation_id == ticket)
        )
    assert n == 1

    # Another organisation's user: the ticket's id is taken; its conversation is not found.
    other = await signed_in_phone(client, "dist-south", client_id="south-phone")
    taken = other.mutate("support.open", {**args, "client_message_id": again})
    write = other.mutate(
        "message.send", {"conversation_id": ticket, "client_message_id": again, "body": "hi"}
    )
    await other.push_all()
    assert (other.result(taken)["status"], other.result(taken)["code"]) == ("rejected", "conversation_exists")
    # (message.send answers not_a_member, which says the id exists: messaging's rule, not changed here)
    assert other.result(write)["status"] == "rejected"
    seen = await client.get(f"/conversations/{ticket}", headers=other.headers)
    assert seen.status_code == 404 and seen.json()["code"] == "conversation_not_found"
    await other.sync()
    assert not [i for (_s, e, i) in other.rows() if i == ticket]

    # Support agents answer tickets; they do not open them.
    agent = await signed_in_phone(client, "support", client_id="agent-phone")
    refused = agent.mutate("support.open", {**args, "id": new_id(), "client_message_id": new_id()})
    await agent.push_all()
    assert (agent.result(refused)["status"], agent.result(refused)["code"]) == ("rejected", "not_a_customer")


async def test_the_schema_publishes_both(client):
    schema = (await client.get("/sync/v1/schema")).json()
    for name in ("support.open", "claim.resolve"):
        assert schema["mutations"][name]["description"]
    support = schema["$defs"]["SupportOpen"]
    assert support["additionalProperties"] is False
    assert set(support["required"]) == {"id", "subject", "body", "client_message_id"}
    assert schema["$defs"]["ClaimResolve"]["properties"]["resolution"]["maxLength"] == acceptance.MAX_NOTES
