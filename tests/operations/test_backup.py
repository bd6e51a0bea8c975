"""Backup while the app writes, restore into an empty database only: the copy is one
consistent moment (the audit chains verify) holding every write acknowledged before it."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantry.audit import chain as audit
from tenantry.core.config import Settings
from tenantry.core.db import make_engine
from tenantry.models import User
from tenantry.operations import backup as backups
from tests.conftest import make_org
from tests.databases import fresh_database


def _chain_problems(database_url: str, key: bytes) -> set[tuple[uuid.UUID, int | None, str]]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return {(p.tenant_id, p.seq, p.problem) for p in audit.verify(session, key)}
    finally:
        engine.dispose()


def test_backup_while_writing_then_restore_into_an_empty_database(
    backend: str, client: TestClient, database_url: str, settings: Settings, tmp_path: Path
) -> None:
    org = make_org(client)
    acknowledged: list[str] = []
    stop = threading.Event()

    def create_users() -> None:
        for _ in range(60):  # bounded: the test ends even if the backup is quick
            if stop.is_set():
                return
            acknowledged.append(org.create_user())

    writer = threading.Thread(target=create_users)
    writer.start()
    try:
        while len(acknowledged) < 3 and writer.is_alive():
            time.sleep(0.01)
        before_backup = list(acknowledged)
        saved = tmp_path / "tenantry.backup"
        backups.backup(database_url, saved)
    finally:
        stop.set()
        writer.join()
    assert len(before_backup) >= 3

    key = audit.audit_key(settings)
    # Other tests tamper with chains of their own tenants on purpose: the copy may show those,
    # nothing else.
    tampered_on_purpose = _chain_problems(database_url, key)
    with fresh_database(backend, tmp_path) as restored_url:
        backups.restore(restored_url, saved)
        restored_problems = _chain_problems(restored_url, key)
        assert restored_problems <= tampered_on_purpose
        assert not any(p[0] == uuid.UUID(org.tenant_id) for p in restored_problems)
        engine = make_engine(restored_url)
        try:
            with Session(engine) as session:
                restored_users = set(map(str, session.scalars(select(User.id))))
        finally:
            engine.dispose()
        assert set(before_backup) <= restored_users
        with pytest.raises(backups.BackupError, match="not empty"):
            backups.restore(restored_url, saved)


def test_restore_refuses_a_database_with_tables(database_url: str, tmp_path: Path) -> None:
    saved = tmp_path / "copy.backup"
    backups.backup(database_url, saved)
    with pytest.raises(backups.BackupError, match="not empty; restore only into an empty"):
        backups.restore(database_url, saved)
    with pytest.raises(backups.BackupError, match="already exists"):
        backups.backup(database_url, saved)


def test_a_backup_of_the_other_database_kind_is_refused(backend: str, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.backup"
    foreign.write_bytes(
        backups.PG_DUMP_MAGIC if backend == "sqlite" else backups.SQLITE_MAGIC + b"\0" * 100
    )
    with (
        fresh_database(backend, tmp_path) as empty_url,
        pytest.raises(backups.BackupError, match="is not a"),
    ):
        backups.restore(empty_url, foreign)


def test_without_pg_dump_postgresql_backup_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(backups.BackupError, match="pg_dump is not on PATH"):
        backups.backup("postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path / "x")
