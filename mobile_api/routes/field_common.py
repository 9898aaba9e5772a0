"""Parameter types shared by the field-operations routes."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import Parameter

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
ClientId = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{32}$")]
Limit = Annotated[int, Parameter(ge=1, le=500, default=100)]
Cursor = Annotated[str | None, Parameter(max_length=64, default=None)]
QueryId = Annotated[str | None, Parameter(max_length=64, default=None)]
