"""Backups taken while Tenantry serves, and restores into an empty database only.

SQLite is copied with its online backup API in one step: one read transaction, so the copy is
one consistent moment even while others write (WAL readers don't block writers). PostgreSQL is
dumped by ``pg_dump``, which reads everything in one repeatable-read snapshot, and restored by
``pg_restore``. A restore never merges into data: it refuses a database that has any table.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy import URL, make_url, text

from tenantry.core.db import make_engine
from tenantry.core.errors import ServiceError

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(ServiceError):
    """A backup or restore that cannot be done as asked; the message says why."""


def backup(database_url: str, destination: Path) -> None:
    """Write a consistent copy of the database to ``destination`` (a new file)."""
    if destination.exists():
        raise BackupError(f"{destination} already exists; back up to a new file")
    url = make_url(database_url)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if url.get_backend_name() == "sqlite":
            _backup_sqlite(_sqlite_path(url), partial)
        else:
            _run_postgres_tool("pg_dump", url, "--format=custom", f"--file={partial}")
        partial.replace(destination)
    finally:
        partial.unlink(missing_ok=True)


def restore(database_url: str, source: Path) -> None:
    """Load a backup into an empty database (never over existing data)."""
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    with source.open("rb") as file:
        magic = file.read(len(SQLITE_MAGIC))
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not magic.startswith(SQLITE_MAGIC):
            raise BackupError(f"{source} is not a SQLite backup; restore it into PostgreSQL")
        _restore_sqlite(source, _sqlite_path(url))
        return
    if not magic.startswith(PG_DUMP_MAGIC):
        raise BackupError(f"{source} is not a pg_dump backup; restore it into SQLite")
    _refuse_unless_empty_postgres(url)
    _run_postgres_tool(
        "pg_restore",
        url,
        "--exit-on-error",
        "--single-transaction",
        "--no-owner",
        "--no-privileges",
        str(source),
    )


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _backup_sqlite(database: Path, destination: Path) -> None:
    if not database.is_file():
        raise BackupError(f"there is no SQLite database at {database}")
    with (
        closing(sqlite3.connect(database, timeout=30)) as live,
        closing(sqlite3.connect(destination)) as copy,
    ):
        live.backup(copy)  # all pages in one step: one consistent snapshot


def _restore_sqlite(source: Path, database: Path) -> None:
    database.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(database, timeout=30)) as target:
        (tables,) = target.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if tables:
            raise BackupError(f"{database} is not empty; restore only into an empty database")
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as saved:
            saved.backup(target)


def _refuse_unless_empty_postgres(url: URL) -> None:
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        with engine.connect() as connection:
            tables = connection.scalar(
                text(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema "
                    "NOT IN ('pg_catalog', 'information_schema')"
                )
            )
    finally:
        engine.dispose()
    if tables:
        raise BackupError(
            f"database {url.database} is not empty; restore only into an empty database"
        )


def _run_postgres_tool(tool: str, url: URL, *arguments: str) -> None:
    """Run pg_dump or pg_restore on ``url``; the password goes in the environment, never on the
    command line, where any local user could read it."""
    program = shutil.which(tool)
    if program is None:
        raise BackupError(f"{tool} is not on PATH: install the PostgreSQL client tools")
    conninfo = URL.create(
        "postgresql", url.username, None, url.host, url.port, url.database, url.query
    ).render_as_string(hide_password=False)
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    done = subprocess.run(  # noqa: S603 - a PostgreSQL tool found on PATH, no shell
        [program, *arguments, f"--dbname={conninfo}"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[0]
        raise BackupError(f"{tool} failed: {reason}")
