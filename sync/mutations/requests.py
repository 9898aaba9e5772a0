"""Requests between distributors and suppliers from the phone: file one, take a step on it."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from backend.requests import act, file_request
from backend.requests.models import SupplierRequest
from sync.mutations.registry import Args, MutationContext, mutation
from sync.mutations.types import ClientId, Id, Sha256, Text

Kind = Literal["custom_packaging", "new_sku", "complaint", "feedback"]
Action = Literal["answer", "accept", "decline", "deliver", "comment"]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Photos = Annotated[list[Sha256], msgspec.Meta(max_length=20)]


class RequestFile(Args):
    id: ClientId
    supplier_id: Id
    kind: Kind
    title: Title
    body: Text = ""
    product_id: Id | None = None
    photo_sha256s: Photos = []


class RequestAct(Args):
    request_id: Id
    action: Action
    note: Text = ""


def request_result(request: SupplierRequest) -> dict:
    return {"request_id": request.id, "status": request.status}


@mutation("request.file", RequestFile)
async def request_file(ctx: MutationContext, args: RequestFile) -> dict:
    """File a request (custom packaging, a new SKU, a complaint with photos, feedback) to a supplier."""
    request = await file_request(
        ctx.session, ctx.actor, request_id=args.id, supplier_id=args.supplier_id, kind=args.kind,
        title=args.title, body=args.body, product_id=args.product_id, photo_sha256s=args.photo_sha256s,
    )  # fmt: skip
    return request_result(request)


@mutation("request.act", RequestAct)
async def request_act(ctx: MutationContext, args: RequestAct) -> dict:
    """Answer, accept, decline or deliver a request (the supplier), or comment on it (either side)."""
    request = await act(
        ctx.session, ctx.actor, request_id=args.request_id, action=args.action, note=args.note
    )
    return request_result(request)
