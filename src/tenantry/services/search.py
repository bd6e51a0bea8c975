"""Prefix search that uses an index on both databases.

PostgreSQL uses the ``*_pattern_ops`` indexes of migration 0002 for ``LIKE 'abc%'`` whatever
the database collation; SQLite only uses an index for a prefix given as a range, so there
the range is added to the LIKE.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_
from sqlalchemy.orm import Session

TOP = "\U0010ffff"


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def prefix_match(session: Session, column: Any, prefix: str) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = column.like(escape_like(prefix) + "%", escape="\\")
    if session.get_bind().dialect.name == "sqlite":
        condition = and_(column >= prefix, column < prefix + TOP, condition)
    return condition
