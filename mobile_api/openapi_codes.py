"""Which refusals a route can answer: read from the code its handler can reach.

From the handler function, every function and error class it names (calls, callbacks handed on,
error classes passed to helpers) is followed, through the project's own modules (``backend``,
``sync``, ``mobile_api``), and each body's refusals are collected: ``ApiError(400, "x")``,
``error_response(400, "x")``, ``SomeDomainError(..., code="x")`` or an error class's own code.
What a name cannot be resolved to (a method of an object, ``self``) is not followed; a mutation
(looked up by name at run time) is not reached, and its refusals are per-mutation results, not
HTTP answers.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import textwrap
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from types import FunctionType, MethodType, ModuleType
from typing import Any

from backend.errors import DomainError
from mobile_api.errors import STATUS_BY_KIND

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = tuple(str(ROOT / name) + "/" for name in ("backend", "sync", "mobile_api"))
_CALLS = ("ApiError", "error_response", "_error", "TusError")


def _domain_errors() -> dict[str, list[type[DomainError]]]:
    """Every DomainError subclass by class name (names may repeat across domains)."""
    found: dict[str, list[type[DomainError]]] = {}
    todo = [DomainError]
    while todo:
        cls = todo.pop()
        found.setdefault(cls.__name__, []).append(cls)
        todo.extend(cls.__subclasses__())
    return found


def _status_of(cls: type[DomainError]) -> int:
    return STATUS_BY_KIND.get(cls.kind, 400)


def _literal(node: ast.AST | None) -> Any:
    return node.value if isinstance(node, ast.Constant) else None


def _ours(obj: Any) -> bool:
    try:
        file = inspect.getsourcefile(obj)
    except TypeError:
        return False
    return bool(file) and file.startswith(PACKAGES)


def _resolve(node: ast.AST, namespace: dict[str, Any]) -> Any:
    """The object a ``name`` or ``a.b.c`` expression names in ``namespace``, or None."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id, getattr(builtins, node.id, None))
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, namespace)
        if isinstance(base, ModuleType | type):
            return getattr(base, node.attr, None)
    return None


def _error_classes(obj: Any) -> list[type[DomainError]]:
    return [obj] if isinstance(obj, type) and issubclass(obj, DomainError) else []


def _not_raised(tree: ast.AST) -> set[int]:
    """Nodes naming an error class without raising its own code: ``except X``,
    ``isinstance(e, X)``, ``X(..., code="other")``."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            skip.update(id(n) for n in ast.walk(node.type))
        elif isinstance(node, ast.Call):
            if getattr(node.func, "id", "") in ("isinstance", "issubclass") and len(node.args) == 2:
                skip.update(id(n) for n in ast.walk(node.args[1]))
            elif any(k.arg == "code" for k in node.keywords):
                skip.update(id(n) for n in ast.walk(node.func))
    return skip


def _refusals_in(tree: ast.AST, namespace: dict[str, Any]) -> Iterator[tuple[int, str]]:
    skip = _not_raised(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name | ast.Attribute) and id(node) not in skip:
            for cls in _error_classes(_resolve(node, namespace)):
                yield _status_of(cls), cls.code
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in _CALLS and len(node.args) >= 2:
            status, code = _literal(node.args[0]), _literal(node.args[1])
            if isinstance(status, int) and isinstance(code, str):
                yield status, code
            continue
        for cls in _error_classes(_resolve(node.func, namespace)):
            code = next((_literal(k.value) for k in node.keywords if k.arg == "code"), None)
            if isinstance(code, str):
                yield _status_of(cls), code


def _named(tree: ast.AST, namespace: dict[str, Any]) -> Iterator[Callable[..., Any]]:
    """The project's functions (and classes' own methods) that ``tree`` names."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Name | ast.Attribute):
            continue
        obj = _resolve(node, namespace)
        if isinstance(obj, MethodType):
            obj = obj.__func__
        if isinstance(obj, FunctionType) and _ours(obj):
            yield obj
        elif isinstance(obj, type) and not issubclass(obj, BaseException) and _ours(obj):
            yield from (f for f in vars(obj).values() if isinstance(f, FunctionType))


@cache
def _analysed(fn: Any) -> tuple[frozenset[tuple[int, str]], tuple[Any, ...]]:
    """One function's own refusals and the project functions it names, parsed once per process
    (routes share most of their callees: parsing each anew per route cost ~20 s at start-up)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return frozenset(), ()
    namespace = {**getattr(fn, "__globals__", {}), **_closure(fn), **_local_imports(tree)}
    return frozenset(_refusals_in(tree, namespace)), tuple(dict.fromkeys(_named(tree, namespace)))


@cache
def reachable_codes(fn: Callable[..., Any]) -> frozenset[tuple[int, str]]:
    """(status, code) of every refusal ``fn`` can reach."""
    codes: set[tuple[int, str]] = set()
    seen: set[Any] = set()
    todo = [inspect.unwrap(fn)]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        own, named = _analysed(current)
        codes.update(own)
        todo.extend(f for f in named if f not in seen)
    return frozenset(codes)


def _local_imports(tree: ast.AST) -> dict[str, Any]:
    """What ``from x import y`` inside a function body (an import cycle avoided) binds."""
    bound: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            try:
                module = importlib.import_module(node.module)
            except ImportError:
                continue
            for alias in node.names:
                bound[alias.asname or alias.name] = getattr(module, alias.name, None)
    return bound


def _closure(fn: Any) -> dict[str, Any]:
    cells = getattr(fn, "__closure__", None) or ()
    names = getattr(getattr(fn, "__code__", None), "co_freevars", ())
    out = {}
    for name, cell in zip(names, cells, strict=False):
        try:
            out[name] = cell.cell_contents
        except ValueError:
            continue
    return out
