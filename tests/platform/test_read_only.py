"""A streamed report reads in ``core.db.read_only``: a session that cannot write, on both
databases (PostgreSQL: a READ ONLY transaction; SQLite: ``PRAGMA query_only`` on that
connection, and only while it reads), so no code reached from a stream can change anything."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from tenantry.core.db import read_only, transaction
from tenantry.models import Tenant
from tests.conftest import Org


def test_the_read_only_session_cannot_write_and_others_still_can(
    sessions: sessionmaker[Session], org: Org
) -> None:
    tid = uuid.UUID(org.tenant_id)
    with read_only(sessions) as session:
        name = session.scalar(select(Tenant.name).where(Tenant.id == tid))
        assert name
        with pytest.raises(DBAPIError):
            session.execute(update(Tenant).where(Tenant.id == tid).values(name="Written"))
    # The connection goes back to the pool able to write for the next transaction.
    for _ in range(3):
        with transaction(sessions) as session:
            session.execute(update(Tenant).where(Tenant.id == tid).values(name="Renamed"))
    with sessions() as session:
        assert session.scalar(select(Tenant.name).where(Tenant.id == tid)) == "Renamed"
