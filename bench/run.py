"""`make bench`: Tenantry at partner scale, on SQLite and on PostgreSQL.

Seeds one partner with CUSTOMERS customers x USERS users each (bulk inserts, not through the
password hasher): domains, a subscription with licences, service requests, and a live classic
relationship whose access assignment holds the partner's agent. Then times, through the real
ASGI app in-process (httpx's ASGI transport, one client: latencies, not throughput), the
partner's lookups, customer pages and on-behalf reads, and raw access decisions per second.
Prints p50/p95 in ms.

PostgreSQL runs when TENANTRY_BENCH_POSTGRES_URL (or TENANTRY_TEST_POSTGRES_URL, or the local
default) names a reachable server; a fresh database is created there and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from alembic import command
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, text

from bench import customer_groups, reports
from bench import jobs as bench_jobs
from bench.access_templates import bench_access_templates
from tenantry import access
from tenantry.app import create_app
from tenantry.core.config import Settings
from tenantry.core.context import Principal, SecondFactor
from tenantry.identity.tokens import TOKEN_PREFIX, hash_token
from tenantry.migrations import alembic_config
from tenantry.models import (
    AccessAssignment,
    ApiToken,
    Domain,
    Group,
    GroupMember,
    Relationship,
    RoleAssignment,
    ServiceRequest,
    Subscription,
    Tenant,
    User,
)

CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "10000"))
USERS = int(os.environ.get("BENCH_USERS", "50"))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "300"))
FIRST = [
    "alex",
    "bea",
    "chen",
    "dana",
    "eli",
    "fatima",
    "gus",
    "hana",
    "ivan",
    "jo",
    "kim",
    "lena",
    "megan",
    "nestor",
    "omar",
    "priya",
    "quinn",
    "rosa",
    "sam",
    "tariq",
]
LAST = ["wilber", "bowen", "siciliani", "wilke", "holloway", "langer", "archie", "sherman"]


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


@dataclass
class Seeded:
    partner_id: uuid.UUID
    agent_id: uuid.UUID
    agent_token: str
    customers: list[tuple[uuid.UUID, str, uuid.UUID, str]]  # tenant, domain, admin, token


def _token(user_id: uuid.UUID, now: datetime, mfa: bool) -> tuple[str, dict[str, Any]]:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "token_hash": hash_token(token),
        "mfa": mfa,
        "second_factor": SecondFactor.TOTP if mfa else SecondFactor.NONE,
        "created_at": now,
        "expires_at": now + timedelta(days=1),
    }


def seed(app: Any) -> Seeded:
    now = datetime.now(UTC)
    factory = app.state.sessions
    partner_id, agent_id, group_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    agent_token, agent_token_row = _token(agent_id, now, mfa=True)
    with factory.begin() as session:
        session.execute(
            insert(Tenant),
            [
                {
                    "id": partner_id,
                    "name": "Fabrikam IT Services",
                    "is_partner": True,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        session.execute(
            insert(Domain),
            [
                {
                    "id": uuid.uuid4(),
                    "tenant_id": partner_id,
                    "name": "fabrikam.tenantry.test",
                    "status": "verified",
                    "verification_token": "",
                    "capabilities": ["email"],
                    "is_initial": True,
                    "is_default": True,
                    "created_at": now,
                }
            ],
        )
        session.execute(
            insert(User),
            [
                {
                    "id": agent_id,
                    "tenant_id": partner_id,
                    "user_principal_name": "agent@fabrikam.tenantry.test",
                    "display_name": "Agent",
                    "mfa_enabled": True,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        session.execute(
            insert(Group),
            [
                {
                    "id": group_id,
                    "tenant_id": partner_id,
                    "name": "Admin agents",
                    "kind": "security",
                    "created_at": now,
                }
            ],
        )
        session.execute(
            insert(GroupMember), [{"group_id": group_id, "user_id": agent_id, "added_at": now}]
        )
        session.execute(insert(ApiToken), [agent_token_row])
    customers: list[tuple[uuid.UUID, str, uuid.UUID, str]] = []
    batch = 200
    for start in range(0, CUSTOMERS, batch):
        rows: dict[type, list[dict[str, Any]]] = {
            model: []
            for model in (
                Tenant,
                Domain,
                User,
                RoleAssignment,
                ApiToken,
                Subscription,
                ServiceRequest,
                Relationship,
                AccessAssignment,
            )
        }
        for i in range(start, min(start + batch, CUSTOMERS)):
            tid, domain = uuid.uuid4(), f"cust{i:05d}.tenantry.test"
            rows[Tenant].append(
                {"id": tid, "name": f"Customer {i:05d}", "created_at": now, "updated_at": now}
            )
            rows[Domain].append(
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
            admin_id = uuid.uuid4()
            for j in range(USERS):
                first, last = FIRST[j % len(FIRST)], LAST[(i + j) % len(LAST)]
                rows[User].append(
                    {
                        "id": admin_id if j == 0 else uuid.uuid4(),
                        "tenant_id": tid,
                        "user_principal_name": f"{first}.{last}{j}@{domain}",
                        "display_name": f"{first.title()} {last.title()}",
                        "password_hash": None,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            rows[RoleAssignment].append(
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tid,
                    "role": "global_administrator",
                    "user_id": admin_id,
                    "created_at": now,
                }
            )
            token, token_row = _token(admin_id, now, mfa=False)
            rows[ApiToken].append(token_row)
            rows[Subscription].append(
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tid,
                    "sku_id": "business_standard",
                    "seats": USERS,
                    "assigned": USERS - 5,
                    "status": "active",
                    "created_at": now,
                }
            )
            rows[ServiceRequest].append(
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tid,
                    "title": "Mail delays",
                    "description": "...",
                    "severity": "medium",
                    "status": "open",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            rid = uuid.uuid4()
            rows[Relationship].append(
                {
                    "id": rid,
                    "partner_tenant_id": partner_id,
                    "customer_tenant_id": tid,
                    "roles": ["global_administrator", "password_administrator"],
                    "status": "active",
                    "duration_days": 730,
                    "auto_extend": False,
                    "created_at": now,
                    "activated_at": now,
                    "ends_at": now + timedelta(days=730),
                    "version": 1,
                }
            )
            rows[AccessAssignment].append(
                {
                    "id": uuid.uuid4(),
                    "relationship_id": rid,
                    "group_id": group_id,
                    "roles": ["global_administrator"],
                    "created_at": now,
                }
            )
            customers.append((tid, domain, admin_id, token))
        with factory.begin() as session:
            for model, values in rows.items():
                session.execute(insert(model), values)
    with factory.begin() as session:  # fresh planner statistics, as autovacuum would give
        session.execute(text("ANALYZE"))
    return Seeded(partner_id, agent_id, agent_token, customers)


async def timed(call: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    await call()  # warm up
    times = []
    for _ in range(SAMPLES):
        began = time.perf_counter()
        await call()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


async def time_requests(app: Any, seeded: Seeded, table: Table, label: str) -> None:
    """Requests go through the whole ASGI app (middleware, routing, dependencies, the
    transaction, serialisation) on one event loop, as under uvicorn, without a socket."""
    rng = random.Random(7)
    agent = {"Authorization": f"Bearer {seeded.agent_token}"}

    def customer() -> tuple[uuid.UUID, str, uuid.UUID, str]:
        return rng.choice(seeded.customers)

    def as_agent() -> dict[str, str]:
        return agent

    def as_customer_admin() -> dict[str, str]:
        return {"Authorization": f"Bearer {customer()[3]}"}

    # Customer names are "Customer 00000".."Customer 09999": "customer 0NN" matches 100 of
    # them, so the page of 50 is full and has a next page.
    paths: dict[str, tuple[Callable[[], str], Callable[[], dict[str, str]]]] = {
        "lookup: exact domain": (lambda: f"/api/v1/partner/lookup?q={customer()[1]}", as_agent),
        "lookup: user-name prefix": (
            lambda: f"/api/v1/partner/lookup?q={rng.choice(FIRST)}.{rng.choice(LAST)}",
            as_agent,
        ),
        "customers: page of 50, search term": (
            lambda: (
                f"/api/v1/partner/customers?limit=50&search=customer%200{rng.randrange(100):02d}"
            ),
            as_agent,
        ),
        "customers: first page of 50": (lambda: "/api/v1/partner/customers?limit=50", as_agent),
        "on behalf: GET users, first page": (
            lambda: f"/api/v1/tenants/{customer()[0]}/users",
            as_agent,
        ),
        "GET /me (token check)": (lambda: "/api/v1/me", as_customer_admin),
    }
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):
        for name, (path, headers) in paths.items():

            async def call(
                path: Callable[[], str] = path, headers: Callable[[], dict[str, str]] = headers
            ) -> None:
                response = await client.get(path(), headers=headers())
                assert response.status_code == 200, response.text

            p50, p95 = await timed(call)
            table.add_row(label, name, f"{p50:.2f}", f"{p95:.2f}", "")


def decisions_per_second(app: Any, seeded: Seeded) -> float:
    principal = Principal(
        seeded.agent_id, seeded.partner_id, "agent", "Agent", mfa=True, must_change_password=False
    )
    rng = random.Random(11)
    with app.state.sessions() as session:
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < 2.0:
            decision = access.permissions(session, principal, rng.choice(seeded.customers)[0])
            assert decision.delegated and decision.grants
            count += 1
        return count / (time.perf_counter() - started)


def run_backend(label: str, url: str, table: Table) -> None:
    command.upgrade(alembic_config(url), "head")
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(
            database_url=url, data_dir=Path(data), secret_key="b" * 40, jobs_interval_seconds=0
        )
        app = create_app(settings)
        began = time.perf_counter()
        seeded = seed(app)
        seconds = time.perf_counter() - began
        asyncio.run(time_requests(app, seeded, table, label))
        reports.users_report(app, seeded.agent_token, table, label)
        rate = decisions_per_second(app, seeded)
        asyncio.run(customer_groups.time_group_pages(app, seeded, table, label, timed))
        bench_access_templates(app, seeded.partner_id, CUSTOMERS, table, label)
        table.add_row(label, "access decisions (delegated path)", "", "", f"{rate:,.0f}/s")
        bench_jobs.run(app, seeded, table, label)
        table.add_row(
            label, f"seed {CUSTOMERS:,} customers x {USERS} users", "", "", f"{seconds:.0f} s"
        )
        app.state.engine.dispose()


def main() -> None:
    table = Table(
        title=f"Tenantry partner-scale benchmark: 1 partner, {CUSTOMERS:,} customers"
        f" x {USERS} users, {SAMPLES} samples per row, in-process ASGI"
    )
    for column in ("database", "operation", "p50 ms", "p95 ms", "rate / time"):
        table.add_column(column)
    for label, url in databases():
        run_backend(label, url, table)
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
