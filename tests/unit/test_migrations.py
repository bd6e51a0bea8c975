"""Migrations from empty to head and back, and no drift between models and migrations."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.util.exc import CommandError
from sqlalchemy import inspect, text

from tenantry.db import make_engine
from tenantry.migrations import alembic_config
from tenantry.models import Base
from tests.databases import fresh_database


@pytest.fixture
def empty_database(backend: str, tmp_path) -> str:
    with fresh_database(backend, tmp_path) as url:
        yield url


def test_empty_to_head_to_base_and_back(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "head")
    engine = make_engine(empty_database)
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM skus")).scalar() >= 2
            assert conn.execute(text("SELECT count(*) FROM services")).scalar() == 4
        command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        command.upgrade(config, "head")
    finally:
        engine.dispose()


def test_models_and_migrations_agree(database_url: str) -> None:
    """`alembic check`: autogenerate finds nothing to add."""
    try:
        command.check(alembic_config(database_url))
    except CommandError as exc:  # pragma: no cover - the message is the diagnosis
        pytest.fail(f"models and migrations differ: {exc}")
