"""Customer groups at partner scale (issue 14): the customer page filtered by a dynamic group,
"holds SKU X and the relationship ends within 90 days" (a tenth of the customers end within
60 days), and "custom field region = EU and over 40 seats used" (a third are in the EU), as
the agent reads it (each customer-data condition under the delegated rule). p50/p95 in ms
through the whole ASGI app, like bench/run.py's rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from rich.table import Table
from sqlalchemy import insert, text, update

from tenantry.models import CustomerField, CustomerGroup, CustomerGroupKind, Relationship


def _seed_groups(app: Any, seeded: Any) -> dict[str, uuid.UUID]:
    """Two dynamic groups of the partner, and the data their rules pick from."""
    now = datetime.now(UTC)
    ids = [tid for tid, *_ in seeded.customers]
    soon = ids[::10]
    groups = {
        "SKU and ends within 90 days": {
            "all": [
                {"condition": "skus", "includes": "any", "skus": ["business_standard"]},
                {"condition": "relationship_ends", "within_days": 90},
            ]
        },
        "field region=EU and seats used > 40": {
            "all": [
                {"condition": "field", "key": "region", "equals": "EU"},
                {"condition": "seats", "measure": "used", "op": "gt", "value": 40},
            ]
        },
    }
    made: dict[str, uuid.UUID] = {}
    with app.state.sessions.begin() as session:
        for start in range(0, len(soon), 1000):
            session.execute(
                update(Relationship)
                .where(Relationship.customer_tenant_id.in_(soon[start : start + 1000]))
                .values(ends_at=now + timedelta(days=60))
            )
        session.execute(
            insert(CustomerField),
            [
                {
                    "partner_tenant_id": seeded.partner_id,
                    "customer_tenant_id": tid,
                    "key": "region",
                    "value": ("EU", "US", "APAC")[i % 3],
                    "updated_at": now,
                }
                for i, tid in enumerate(ids)
            ],
        )
        for name, rule in groups.items():
            made[name] = uuid.uuid4()
            session.execute(
                insert(CustomerGroup).values(
                    id=made[name],
                    partner_tenant_id=seeded.partner_id,
                    name=name,
                    kind=CustomerGroupKind.DYNAMIC,
                    rule=rule,
                    created_at=now,
                    updated_at=now,
                )
            )
    with app.state.sessions.begin() as session:
        session.execute(text("ANALYZE"))
    return made


async def time_group_pages(app: Any, seeded: Any, table: Table, label: str, timed: Any) -> None:
    """The customer page (50) filtered by each dynamic group, as the agent."""
    made = _seed_groups(app, seeded)
    agent = {"Authorization": f"Bearer {seeded.agent_token}"}
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):
        for name, gid in made.items():

            async def call(gid: uuid.UUID = gid) -> None:
                response = await client.get(
                    f"/api/v1/partner/customers?limit=50&group={gid}", headers=agent
                )
                assert response.status_code == 200, response.text
                assert len(response.json()["items"]) == 50, response.text

            p50, p95 = await timed(call)
            table.add_row(
                label, f"customers: page of 50, group {name}", f"{p50:.2f}", f"{p95:.2f}", ""
            )
