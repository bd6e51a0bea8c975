"""Keyset (cursor) pagination: stable under inserts and fast at any depth."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import BigInteger, Select, SmallInteger, Uuid, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from tenantry.core.errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 200
MAX_TEXT_KEY = 1024
INVALID_CURSOR = "The cursor is not valid; start again without it."
# Signed width of each integer column type on PostgreSQL (Integer is int4).
_INTEGER_BITS: dict[type, int] = {SmallInteger: 16, BigInteger: 64}


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _encode(values: list[Any]) -> str:
    raw = json.dumps([str(v) if isinstance(v, uuid.UUID | datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, columns: list[InstrumentedAttribute[Any]]) -> list[Any]:
    """The key values of ``cursor``, each checked against its column so that nothing a
    client invents reaches the database: a malformed cursor is a 422, never a 500."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError("shape")
        return [_key_value(column, value) for column, value in zip(columns, values, strict=True)]
    except (ValueError, TypeError, OverflowError, RecursionError, NotImplementedError) as exc:
        raise InvalidInput(INVALID_CURSOR, slug="invalid-cursor", title="Invalid cursor") from exc


def _key_value(column: InstrumentedAttribute[Any], value: object) -> Any:
    """``value`` as the Python type of ``column``; ValueError when it can't be one."""
    column_type = column.type
    if isinstance(column_type, Uuid):
        return uuid.UUID(_text(value, 36))
    python_type = column_type.python_type
    if python_type is datetime:
        moment = datetime.fromisoformat(_text(value, 64))
        if moment.tzinfo is None:
            raise ValueError("naive datetime")
        return moment.astimezone(UTC)
    if python_type is int:
        bits = _INTEGER_BITS.get(type(column_type), 32)
        if type(value) is not int or not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
            raise ValueError("integer out of range")
        return value
    text = _text(value, getattr(column_type, "length", None) or MAX_TEXT_KEY)
    return python_type(text) if issubclass(python_type, StrEnum) else text


def _text(value: object, max_length: int) -> str:
    if not isinstance(value, str) or len(value) > max_length or "\x00" in value:
        raise ValueError("not a storable string")
    return value


def paginate(
    session: Session,
    stmt: Select[T],
    order_by: list[InstrumentedAttribute[Any]],
    cursor: str | None,
    limit: int,
    *,
    descending: bool = False,
    rows: bool = False,
) -> Page[T]:
    """One page of ``stmt`` ordered by ``order_by`` (which must end with a unique column).
    With ``rows``, items are result rows; each key is read from the row's element of its
    column's entity (the first element when none matches)."""
    limit = max(1, min(limit, MAX_LIMIT))
    if cursor:
        values = _decode(cursor, order_by)
        key = tuple_(*order_by)
        bound = tuple_(*[_bind(c, v) for c, v in zip(order_by, values, strict=True)])
        stmt = stmt.where(key < bound if descending else key > bound)
    stmt = stmt.order_by(*[c.desc() if descending else c.asc() for c in order_by])
    limited = stmt.limit(limit + 1)
    items: list[Any] = list(session.execute(limited).all() if rows else session.scalars(limited))
    next_cursor = None
    if len(items) > limit:
        items = items[:limit]
        last = items[-1]
        next_cursor = _encode(
            [getattr(_carrier(last, c) if rows else last, c.key) for c in order_by]
        )
    return Page(items, next_cursor)


def _carrier(row: Any, column: InstrumentedAttribute[Any]) -> Any:
    """The element of a result row that holds ``column`` (rows mixing entities)."""
    entity = getattr(column, "class_", None)
    for element in row:
        if entity is not None and isinstance(element, entity):
            return element
    return row[0]


def _bind(column: InstrumentedAttribute[Any], value: Any) -> Any:
    from sqlalchemy import literal

    return literal(value, column.type)
