"""Test databases: a SQLite file, and a fresh PostgreSQL database per run when
TENANTRY_TEST_POSTGRES_URL is set (CI sets it, so there the PostgreSQL run is mandatory).
Each is made by and for one test worker (its name says which: tenantry_t_gw1_…)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from tests.workers import worker_id

POSTGRES_ENV = "TENANTRY_TEST_POSTGRES_URL"


def postgres_base_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@contextmanager
def fresh_postgres_database(base_url: str, prefix: str = "tenantry_t") -> Iterator[str]:
    """Create an empty database on the server of ``base_url``; drop it afterwards."""
    url = make_url(base_url)
    name = f"{prefix}_{worker_id()}_{uuid.uuid4().hex[:12]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp / f'tenantry-{uuid.uuid4().hex[:8]}.db'}"
        return
    base = postgres_base_url()
    assert base, POSTGRES_ENV + " is not set"
    with fresh_postgres_database(base) as url:
        yield url
