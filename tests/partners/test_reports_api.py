"""Reports and the user search across customers through the API (issue 14; DESIGN §7):
formats by ``Accept`` or ``?format=``, a CSV safe to open in a spreadsheet, NDJSON that
parses line by line, refusals before the first byte, consent per customer, and a big report
streamed in pieces without holding it all."""

from __future__ import annotations

import csv
import dataclasses
import gc
import io
import json
import tracemalloc
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from tenantry.access.roles import Role
from tenantry.core.clock import utcnow
from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.models import Group, Relationship, Tenant, User
from tenantry.partners import reports
from tenantry.partners.reports import ReportFormat, ReportKind
from tenantry.web import session as web_session
from tests import factories
from tests.conftest import Api, Org, Partner, accepted, make_org


def _csv(api: Api, path: str, **params: Any) -> list[dict[str, str]]:
    response = api.get(path, params=params)
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def _ndjson(api: Api, path: str, **params: Any) -> list[dict[str, Any]]:
    response = api.get(path, params=params, headers={"Accept": "application/x-ndjson"})
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def _customer(client: TestClient, partner: Partner, roles: list[str], name: str) -> Org:
    customer = make_org(client, name)
    accepted(partner, customer, {"roles": roles, "duration": "P30D"})
    return customer


def test_the_users_report_as_csv_and_ndjson(client: TestClient, partner: Partner) -> None:
    customer = _customer(client, partner, ["global_reader"], "Formulas")
    for name in ("=SUM(1+1)", "+cmd", "-2+3", "@SUM(A1)", "Plain name"):
        customer.admin.post(
            f"{customer.base}/users",
            {
                "user_principal_name": f"{uuid.uuid4().hex[:8]}@{customer.domain}",
                "display_name": name,
            },
            expect=201,
        )
    rows = _csv(partner.admin, "/partner/reports/users", customer=customer.tenant_id)
    assert list(rows[0]) == list(reports.COLUMNS[ReportKind.USERS])
    names = {r["display_name"] for r in rows}
    assert {"'=SUM(1+1)", "'+cmd", "'-2+3", "'@SUM(A1)", "Plain name"} <= names
    admin = next(r for r in rows if r["user_principal_name"] == customer.admin_upn)
    assert admin["admin_roles"] == "global_administrator"
    assert admin["enabled"] == "true"
    lines = _ndjson(partner.admin, "/partner/reports/users", customer=customer.tenant_id)
    assert len(lines) == len(rows) == 6
    assert {line["display_name"] for line in lines} >= {"=SUM(1+1)", "Plain name"}  # as is
    first = next(line for line in lines if line["user_principal_name"] == customer.admin_upn)
    assert first["admin_roles"] == ["global_administrator"]
    assert first["licenses"] == []
    assert first["tenant_id"] == customer.tenant_id
    # ?format= wins over Accept; an Accept we can't answer is 406 before any byte.
    response = partner.admin.get(
        "/partner/reports/users?format=ndjson", headers={"Accept": "text/csv"}
    )
    assert response.headers["content-type"].startswith("application/x-ndjson")
    refused = partner.admin.get(
        "/partner/reports/users", expect=406, headers={"Accept": "application/xml"}
    )
    assert refused.json()["type"] == "urn:tenantry:problem:not-acceptable"
    partner.admin.get("/partner/reports/users?format=xlsx", expect=422)
    partner.admin.get("/partner/reports/secrets", expect=404)


