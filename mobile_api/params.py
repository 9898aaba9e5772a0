"""Query and path parameter types with bounds: every string a route reads from its URL has a
length (``backend.bounds`` for bodies; U+0000 is refused for the whole URL by
``mobile_api.boundary``)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

ID_MAX = 64  # ids are varchar(64) at most (the server's are 32 hex characters)

# An id in the path: ``/orders/{order_id}``.
PathId = Annotated[str, Parameter(min_length=1, max_length=ID_MAX)]
# An id a phone mints (``backend.bounds.ClientId``) in the path: ``/visits/{visit_id}/check-in``.
PathClientId = Annotated[str, Parameter(min_length=32, max_length=32, pattern="^[0-9a-f]{32}$")]
# An optional id or short filter value in the query string: ``?supplier_id=…``, ``?kind=…``.
QueryId = Annotated[str | None, Parameter(max_length=ID_MAX, default=None)]
# A REST page cursor: the last id of the previous page (``mobile_api.paging``).
Cursor = Annotated[str | None, Parameter(max_length=ID_MAX, default=None)]
