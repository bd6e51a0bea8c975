"""Bench: one access template applied to every customer of the seeded partner (issue 14:
10,000 customers in at most 60 s), through the real API in-process: the preview, the apply
(one transaction of bulk INSERTs and audit events in each customer and the partner), and a
second apply that finds everything unchanged."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from rich.table import Table
from sqlalchemy import insert

from tenantry.identity.tokens import TOKEN_PREFIX, hash_token
from tenantry.models import ApiToken, RoleAssignment, User

TARGET_SECONDS = 60.0


def _partner_admin(app: Any, partner_id: uuid.UUID) -> str:
    """A Global Administrator of the partner, signed in with a second factor (applying hands
    out power over customers), and a security group for the template."""
    now = datetime.now(UTC)
    user_id = uuid.uuid4()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with app.state.sessions.begin() as session:
        session.execute(
            insert(User),
            [
                {
                    "id": user_id,
                    "tenant_id": partner_id,
                    "user_principal_name": "templates@fabrikam.tenantry.test",
                    "display_name": "Template admin",
                    "mfa_enabled": True,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        session.execute(
            insert(RoleAssignment),
            [
                {
                    "id": uuid.uuid4(),
                    "tenant_id": partner_id,
                    "role": "global_administrator",
                    "user_id": user_id,
                    "created_at": now,
                }
            ],
        )
        session.execute(
            insert(ApiToken),
            [
                {
                    "id": uuid.uuid4(),
                    "user_id": user_id,
                    "token_hash": hash_token(token),
                    "mfa": True,
                    "second_factor": "totp",
                    "created_at": now,
                    "expires_at": now + timedelta(days=1),
                }
            ],
        )
    return token


async def _run(app: Any, partner_id: uuid.UUID, customers: int) -> dict[str, float]:
    token = _partner_admin(app, partner_id)
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    times: dict[str, float] = {}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client,
    ):
        group = await client.post(
            f"/api/v1/tenants/{partner_id}/groups", json={"name": "Helpdesk"}, headers=headers
        )
        assert group.status_code == 201, group.text
        body = {
            "name": "Helpdesk everywhere",
            "assignments": [
                {
                    "group_id": group.json()["id"],
                    "roles": ["password_administrator"],
                    "eligible_roles": ["global_administrator"],
                }
            ],
        }
        made = await client.post("/api/v1/partner/access-templates", json=body, headers=headers)
        assert made.status_code == 201, made.text
        url = f"/api/v1/partner/access-templates/{made.json()['id']}"
        for name, path, action in (
            ("preview", "preview", "create"),
            ("apply", "apply", "create"),
            ("apply again", "apply", "unchanged"),
        ):
            began = time.perf_counter()
            response = await client.post(f"{url}/{path}", json={}, headers=headers)
            times[name] = time.perf_counter() - began
            assert response.status_code == 200, response.text[:500]
            assert response.json()["counts"][action] == customers, response.json()["counts"]
    return times


def bench_access_templates(
    app: Any, partner_id: uuid.UUID, customers: int, table: Table, label: str
) -> None:
    times = asyncio.run(_run(app, partner_id, customers))
    for name, seconds in times.items():
        verdict = "" if name != "apply" or seconds <= TARGET_SECONDS else " (over 60 s)"
        table.add_row(
            label,
            f"access template: {name}, {customers:,} customers",
            "",
            "",
            f"{seconds:.1f} s{verdict}",
        )
