"""Prefix search that walks an index in order on both databases, so LIMIT stops it early.

PostgreSQL: the search indexes of migration 0002 are on ``(expression COLLATE "C")``; matching
and ordering by that same expression lets one index serve ``LIKE 'abc%'`` and the ORDER BY,
whatever the database collation. SQLite only uses an index for a prefix given as a range, so
there the range is added to the LIKE.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_
from sqlalchemy.orm import Session

TOP = "\U0010ffff"


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def searchable(session: Session, column: Any) -> Any:
    """The expression a search matches and orders by (the one its index is built on)."""
    if session.get_bind().dialect.name == "postgresql":
        return column.collate("C")
    return column


def prefix_match(session: Session, column: Any, prefix: str) -> ColumnElement[bool]:
    expression = searchable(session, column)
    condition: ColumnElement[bool] = expression.like(escape_like(prefix) + "%", escape="\\")
    if session.get_bind().dialect.name == "sqlite":
        condition = and_(column >= prefix, column < prefix + TOP, condition)
    return condition
