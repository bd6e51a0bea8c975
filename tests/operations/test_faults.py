"""Faults under load (docs/architecture.md §4): the database restarted or crashed, a server
killed, two processes on one SQLite file. Clients see 503 with Retry-After, never a 500;
service resumes by itself; every write that was acknowledged is stored, with the audit chain
intact. Each test prints its figures (the README's "Faults, tested")."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select
from sqlalchemy.engine import make_url

from tenantry.audit import chain
from tenantry.core.config import Settings
from tenantry.core.db import make_engine, make_sessionmaker
from tenantry.migrations import alembic_config
from tenantry.models import Group, User
from tests.conftest import TEST_SECRET_KEY, unique_label
from tests.operations.load import Answer, Load, figures
from tests.operations.servers import PrivatePostgres, Server, serving, sign_up

pytestmark = pytest.mark.slow

# The promise: service is back at most this long after the database is.
RESUMES_WITHIN_SECONDS = 10
OUTAGE_SECONDS = 3


def start_load(servers: list[Server], label: str) -> Load:
    tenant_id, bearer = sign_up(servers[0].url, label)
    domain = f"{label}.tenantry.test"
    return Load([server.url for server in servers], tenant_id, bearer, domain).start()


def assert_nothing_acknowledged_is_lost(database_url: str, load: Load, answers: list[Answer]):
    """Every 2xx write is in the database, and the tenant's audit chain verifies."""
    tenant_id = uuid.UUID(load.tenant_id)
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            users = set(
                session.scalars(select(User.user_principal_name).where(User.tenant_id == tenant_id))
            )
            groups = set(session.scalars(select(Group.name).where(Group.tenant_id == tenant_id)))
            key = chain.audit_key(Settings(secret_key=TEST_SECRET_KEY))
            problems = list(chain.verify(session, key, tenant_id))
    finally:
        engine.dispose()
    acknowledged = [answer for answer in answers if answer.acknowledged]
    missing = [
        answer.key
        for answer in acknowledged
        if (answer.kind == "user" and f"{answer.key}@{load.domain}" not in users)
        or (answer.kind == "group" and answer.key not in groups)
    ]
    assert not missing, f"acknowledged but not stored: {missing[:10]}"
    assert not problems, problems
    return sum(1 for answer in acknowledged if answer.kind != "read")


def assert_never_500(answers: list[Answer]) -> None:
    """Every answer is a success or a 503 with Retry-After in the API's problem format."""
    wrong = [a for a in answers if a.status is not None and not a.acknowledged and a.status != 503]
    assert not wrong, wrong[:5]
    for answer in answers:
        if answer.status == 503:
            assert answer.retry_after, answer
            assert answer.content_type.startswith("application/problem+json"), answer


def first_success(answers: list[Answer], server: int, after: float) -> float | None:
    return next(
        (a.at for a in answers if a.server == server and a.at > after and a.acknowledged), None
    )


def report(name: str, numbers: dict[str, object]) -> None:
    print(f"\n[fault run] {name}: " + ", ".join(f"{k} {v}" for k, v in numbers.items()))


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    if not PrivatePostgres.available():
        pytest.skip("PostgreSQL's server programs (pg_config --bindir) are not installed")
    server = PrivatePostgres()
    try:
        server.start()
        command.upgrade(alembic_config(server.url), "head")
        yield server
    finally:
        server.remove()


