"""Keyset (cursor) pagination: stable under inserts and fast at any depth."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, Uuid, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from tenantry.core.errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _encode(values: list[Any]) -> str:
    raw = json.dumps([str(v) if isinstance(v, uuid.UUID | datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, columns: list[InstrumentedAttribute[Any]]) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError("shape")
        out: list[Any] = []
        for column, value in zip(columns, values, strict=True):
            python_type = column.type.python_type if not isinstance(column.type, Uuid) else None
            if isinstance(column.type, Uuid):
                out.append(uuid.UUID(value))
            elif python_type is datetime:
                out.append(datetime.fromisoformat(value))
            elif python_type is int:
                out.append(int(value))
            else:
                out.append(str(value))
        return out
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidInput("The cursor is not valid; start again without it.") from exc


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
