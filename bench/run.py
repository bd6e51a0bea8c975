"""`make bench`: latency of the core API and the access engine on SQLite and PostgreSQL.

Seeds TENANTS organisations x USERS users with bulk inserts (not through the password hasher),
then times requests through the real ASGI app in-process and raw access decisions. Prints
p50/p95 in milliseconds. PostgreSQL runs when TENANTRY_BENCH_POSTGRES_URL (or
TENANTRY_TEST_POSTGRES_URL) names a server; a fresh database is created and dropped there.
"""

from __future__ import annotations

import os
import random
import secrets
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert

from tenantry import access
from tenantry.api.app import create_app
from tenantry.config import Settings
from tenantry.migrations import alembic_config
from tenantry.models import ApiToken, Domain, RoleAssignment, Tenant, User
from tenantry.services.auth import TOKEN_PREFIX, hash_token
from tenantry.services.context import Principal

TENANTS = int(os.environ.get("BENCH_TENANTS", "2000"))
USERS = int(os.environ.get("BENCH_USERS", "50"))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "400"))
FIRST = ["alex", "bea", "chen", "dana", "eli", "fatima", "gus", "hana", "ivan", "jo"]


def databases() -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        yield "SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}"
    base = (
        os.environ.get("TENANTRY_BENCH_POSTGRES_URL")
        or os.environ.get("TENANTRY_TEST_POSTGRES_URL")
        or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    try:
        from tests.databases import fresh_postgres_database

        with fresh_postgres_database(base, prefix="tenantry_bench") as url:
            yield "PostgreSQL", url
    except Exception as exc:  # say why PostgreSQL was skipped, keep the SQLite figures
        Console().print(f"[yellow]PostgreSQL skipped: {exc}[/yellow]")


def seed(app: object) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    """Bulk-insert organisations, users and admin tokens; return (tenant, admin, token)."""
    now = datetime.now(UTC)
    admins: list[tuple[uuid.UUID, uuid.UUID, str]] = []
    factory = app.state.sessions  # type: ignore[attr-defined]
    batch = 200
    for start in range(0, TENANTS, batch):
        tenants, domains, users, roles, tokens = [], [], [], [], []
        for i in range(start, min(start + batch, TENANTS)):
            tid, label = uuid.uuid4(), f"org{i:05d}"
            domain = f"{label}.tenantry.test"
            tenants.append(
                {"id": tid, "name": f"Organisation {i:05d}", "created_at": now, "updated_at": now}
            )
            domains.append(
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tid,
                    "name": domain,
                    "status": "verified",
                    "verification_token": "",
                    "capabilities": ["email"],
                    "is_initial": True,
                    "is_default": True,
                    "created_at": now,
                }
            )
            for j in range(USERS):
                uid = uuid.uuid4()
                name = f"{FIRST[j % len(FIRST)]}{j:03d}"
                users.append(
                    {
                        "id": uid,
                        "tenant_id": tid,
                        "user_principal_name": f"{name}@{domain}",
                        "display_name": name.title(),
                        "password_hash": None,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                if j == 0:
                    roles.append(
                        {
                            "id": uuid.uuid4(),
                            "tenant_id": tid,
                            "role": "global_administrator",
                            "user_id": uid,
                            "created_at": now,
                        }
                    )
                    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
                    tokens.append(
                        {
                            "id": uuid.uuid4(),
                            "user_id": uid,
                            "token_hash": hash_token(token),
                            "created_at": now,
                            "expires_at": now + timedelta(days=1),
                        }
                    )
                    admins.append((tid, uid, token))
        with factory.begin() as session:
            for model, rows in (
                (Tenant, tenants),
                (Domain, domains),
                (User, users),
                (RoleAssignment, roles),
                (ApiToken, tokens),
            ):
                session.execute(insert(model), rows)
    return admins


def timed(samples: int, call: Callable[[], None]) -> tuple[float, float]:
    times = []
    for _ in range(samples):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def run_backend(label: str, url: str, table: Table) -> None:
    command.upgrade(alembic_config(url), "head")
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(database_url=url, data_dir=Path(data), secret_key="b" * 40)
        app = create_app(settings)
        began = time.perf_counter()
        admins = seed(app)
        seconds = time.perf_counter() - began
        rng = random.Random(7)
        with TestClient(app) as client:

            def get(path_of: Callable[[uuid.UUID], str]) -> Callable[[], None]:
                def call() -> None:
                    tid, _, token = rng.choice(admins)
                    response = client.get(
                        path_of(tid), headers={"Authorization": f"Bearer {token}"}
                    )
                    assert response.status_code == 200, response.text

                return call

            rows = {
                "GET /me (token check)": get(lambda t: "/api/v1/me"),
                "GET users, first page of 50": get(lambda t: f"/api/v1/tenants/{t}/users"),
                "GET users?search= (name prefix)": get(
                    lambda t: f"/api/v1/tenants/{t}/users?search={rng.choice(FIRST)}"
                ),
                "GET audit-events, first page": get(lambda t: f"/api/v1/tenants/{t}/audit-events"),
            }
            for name, call in rows.items():
                call()  # warm up
                p50, p95 = timed(SAMPLES, call)
                table.add_row(label, name, f"{p50:.2f}", f"{p95:.2f}", "")
        with app.state.sessions() as session:
            principals = [
                Principal(uid, tid, "x", "x", mfa=False, must_change_password=False)
                for tid, uid, _ in admins
            ]
            count, began_decisions = 0, time.perf_counter()
            while time.perf_counter() - began_decisions < 2.0:
                principal = rng.choice(principals)
                assert access.permissions(session, principal, principal.tenant_id).reachable
                count += 1
            rate = count / (time.perf_counter() - began_decisions)
        table.add_row(label, "access decisions", "", "", f"{rate:,.0f}/s")
        table.add_row(label, f"seed {TENANTS:,} orgs x {USERS} users", "", "", f"{seconds:.1f} s")
        app.state.engine.dispose()


def main() -> None:
    table = Table(
        title=f"Tenantry core benchmark ({TENANTS:,} organisations x {USERS} users, "
        f"{SAMPLES} samples per row, in-process ASGI)"
    )
    for column in ("database", "operation", "p50 ms", "p95 ms", "rate / time"):
        table.add_column(column)
    for label, url in databases():
        run_backend(label, url, table)
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