def test_postgresql_restarted_and_crashed_under_load(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    """Two servers take writes while PostgreSQL is stopped (fast: sessions ended) and then
    crashed (immediate: the write-ahead log replayed at start), each time for a few seconds."""
    with serving(private_postgres.url, tmp_path, TENANTRY_JOBS_INTERVAL_SECONDS="1") as servers:
        load = start_load(servers, unique_label("pgfault"))
        time.sleep(2)
        outages = []
        for mode in ("fast", "immediate"):
            down = time.monotonic()
            private_postgres.stop(mode)
            time.sleep(OUTAGE_SECONDS)
            private_postgres.start()
            up = time.monotonic()
            deadline = up + RESUMES_WITHIN_SECONDS + 5
            while time.monotonic() < deadline and any(
                first_success(load.answers[:], number, up) is None for number in range(len(servers))
            ):
                time.sleep(0.2)
            outages.append((down, up))
            time.sleep(2)
        answers = load.stop()
        still_running = [server.process.poll() is None for server in servers]

    assert all(still_running)
    assert_never_500(answers)
    assert not [a for a in answers if a.status is None], "a request got no answer at all"
    resumed_after = []
    for down, up in outages:
        assert any(a.status == 503 and down <= a.at <= up + 1 for a in answers), "no outage seen"
        for number in range(len(servers)):
            back = first_success(answers, number, up)
            assert back is not None and back - up <= RESUMES_WITHIN_SECONDS, (number, back, up)
            resumed_after.append(back - up)
    stored = assert_nothing_acknowledged_is_lost(private_postgres.url, load, answers)
    report(
        "PostgreSQL stopped and crashed, 2 servers",
        {
            **figures(answers),
            "writes found afterwards": stored,
            "outages": f"2 x {OUTAGE_SECONDS} s",
            "service back after (s, worst)": round(max(resumed_after), 2),
        },
    )


def test_a_server_killed_mid_load_loses_nothing_acknowledged(
    database_url: str, tmp_path: Path
) -> None:
    with serving(database_url, tmp_path) as servers:
        load = start_load(servers, unique_label("kill"))
        time.sleep(3)
        killed_at = time.monotonic()
        servers[0].kill()
        time.sleep(3)
        answers = load.stop()
        survivor_running = servers[1].process.poll() is None

    assert survivor_running
    assert_never_500(answers)
    assert any(a.acknowledged and a.server == 0 for a in answers)
    assert first_success(answers, 1, killed_at) is not None
    assert all(a.status is None for a in answers if a.server == 0 and a.at > killed_at + 0.5)
    stored = assert_nothing_acknowledged_is_lost(database_url, load, answers)
    report(
        f"one of 2 servers killed with SIGKILL ({make_url(database_url).get_backend_name()})",
        {**figures(answers), "writes found afterwards": stored},
    )


def test_two_processes_on_one_sqlite_file_wait_then_503(tmp_path: Path) -> None:
    """Two servers write one SQLite file: they wait for each other's write lock; while someone
    holds it longer than the lock wait (a third process here), they answer 503, never 500.
    (The wait is shortened from its default of 10 s to keep the test short; SQLite's waiters
    are not served in order, so much shorter waits can run out under load.)"""
    LOCK_WAIT = 3
    path = tmp_path / "shared.db"
    url = f"sqlite:///{path}"
    command.upgrade(alembic_config(url), "head")
    with serving(url, tmp_path, TENANTRY_DATABASE_LOCK_WAIT_SECONDS=str(LOCK_WAIT)) as servers:
        load = start_load(servers, unique_label("sqlite"))
        time.sleep(3)
        holder = sqlite3.connect(path, isolation_level=None, timeout=30)
        holder.execute("BEGIN IMMEDIATE")  # another process takes the write lock...
        held_from = time.monotonic()
        time.sleep(LOCK_WAIT + 2)
        holder.execute("ROLLBACK")  # ...and lets it go
        released = time.monotonic()
        holder.close()
        time.sleep(2)
        answers = load.stop()

    assert_never_500(answers)
    before = [a for a in answers if a.at < held_from]
    assert sum(a.acknowledged for a in before) > 20, "the two servers did not share the file"
    assert not [a for a in before if not a.acknowledged], "a wait for the other server failed"
    assert any(a.status == 503 and held_from < a.at <= released + 1 for a in answers)
    for number in range(len(servers)):
        back = first_success(answers, number, released)
        assert back is not None and back - released <= RESUMES_WITHIN_SECONDS
    stored = assert_nothing_acknowledged_is_lost(url, load, answers)
    report(
        f"2 servers on one SQLite file, write lock held {LOCK_WAIT + 2} s by a third process",
        {**figures(answers), "writes found afterwards": stored},
    )
