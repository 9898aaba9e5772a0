"""Set handler of messaging: a batch's ``message.send`` stored together.

The group goes through :func:`backend.messaging.service.send_messages` once: the function the
live socket's writer stores its batches with, so the rules of a send live in one place. It
gives each send what one by one gives it (the same refusals, a repeated client id answered with
the first message, the sender's member row one version and one change per message).
"""

from __future__ import annotations

from backend.errors import DomainError
from backend.messaging import service as messaging
from sync.batch.registry import GroupContext, GroupOutcome, set_mutation
from sync.mutations.messaging import MessageSend, sent_result

# Mutations that neither read nor write conversations, members, messages, photos, users' names
# or chat pushes. Anything not listed (message.read, profile.update, media.attach…) ends a group.
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


@set_mutation("message.send", independent_of=MESSAGE_INDEPENDENT)
async def messages_send(ctx: GroupContext, items: list[MessageSend]) -> list[GroupOutcome]:
    """``message.send`` for a group: the same results as one by one.

    Not modelled (raises, so the batch is applied one by one): a send to a support
    conversation. There the desk's hooks (waiting clock, first response, reopening, the
    satisfaction answer) change the conversation row, which one by one flushes once per message
    (a version each) and a batch once.
    """
    ids = {a.conversation_id for a in items}
    if await messaging.any_support_conversation(ctx.session, ids):
        raise NotModelled("a send to a support conversation")
    requests = [
        messaging.SendRequest(ctx.actor, a.conversation_id, a.client_message_id, a.body, a.attachments)
        for a in items
    ]
    results = await messaging.send_messages(ctx.session, requests)
    return [r if isinstance(r, DomainError) else sent_result(r) for r in results]
