"""Parameter types shared by the field-operations routes."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

from backend.bounds import ClientId, Id
from mobile_api.params import Cursor, QueryId

__all__ = ["ClientId", "Cursor", "Id", "QueryId"]

Limit = Annotated[int, Parameter(ge=1, le=500, default=100)]
