"""Argument field types shared by the mutation modules (the same bounds REST applies)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from backend.bounds import ClientId, Id, Sha256

__all__ = ["ClientId", "Id", "Sha256", "Text"]

Text = Annotated[str, msgspec.Meta(max_length=4000)]
