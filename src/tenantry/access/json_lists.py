"""JSON lists in SQL (roles are stored as JSON lists): does a list hold a value, do two lists
share one. SQLite reads them with ``json_each``, PostgreSQL with ``json_array_elements_text``.
At the bottom of ``access`` so that the paths (which rows are live for an agent) and the SQL
form of the rule share them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Boolean, ColumnElement, String, false, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class _JsonHasAny(FunctionElement[bool]):
    """``json_has_any(list_column, v1, v2, ...)``: the JSON list holds one of the values."""

    type = Boolean()
    name = "json_has_any"
    inherit_cache = True


class _JsonListsShare(FunctionElement[bool]):
    """``json_lists_share(a, b, v1, v2, ...)``: one of the values is in both JSON lists."""

    type = Boolean()
    name = "json_lists_share"
    inherit_cache = True


def _elements(dialect: str, sql: str, alias: str) -> str:
    if dialect == "postgresql":
        return f"json_array_elements_text({sql}) AS {alias}(value)"
    return f"json_each({sql}) AS {alias}"


def _compile_has_any(element: _JsonHasAny, compiler: Any, **kw: Any) -> str:
    column, *values = [compiler.process(c, **kw) for c in element.clauses]
    source = _elements(compiler.dialect.name, column, "jl")
    # Only compiled fragments and bound parameters are joined here, never input.
    return f"EXISTS (SELECT 1 FROM {source} WHERE jl.value IN ({', '.join(values)}))"  # noqa: S608


def _compile_lists_share(element: _JsonListsShare, compiler: Any, **kw: Any) -> str:
    a, b, *values = [compiler.process(c, **kw) for c in element.clauses]
    dialect = compiler.dialect.name
    pairs = f"{_elements(dialect, a, 'ja')}, {_elements(dialect, b, 'jb')}"
    shared = f"ja.value = jb.value AND ja.value IN ({', '.join(values)})"
    return f"EXISTS (SELECT 1 FROM {pairs} WHERE {shared})"  # noqa: S608


compiles(_JsonHasAny)(_compile_has_any)
compiles(_JsonListsShare)(_compile_lists_share)


def json_has_any(column: Any, values: Iterable[str]) -> ColumnElement[bool]:
    """The JSON list in ``column`` holds one of ``values`` (SQLite json_each, PostgreSQL
    json_array_elements_text); false for no values."""
    chosen = sorted(set(values))
    if not chosen:
        return false()
    return _JsonHasAny(column, *[literal(v, String()) for v in chosen])


def json_lists_share(a: Any, b: Any, values: Iterable[str]) -> ColumnElement[bool]:
    """One of ``values`` is in both JSON lists (a role both the relationship and the access
    assignment hold); false for no values."""
    chosen = sorted(set(values))
    if not chosen:
        return false()
    return _JsonListsShare(a, b, *[literal(v, String()) for v in chosen])


def json_holds(column: Any, value: Any) -> ColumnElement[bool]:
    """The JSON list in ``column`` holds the value of the SQL expression ``value`` (another
    column: an activation's role in its relationship's roles)."""
    return _JsonHasAny(column, value)
