"""Failures of the database itself answer 409 (a lost race: send it again) or 503 with
Retry-After (busy, locked, out of reach), never a 500."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import psycopg.errors
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from tenantry.core.db import database_failure
from tenantry.core.errors import Conflict, Unavailable
from tenantry.identity import sign_in
from tests.conftest import Api

LOST_RACES = [psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure]
BUSY = [
    psycopg.errors.LockNotAvailable("lock timeout"),
    psycopg.errors.QueryCanceled("statement timeout"),
    psycopg.OperationalError("connection refused"),
    sqlite3.OperationalError("database is locked"),
]


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
