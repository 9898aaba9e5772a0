"""Parameter and field types shared by the orders and acceptance routes."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

from backend.bounds import ClientId, Id
from mobile_api.params import Cursor

__all__ = ["ClientId", "Cursor", "Id"]

# Phones mint ids offline in the form of ``backend.db.new_id()``.
Limit = Annotated[int, Parameter(ge=1, le=500, default=50)]
# ``state`` is a reserved parameter name in Litestar; the query key stays ``state``.
StateFilter = Annotated[str | None, Parameter(query="state", max_length=20, default=None)]
