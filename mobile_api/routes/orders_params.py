"""Parameter and field types shared by the orders and acceptance routes."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import Parameter

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
# Phones mint ids offline in the form of ``backend.db.new_id()``.
ClientId = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{32}$")]
Limit = Annotated[int, Parameter(ge=1, le=500, default=50)]
Cursor = Annotated[str | None, Parameter(max_length=64, default=None)]
# ``state`` is a reserved parameter name in Litestar; the query key stays ``state``.
StateFilter = Annotated[str | None, Parameter(query="state", max_length=20, default=None)]
