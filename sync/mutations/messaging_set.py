"""Set handler of chat: a batch's ``message.send`` and ``profile.update`` applied as one group.

The sends go through :func:`backend.messaging.service.send_messages` once: the function the live
socket's writer stores its batches with, so the rules of a send live in one place. It gives each
send what one by one gives it (the same refusals, a repeated client id answered with the first
message, the sender's member row one version and one change per message).

The caller's renames are in the family because a send's chat pushes carry the sender's name: a
batch that alternates sends and renames was one group per run of them. The renames are applied
first, in one read and one write (:func:`backend.identity.renames.rename_in_turn`), and each send
is given the name it would have read one by one: the one after the renames before it.
"""

from __future__ import annotations

from typing import Any

from backend.errors import DomainError
from backend.identity.renames import rename_in_turn
from backend.messaging import service as messaging
from sync.batch.registry import GroupContext, GroupOutcome, set_family
from sync.mutations.messaging import MessageSend, sent_result
from sync.mutations.profile import ProfileUpdate

SEND, RENAME = "message.send", "profile.update"
# Mutations that neither read nor write conversations, members, messages, photos, users' names
# or chat pushes. Anything not listed (message.read, media.attach…) ends a group.
MESSAGE_INDEPENDENT = frozenset(
    {
        "stock_check.record",
        "inspection.start",
        "inspection.answer",
        "inspection.submit",
        "order.create",
        "order.update_line",
        "order.submit",
        "order.cancel",
        "order.confirm",
        "order.reject",
    }
)


class NotModelled(Exception):
    """The group holds what this handler does not model: the batch goes one by one."""


@set_family({SEND: MessageSend, RENAME: ProfileUpdate}, independent_of=MESSAGE_INDEPENDENT)
async def sends_and_renames(ctx: GroupContext, items: list[tuple[str, Any]]) -> list[GroupOutcome]:
    """``message.send`` and ``profile.update`` for a group: the same results as one by one.

    Not modelled (raises, so the batch is applied one by one): a send to a support
    conversation. There the desk's hooks (waiting clock, first response, reopening, the
    satisfaction answer) change the conversation row, which one by one flushes once per message
    (a version each) and a batch once.
    """
    sends = {i: a for i, (name, a) in enumerate(items) if name == SEND}
    conversations = {a.conversation_id for a in sends.values()}
    if conversations and await messaging.any_support_conversation(ctx.session, conversations):
        raise NotModelled("a send to a support conversation")
    names = [a.display_name for name, a in items if name == RENAME]
    # The name each send sees: the one after the renames before it (None: as the user row has it).
    seen: list[str | None] = [None]
    versions: list[int] = []
    if names:
        before, versions = await rename_in_turn(ctx.session, ctx.actor.user_id, names)
        seen = [before, *names]
    outcomes: list[GroupOutcome] = [None] * len(items)
    requests: list[messaging.SendRequest] = []
    renamed = 0
    for i, (name, a) in enumerate(items):
        if name == RENAME:
            outcomes[i] = {"version": versions[renamed]}
            renamed += 1
            continue
        requests.append(
            messaging.SendRequest(
                ctx.actor,
                a.conversation_id,
                a.client_message_id,
                a.body,
                a.attachments,
                sender_name=seen[renamed],
            )
        )
    if requests:
        results = await messaging.send_messages(ctx.session, requests)
        for i, r in zip(sends, results, strict=True):
            outcomes[i] = r if isinstance(r, DomainError) else sent_result(r)
    return outcomes
