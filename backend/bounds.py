"""The input boundary: what any value a client sends may be, in one module.

Every request structure (the API's ``Strict`` bodies, the sync envelope, every mutation's
``Args``) derives from :class:`Bounded`, whose ``__post_init__`` walks what was decoded and
refuses, wherever it sits (nested lists, dicts and ``Any`` fields included):

* text holding U+0000 (PostgreSQL refuses it mid-statement, SQLite would store it silently);
* integers outside a signed 64-bit column (``INT64``);
* datetimes outside years 1900–2999 (year 1 with a positive offset cannot even be
  converted to UTC).

Narrower bounds are types: :data:`Text`, :func:`text`, :data:`Id`, :data:`ClientId`,
:data:`Sha256`, :func:`one_of`, :func:`pattern`, :data:`Int32`, :data:`Int64`; every text type
has a length, so the published contract bounds every string a client sends (``tests/contract``
checks it). Bodies are decoded no deeper than :data:`MAX_DEPTH` (:func:`check_depth`),
numeric headers take ASCII digits only (:func:`header_int`). A refusal is a
``ValueError`` (msgspec turns it into a ``ValidationError``: 400 ``invalid_request`` at the
API, ``invalid`` for a mutation) or :class:`OutOfBounds`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, ClassVar

import msgspec

MAX_DEPTH = 32  # containers inside containers in one body; the deepest real body has 6
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
YEAR_MIN, YEAR_MAX = 1900, 2999
NUL_FREE = r"^[^\x00]*$"
TEXT_MAX = 20_000

Text = Annotated[str, msgspec.Meta(max_length=TEXT_MAX, pattern=NUL_FREE)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=NUL_FREE)]
# Ids a phone mints offline (``backend.db.new_id()``: 32 lower-case hex), so a retry is recognised.
ClientId = Annotated[str, msgspec.Meta(min_length=32, max_length=32, pattern="^[0-9a-f]{32}$")]
Sha256 = Annotated[str, msgspec.Meta(min_length=64, max_length=64, pattern="^[0-9a-f]{64}$")]
Int32 = Annotated[int, msgspec.Meta(ge=INT32_MIN, le=INT32_MAX)]
Int64 = Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)]
Count64 = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]


def text(max_length: int, *, min_length: int = 0) -> Any:
    """NUL-free text of at most ``max_length`` characters (a column's length)."""
    return Annotated[str, msgspec.Meta(min_length=min_length, max_length=max_length, pattern=NUL_FREE)]


def one_of(*values: str) -> Any:
    """Text that is one of ``values`` (a pattern, so the refusal names them; a length, like all text)."""
    return Annotated[
        str,
        msgspec.Meta(max_length=max(map(len, values)), pattern=f"^({'|'.join(map(re.escape, values))})$"),
    ]


def pattern(regex: str, max_length: int) -> Any:
    """Text matching ``regex`` (anchored by the caller), at most ``max_length`` characters."""
    return Annotated[str, msgspec.Meta(max_length=max_length, pattern=regex)]


class OutOfBounds(ValueError):
    """A value a client sent is outside what the server accepts; the message says which."""


def check_value(value: Any, where: str = "$") -> None:
    """Refuse NUL in text, integers past int64 and datetimes outside the years, anywhere in
    ``value`` (iteratively: a deep value cannot exhaust the stack)."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, at = stack.pop()
        if _plainly_in_bounds(item):
            continue
        if isinstance(item, str):
            if "\x00" in item:
                raise OutOfBounds(f"text may not contain U+0000 - at `{at}`")
        elif isinstance(item, bool) or item is None or isinstance(item, float):
            continue
        elif isinstance(item, int):
            if not INT64_MIN <= item <= INT64_MAX:
                raise OutOfBounds(f"integer out of range (a signed 64-bit integer) - at `{at}`")
        elif isinstance(item, date):  # datetime too
            if not YEAR_MIN <= item.year <= YEAR_MAX:
                raise OutOfBounds(f"date out of range (years {YEAR_MIN}–{YEAR_MAX}) - at `{at}`")
        elif isinstance(item, dict):
            for key, child in item.items():
                stack.append((key, at))
                stack.append((child, f"{at}.{key}"))
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend((child, f"{at}[{i}]") for i, child in enumerate(item))
        elif isinstance(item, Bounded):
            continue  # checked itself when it was decoded
        elif isinstance(item, msgspec.Struct):
            stack.extend((getattr(item, f), f"{at}.{f}") for f in item.__struct_fields__)


class Bounded(msgspec.Struct):
    """Base of every structure decoded from a client: its values are checked by :func:`check_value`
    (but ``unchecked`` fields, which are checked when converted further)."""

    unchecked: ClassVar[frozenset[str]] = frozenset()

    def __post_init__(self) -> None:
        # Most fields hold a plain value: settled without building the walk's stack and path.
        for field in _checked_fields(type(self)):
            value = getattr(self, field)
            if not _plainly_in_bounds(value):
                check_value(value, f"$.{field}")


def _plainly_in_bounds(value: Any) -> bool:
    """``value`` is a plain scalar :func:`check_value` accepts as it is (exact types only: anything
    else, a subclass included, is left to the walk)."""
    kind = type(value)
    if value is None or kind is bool or kind is float:
        return True
    if kind is str:
        return "\x00" not in value
    return kind is int and INT64_MIN <= value <= INT64_MAX


_CHECKED_FIELDS: dict[type, tuple[str, ...]] = {}


def _checked_fields(cls: type[Bounded]) -> tuple[str, ...]:
    fields = _CHECKED_FIELDS.get(cls)
    if fields is None:
        fields = _CHECKED_FIELDS[cls] = tuple(f for f in cls.__struct_fields__ if f not in cls.unchecked)
    return fields


def check_depth(body: bytes, *, msgpack: bool) -> None:
    """Refuse a body nesting containers deeper than :data:`MAX_DEPTH` (``OutOfBounds``), before a
    decoder recurses into it. Cheap for ordinary bodies: when the body cannot even hold that many
    containers nothing is decoded; else it is decoded once, untyped, and measured iteratively."""
    if _container_marks(body, msgpack) <= MAX_DEPTH:
        return
    try:
        value = (msgspec.msgpack.decode if msgpack else msgspec.json.decode)(body)
    except RecursionError:
        raise OutOfBounds(f"the body is nested too deeply (at most {MAX_DEPTH} levels)") from None
    except (msgspec.DecodeError, ValueError):
        return  # malformed: the real decoder says what is wrong
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > MAX_DEPTH:
                    raise OutOfBounds(f"the body is nested too deeply (at most {MAX_DEPTH} levels)")
                stack.append((child, depth + 1))


_MSGPACK_CONTAINERS = bytes([*range(0x80, 0xA0), 0xDC, 0xDD, 0xDE, 0xDF])


def _container_marks(body: bytes, msgpack: bool) -> int:
    """An upper bound of the containers in ``body`` (bytes that may open one)."""
    if msgpack:
        return len(body) - len(body.translate(None, _MSGPACK_CONTAINERS))
    return body.count(b"[") + body.count(b"{")


def header_int(raw: str | None, *, maximum: int = INT64_MAX) -> int | None:
    """A numeric header's value: ASCII digits only (``"١٢"`` is ``isdigit()`` but no number a
    client meant), at most ``maximum``; ``None`` when absent or not such a number."""
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    value = int(raw)
    return value if value <= maximum else None