def test_each_report_shows_only_what_the_agent_may_read(
    client: TestClient, partner: Partner
) -> None:
    reader = _customer(client, partner, ["global_reader"], "Reader")
    billing = _customer(client, partner, ["billing_administrator"], "Billing")
    billing.admin.post(
        f"{billing.base}/subscriptions", {"sku_id": "business_standard", "seats": 5}, expect=201
    )
    stranger = make_org(client, "Stranger")  # never consented
    pending = make_org(client, "Pending")
    partner.offer({"customer_tenant_id": pending.tenant_id, "roles": ["global_reader"]})
    agent = partner.agent("full")
    mine = {reader.tenant_id, billing.tenant_id, stranger.tenant_id, pending.tenant_id}

    def tenants(kind: str, api: Api = agent) -> set[str]:
        return {r["tenant_id"] for r in _ndjson(api, f"/partner/reports/{kind}")} & mine

    # users.read in Reader only: Billing's users never appear, nor a stranger's or pending's.
    assert tenants("users") == {reader.tenant_id}
    assert tenants("admins") == {reader.tenant_id}
    assert tenants("licenses") == {billing.tenant_id}
    # The relationships report: partner admins only; its own relationships, pending too.
    refused = agent.get("/partner/reports/relationships", expect=403)
    assert "partner.manage" in refused.json()["detail"]
    rows = _ndjson(partner.admin, "/partner/reports/relationships")
    assert {r["tenant_id"] for r in rows} & mine == {
        reader.tenant_id,
        billing.tenant_id,
        pending.tenant_id,
    }


def test_an_ended_relationship_leaves_every_report(client: TestClient, partner: Partner) -> None:
    customer = _customer(client, partner, ["global_reader"], "Ending")
    assert {r["tenant_id"] for r in _ndjson(partner.admin, "/partner/reports/users")} >= {
        customer.tenant_id
    }
    relationship = customer.admin.get(f"{customer.base}/partner-relationships").json()["items"]
    customer.admin.delete(
        f"{customer.base}/partner-relationships/{relationship[0]['id']}", expect=None
    )
    for kind in ("users", "licenses", "admins"):
        rows = _ndjson(partner.admin, f"/partner/reports/{kind}")
        assert customer.tenant_id not in {r["tenant_id"] for r in rows}, kind


def test_the_user_search_with_filters(client: TestClient, partner: Partner) -> None:
    customer = _customer(client, partner, ["global_reader"], "Searched")
    blocked = customer.create_user("blocked")
    customer.admin.patch(f"{customer.base}/users/{blocked}", {"enabled": False})
    customer.create_user("helper", roles=(Role.USER_ADMINISTRATOR,))
    only = {"customer": customer.tenant_id}

    def found(**filters: Any) -> set[str]:
        items = partner.admin.get("/partner/users", params={**only, **filters}).json()["items"]
        return {i["user_principal_name"].split("@")[0] for i in items}

    assert found() == {"admin", "blocked", "helper"}
    assert found(disabled="true") == {"blocked"}
    assert found(admin_role="true") == {"admin", "helper"}
    assert found(unlicensed="true") == {"admin", "blocked", "helper"}
    assert found(no_second_factor="true") == {"admin", "blocked", "helper"}
    assert found(q="hel") == {"helper"}
    page = partner.admin.get("/partner/users", params={**only, "limit": 2}).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    partner.admin.get("/partner/users", params={"customer": "not-an-id"}, expect=422)


BIG_CUSTOMERS = 50
USERS_EACH = 100


@pytest.fixture
def big(client: TestClient, partner: Partner, sessions: sessionmaker[Session]) -> list[str]:
    """5,000 users over 50 customers of the partner, written directly (and committed)."""
    now = utcnow()
    label = uuid.uuid4().hex[:8]
    ids: list[str] = []
    with sessions.begin() as session:
        home = session.get(Tenant, uuid.UUID(partner.org.tenant_id))
        assert home is not None
        agents = session.scalars(
            select(Group).where(Group.tenant_id == home.id, Group.agent_level == "full")
        ).one()
        for n in range(BIG_CUSTOMERS):
            customer = factories.tenant(session, f"Big {label} {n:03d}", now)
            link = factories.relationship(
                session,
                home,
                customer,
                now,
                roles=[Role.GLOBAL_READER],
                status="active",
                ends_at=now.replace(year=now.year + 1),
            )
            factories.assignment(session, link, agents, [Role.GLOBAL_READER], now)
            session.execute(
                insert(User),
                [
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": customer.id,
                        "user_principal_name": f"u{i:03d}@{n}.{label}.example",
                        "display_name": f"User {i}",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(USERS_EACH)
                ],
            )
            ids.append(str(customer.id))
    return ids


