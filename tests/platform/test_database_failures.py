"""Failures of the database itself answer 409 (a lost race: send it again) or 503 with
Retry-After (busy, locked, out of reach), never a 500."""

from __future__ import annotations

import re
import sqlite3
import threading
from typing import Any

import psycopg.errors
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from tenantry.core.db import database_failure, make_engine
from tenantry.core.errors import Conflict, Unavailable
from tenantry.identity import sign_in
from tests.conftest import Api

LOST_RACES = [psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure]
BUSY = [
    psycopg.errors.LockNotAvailable("lock timeout"),
    psycopg.errors.QueryCanceled("statement timeout"),
    psycopg.OperationalError("connection refused"),
    # A restart: sessions ended by a shutdown or a crash, connections refused during start-up.
    psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
    psycopg.errors.CrashShutdown("terminating connection because of crash of another process"),
    psycopg.errors.CannotConnectNow("the database system is starting up"),
    sqlite3.OperationalError("database is locked"),
]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _failing(orig: Exception) -> Any:
    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise OperationalError("UPDATE users SET ...", {}, orig)

    return fail


@pytest.mark.parametrize("error", LOST_RACES)
def test_a_lost_race_is_a_409_to_send_again(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    monkeypatch.setattr(sign_in, "sign_in", _failing(error("deadlock detected")))
    body = {"username": "someone@x.test", "password": "x" * 12}
    problem = Api(client).post("/auth/token", body, expect=409).json()
    assert problem["type"] == "urn:tenantry:problem:concurrent-change"
    assert "Send the request again" in problem["detail"]


@pytest.mark.parametrize("orig", BUSY, ids=str)
def test_a_busy_or_unreachable_database_is_a_503_with_retry_after(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, orig: Exception
) -> None:
    monkeypatch.setattr(sign_in, "sign_in", _failing(orig))
    body = {"username": "someone@x.test", "password": "x" * 12}
    response = Api(client).post("/auth/token", body, expect=503)
    assert response.json()["type"] == "urn:tenantry:problem:database-unavailable"
    assert int(response.headers["retry-after"]) > 0


def test_no_free_pooled_connection_is_a_503(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every pooled connection taken for longer than the lock wait: 503, not a 500."""

    def exhausted(*_args: Any, **_kwargs: Any) -> Any:
        raise PoolTimeout("QueuePool limit of size 10 overflow 20 reached")

    monkeypatch.setattr(sign_in, "sign_in", exhausted)
    body = {"username": "someone@x.test", "password": "x" * 12}
    response = Api(client).post("/auth/token", body, expect=503)
    assert response.json()["type"] == "urn:tenantry:problem:database-unavailable"


def test_a_page_says_the_database_is_unavailable_with_retry_after(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A form posted while the database restarts: a readable 503 page, no stack, Retry-After."""
    browser = TestClient(app, follow_redirects=False)
    token = CSRF.search(browser.get("/sign-in").text)
    assert token
    monkeypatch.setattr(
        sign_in, "check_password", _failing(psycopg.errors.AdminShutdown("terminating"))
    )
    response = browser.post(
        "/sign-in",
        data={"username": "someone@x.test", "password": "x" * 12, "csrf_token": token.group(1)},
    )
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) > 0
    assert "try again in a moment" in response.text
    assert "Traceback" not in response.text and "psycopg" not in response.text


def test_other_database_errors_stay_errors() -> None:
    """A bug (a missing table, bad SQL) is not dressed up as something to retry."""
    assert database_failure(OperationalError("x", {}, sqlite3.OperationalError("no table"))) is None
    syntax = psycopg.errors.SyntaxError("syntax error")
    assert database_failure(DBAPIError("x", {}, syntax)) is None
    assert database_failure(ValueError("not the database")) is None


def test_a_real_deadlock_is_a_lost_race(backend: str, engine_for: Engine) -> None:
    """Two transactions lock two rows in opposite orders: PostgreSQL kills one of them."""
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers: it has no deadlocks")
    keys = ["deadlock:a", "deadlock:b"]
    with engine_for.begin() as setup:
        for key in keys:
            setup.execute(
                text(
                    "INSERT INTO sign_in_throttle (key, failures, window_started_at) "
                    "VALUES (:key, 0, now()) ON CONFLICT (key) DO NOTHING"
                ),
                {"key": key},
            )
    both_hold_one = threading.Barrier(2)
    failures: list[BaseException] = []

    def lock_in_order(first: str, second: str) -> None:
        bump = text("UPDATE sign_in_throttle SET failures = failures + 1 WHERE key = :key")
        try:
            with engine_for.begin() as connection:
                connection.execute(bump, {"key": first})
                both_hold_one.wait(timeout=10)
                connection.execute(bump, {"key": second})
        except DBAPIError as exc:
            failures.append(exc)

    threads = [threading.Thread(target=lock_in_order, args=order) for order in (keys, keys[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(failures) == 1
    assert isinstance(database_failure(failures[0]), Conflict)
    assert not isinstance(database_failure(failures[0]), Unavailable)


def test_the_lock_wait_is_configured_on_every_connection(database_url: str) -> None:
    """TENANTRY_DATABASE_LOCK_WAIT_SECONDS bounds a wait for a lock on both databases (then the
    request is answered 503) instead of holding a worker thread indefinitely."""
    engine = make_engine(database_url, lock_wait_seconds=1.5)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1500
            else:
                assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == "1500ms"
    finally:
        engine.dispose()
