"""The shape of each entity's row ``data`` as a phone receives it: one msgspec Struct per entity.

The Struct of a :class:`~backend.changefeed.recording.Syncable` model is built once from its
mapped columns (less ``__sync_exclude__``): the Python type of each ``Mapped[...]`` annotation,
narrowed by the column (a ``String(n)`` holds at most ``n`` characters, an ``Integer`` 32 bits)
and by the model's ``__sync_types__`` (say, a state column's ``Literal`` of states). The change
feed builds every row's ``data`` through this Struct (:func:`row_data`), and ``GET
/sync/v1/schema`` publishes its JSON Schema, so what pull delivers and what the schema says are
one definition and cannot drift.
"""

from __future__ import annotations

import types
import typing
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Union

import msgspec
from sqlalchemy import BigInteger, Integer, String
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, configure_mappers
from sqlalchemy.types import TypeDecorator, TypeEngine

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


def _column_type(col_type: TypeEngine[Any]) -> TypeEngine[Any]:
    return col_type.impl_instance if isinstance(col_type, TypeDecorator) else col_type  # type: ignore[return-value]


def _mapped_types(cls: type) -> dict[str, Any]:
    """``{attribute: X}`` for every ``attribute: Mapped[X]`` on ``cls`` and its bases."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return {
        name: typing.get_args(hint)[0]
        for name, hint in hints.items()
        if typing.get_origin(hint) is Mapped and typing.get_args(hint)
    }


def _bounded(py_type: Any, col_type: TypeEngine[Any]) -> Any:
    """``py_type`` with the bounds the column puts on it (``X | None`` keeps its ``None``)."""
    args = typing.get_args(py_type)
    if typing.get_origin(py_type) in (Union, types.UnionType) and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _bounded(inner[0], col_type) | None
        return py_type
    impl = _column_type(col_type)
    if py_type is str and isinstance(impl, String) and impl.length:
        return Annotated[str, msgspec.Meta(max_length=impl.length)]
    if py_type is datetime:
        # UtcDateTime columns hold aware times only: published as RFC 3339 ``date-time``.
        return Annotated[datetime, msgspec.Meta(tz=True)]
    if py_type is int and isinstance(impl, BigInteger):
        return Annotated[int, msgspec.Meta(ge=INT64[0], le=INT64[1])]
    if py_type is int and isinstance(impl, Integer):
        return Annotated[int, msgspec.Meta(ge=INT32[0], le=INT32[1])]
    return py_type


def _struct_name(cls: type) -> str:
    return "".join(part.capitalize() for part in cls.__sync_entity__.split("_")) + "Row"  # type: ignore[attr-defined]


@cache
def row_struct(cls: type) -> type[msgspec.Struct]:
    """The Struct of ``cls``'s synced row (built on first use, after the mappers are configured)."""
    configure_mappers()
    mapper = sa_inspect(cls)
    mapped = _mapped_types(cls)
    overrides: dict[str, Any] = getattr(cls, "__sync_types__", {})
    excluded: frozenset[str] = cls.__sync_exclude__  # type: ignore[attr-defined]
    fields: list[tuple[str, Any]] = []
    for attr in mapper.column_attrs:
        if attr.key in excluded:
            continue
        column = attr.columns[0]
        if attr.key in overrides:
            py_type = overrides[attr.key]
        else:
            py_type = mapped.get(attr.key, column.type.python_type)
            py_type = _bounded(py_type, column.type)
        if column.nullable and not _admits_none(py_type):
            py_type = py_type | None
        fields.append((attr.key, py_type))
    # A model's own docstring describes its rows; one without inherits a base's, which does not.
    doc = vars(cls).get("__doc__") or f"A row of `{cls.__sync_entity__}` as pull delivers it."  # type: ignore[attr-defined]
    return msgspec.defstruct(
        _struct_name(cls),
        fields,
        kw_only=True,
        forbid_unknown_fields=True,
        module=__name__,
        namespace={"__doc__": " ".join(doc.split())},
    )


def _admits_none(py_type: Any) -> bool:
    if py_type is Any or py_type is None:
        return True
    return type(None) in typing.get_args(py_type)


def row_data(obj: Any) -> dict[str, Any]:
    """``obj``'s synced row as JSON-ready values, built through its entity's Struct."""
    struct = row_struct(type(obj))
    return msgspec.to_builtins(struct(**{f: getattr(obj, f) for f in struct.__struct_fields__}))


def syncable_models() -> dict[str, type]:
    """``{entity name: model}`` of every syncable model (the domains' models must be imported)."""
    from backend.changefeed.recording import Syncable
    from backend.db import Base

    configure_mappers()
    models = {
        m.class_.__sync_entity__: m.class_
        for m in Base.registry.mappers
        if issubclass(m.class_, Syncable) and "__sync_entity__" in vars(m.class_)
    }
    return dict(sorted(models.items()))


def entity_structs() -> dict[str, type[msgspec.Struct]]:
    """``{entity name: row Struct}`` of every entity pull can deliver."""
    return {name: row_struct(model) for name, model in syncable_models().items()}
