"""Requests from distributors to suppliers, with their history and figures."""

from backend.requests.models import RequestEvent, SupplierRequest
from backend.requests.service import (
    RequestFigures,
    act,
    events_of,
    file_request,
    get_request,
    request_figures,
)

__all__ = [
    "RequestEvent",
    "RequestFigures",
    "SupplierRequest",
    "act",
    "events_of",
    "file_request",
    "get_request",
    "request_figures",
]
