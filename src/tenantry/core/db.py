"""Engine and sessions. One transaction per request: callers use ``transaction()``.

SQLite runs in WAL mode and every transaction starts with ``BEGIN IMMEDIATE`` so that two
writers never discover a conflict half-way (no "database is locked" on a read-then-write).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from tenantry.core.errors import Conflict, ServiceError, Unavailable

# PostgreSQL SQLSTATEs of a transaction that lost a race (worth retrying as it was) and of a
# database that could not serve it just now (retrying later may work): a lock not had in
# time, and a server shutting down, crashing or starting up (class 57P: a restart).
LOST_RACE = {"40P01": "deadlock", "40001": "serialisation failure"}
BUSY = {
    "55P03": "lock not available",
    "57014": "statement timeout",
    "57P01": "server shutting down",
    "57P02": "server crashed",
    "57P03": "server starting up",
}
RETRY_AFTER_SECONDS = 2
# How long a request waits for a lock (SQLite's write lock, a PostgreSQL row lock) before it
# is answered 503: long enough for any other request's transaction, short enough that a
# stuck one does not hold every worker thread.
DEFAULT_LOCK_WAIT_SECONDS = 10.0


# Execution option of a long read-only transaction (a streamed report): on SQLite its BEGIN is
# deferred, so it never holds the write lock that BEGIN IMMEDIATE takes for its whole length.
READ_ONLY = "tenantry_read_only"


def make_engine(url: str, lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": lock_wait_seconds}
        )
        _configure_sqlite(engine, lock_wait_seconds)
        return engine
    # pool_timeout: a request that finds every connection taken waits this long, then 503.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        pool_timeout=lock_wait_seconds,
        connect_args={
            "options": f"-c lock_timeout={int(lock_wait_seconds * 1000)}",
            "connect_timeout": 5,
        },
    )


def _configure_sqlite(engine: Engine, lock_wait_seconds: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(lock_wait_seconds * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = bool(conn.get_execution_options().get(READ_ONLY))
        # A read-only transaction cannot write (as PostgreSQL's READ ONLY): query_only is a
        # setting of the connection, so it is set back before the next transaction on it.
        if conn.info.get(READ_ONLY, False) != read_only:
            conn.exec_driver_sql(f"PRAGMA query_only={'ON' if read_only else 'OFF'}")
            conn.info[READ_ONLY] = read_only
        if read_only:
            conn.exec_driver_sql("BEGIN")  # a WAL snapshot: takes no write lock
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def read_only(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for a long read that must not stop writers (a streamed report, read while
    the request that asked for it has already returned): one snapshot for all its queries
    (SQLite: a deferred BEGIN in WAL mode; PostgreSQL: REPEATABLE READ, READ ONLY), always
    rolled back."""
    session = factory()
    try:
        options: dict[str, Any] = {READ_ONLY: True}
        if session.get_bind().dialect.name == "postgresql":
            options |= {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        session.connection(execution_options=options)
        yield session
    finally:
        try:
            session.rollback()
        finally:
            session.close()


def database_failure(exc: BaseException) -> ServiceError | None:
    """What a failure of the database itself means to the caller, never a 500: a deadlock or
    a serialisation failure is a 409 (concurrent change; send it again), a lock that could
    not be had, SQLite's "database is locked" or a lost connection a 503 with Retry-After.
    None for anything else (a bug, left to surface as one)."""
    if isinstance(exc, PoolTimeout):
        return _unavailable()
    if not isinstance(exc, DBAPIError):
        return None
    sqlstate = str(getattr(exc.orig, "sqlstate", None) or "")
    if sqlstate in LOST_RACE:
        return Conflict(
            f"Another change went on at the same time ({LOST_RACE[sqlstate]}); nothing was "
            "saved. Send the request again.",
            slug="concurrent-change",
            title="Concurrent change, retry",
        )
    message = str(exc.orig).lower()
    busy = sqlstate in BUSY or "database is locked" in message or "table is locked" in message
    lost = exc.connection_invalidated or sqlstate.startswith("08")
    if busy or lost or (not sqlstate and _lost_postgresql_connection(exc)):
        return _unavailable()
    return None


def _unavailable() -> Unavailable:
    return Unavailable(
        "The database is busy or out of reach just now; try again in a moment.",
        slug="database-unavailable",
        retry_after=RETRY_AFTER_SECONDS,
    )


def _lost_postgresql_connection(exc: DBAPIError) -> bool:
    """psycopg's operational errors without a SQLSTATE are of the connection (refused,
    closed, lost on the way)."""
    connection_error = isinstance(exc, OperationalError | InterfaceError)
    return connection_error and type(exc.orig).__module__.startswith("psycopg")