def test_a_big_report_streams_in_pieces(
    partner: Partner,
    big: list[str],
    sessions: sessionmaker[Session],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = _ndjson(partner.admin, "/partner/reports/users", customer=big)
    assert len(lines) == BIG_CUSTOMERS * USERS_EACH
    names = [line["tenant_name"] for line in lines]
    assert names == sorted(names)  # by customer, then by UPN
    # Read in small chunks, the stream holds a chunk at a time, never the whole report.
    monkeypatch.setattr(reports, "CHUNK_CUSTOMERS", 5)
    monkeypatch.setattr(reports, "YIELD_PER", 100)
    with sessions.begin() as session:
        home = session.get(Tenant, uuid.UUID(partner.org.tenant_id))
        admin = session.scalars(
            select(User).where(User.user_principal_name == partner.org.admin_upn)
        ).one()
        assert home is not None
        ctx = Context(
            session=session,
            settings=settings,
            principal=factories.principal(admin, mfa=True),
        )
        selection = reports.CustomerSelection(customers=tuple(uuid.UUID(i) for i in big))
        plan = reports.plan_report(ctx, ReportKind.USERS, selection)
    assert len(plan.customers) == BIG_CUSTOMERS
    small = dataclasses.replace(plan, customers=plan.customers[:10])
    sum(len(p) for p in reports.stream(sessions, small, ReportFormat.CSV))  # warm up

    def peak_of(plan: reports.ReportPlan) -> tuple[int, int, int]:
        tracemalloc.start()
        try:
            pieces = total = 0
            for piece in reports.stream(sessions, plan, ReportFormat.CSV):
                pieces += 1
                total += len(piece)
                gc.collect()  # what the stream holds, not garbage waiting for collection
            return pieces, total, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    _, small_total, small_peak = peak_of(small)
    pieces, total, peak = peak_of(plan)
    assert pieces > 25 and total > 4 * small_total
    # Five times the rows, about the same memory: a chunk and a piece at a time.
    assert peak < small_peak * 1.5, (small_peak, peak)
    # While a report streams, writers go on (SQLite: its BEGIN takes no write lock).
    body = reports.stream(sessions, plan, ReportFormat.NDJSON)
    assert next(body).count(b"\n") == 1  # the first row at once
    assert next(body).count(b"\n") == reports.ROWS_PER_PIECE - 1
    with sessions.begin() as session:
        session.execute(
            update(Relationship)
            .where(Relationship.customer_tenant_id == uuid.UUID(big[0]))
            .values(auto_extend=False)
        )
    body.close()


def test_the_find_page_filters_and_the_reports_page_download(
    app: Any, client: TestClient, partner: Partner
) -> None:
    customer = _customer(client, partner, ["global_reader"], "Paged")
    blocked = customer.create_user("blocked")
    customer.admin.patch(f"{customer.base}/users/{blocked}", {"enabled": False})
    web = TestClient(app, follow_redirects=False)
    web.cookies.set(web_session.SESSION_COOKIE, str(partner.admin.token))
    page = web.get(f"/partner/find?disabled=on&q=blocked@{customer.domain}")
    assert page.status_code == 200, page.text
    assert f'value="{customer.tenant_id}:{blocked}"' in page.text
    assert "Run a job on the selected users" in page.text
    assert 'action="/partner/jobs/new"' in page.text
    nobody = web.get(f"/partner/find?admin_role=on&q=blocked@{customer.domain}")
    assert "No user you may see matches." in nobody.text
    reports_page = web.get("/partner/reports")
    assert reports_page.status_code == 200, reports_page.text
    assert 'name="report" value="users"' in reports_page.text
    download = web.get("/partner/reports/download?report=users&format=csv")
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="users-report.csv"'
    assert f"blocked@{customer.domain}" in download.text
    agent = partner.agent("full")
    web.cookies.set(web_session.SESSION_COOKIE, str(agent.token))
    refused = web.get("/partner/reports/download?report=relationships")
    assert refused.status_code == 403
