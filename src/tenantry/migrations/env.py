"""Alembic environment: runs against the URL the config carries, with our metadata."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context

from tenantry.core.db import make_engine
from tenantry.models import Base
from tenantry.models.base import UTCDateTime

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render our UTC type as the plain column type it stores."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Expression indexes are managed by hand: the search indexes (migration 0002);
    autogenerate can't compare them on every dialect."""
    return not (type_ == "index" and name is not None and name.startswith("ix_search_"))


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    # A schema change waits longer than a request for the locks of running servers.
    engine = make_engine(url, lock_wait_seconds=120)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_item=render_item,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
