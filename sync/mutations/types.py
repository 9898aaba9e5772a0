"""Argument field types shared by the mutation modules (the same bounds REST applies)."""

from __future__ import annotations

from typing import Annotated

import msgspec

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
# Ids a phone mints offline (UUIDv7 layout, 32 hex characters), so a retry is recognised.
ClientId = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{32}$")]
Sha256 = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
Text = Annotated[str, msgspec.Meta(max_length=4000)]
