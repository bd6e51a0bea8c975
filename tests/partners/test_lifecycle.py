"""The relationship lifecycle runs by itself: expiring (30 days before, e-mail to both sides),
expired at the end, auto-extend where allowed, pending offers expire after 90 days. Tests move
the clock; the sweeper is idempotent and safe when several run at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tenantry.core.config import Settings
from tenantry.models import OutboxMessage
from tests.conftest import Agent, FakeClock, Inbox, Org, Partner, accepted, sign_in, sweep


def mail_to(sessions: sessionmaker[Session], address: str) -> list[str]:
    with sessions() as session:
        return list(
            session.scalars(
                select(OutboxMessage.subject)
                .where(OutboxMessage.recipient == address)
                .order_by(OutboxMessage.created_at)
            )
        )


def test_expiring_then_expired(
    client: TestClient,
    partner: Partner,
    org: Org,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    org.admin.patch(org.base, {"technical_contact_email": "it@customer.example"})
    relationship = accepted(partner, org, {"roles": ["user_administrator"], "duration": "P60D"})
    agent = Agent(partner)
    assert sweep(sessions, settings, clock).expiring == 0

    clock.advance(days=31)
    first = sweep(sessions, settings, clock)
    again = sweep(sessions, settings, clock)
    assert first.expiring >= 1 and again.expiring == 0  # idempotent
    admin = sign_in(client, org.admin_upn)
    listed = admin.get(f"{org.base}/partner-relationships").json()["items"]
    assert [r["status"] for r in listed] == ["expiring"]
    assert len([s for s in mail_to(sessions, "it@customer.example") if "ends on" in s]) == 1
    assert any("ends on" in s for s in mail_to(sessions, partner.org.admin_upn))
    agent.fresh().get(f"{org.base}/users", expect=200)  # still usable while expiring

    clock.advance(days=30)
    agent.fresh().get(f"{org.base}/users", expect=404)  # denied at the end, sweeper or not
    assert sweep(sessions, settings, clock).expired >= 1
    admin = sign_in(client, org.admin_upn)
    assert admin.get(f"{org.base}/partner-relationships").json()["items"] == []
    events = admin.get(f"{org.base}/audit-events?action=partner.relationship.expire").json()
    assert events["items"][0]["relationship_id"] == relationship["id"]


def test_auto_extend_where_allowed(
    partner: Partner,
    org: Org,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    relationship = accepted(
        partner,
        org,
        {"roles": ["service_support_administrator"], "duration": "P30D", "auto_extend": True},
    )
    agent = Agent(partner)
    end = datetime.fromisoformat(relationship["ends_at"])
    clock.advance(days=15)
    assert sweep(sessions, settings, clock).expiring == 0  # auto-extending ones don't expire
    clock.advance(days=14, hours=12)  # half a day before the end: extended ahead of it
    assert sweep(sessions, settings, clock).extended >= 1
    clock.advance(days=2)
    agent.fresh().get(f"{org.base}/service-requests", expect=200)  # extended, never cut off
    rows = sign_in(org.client, org.admin_upn).get(f"{org.base}/partner-relationships").json()
    assert rows["items"][0]["status"] == "active" and rows["items"][0]["auto_extend"] is True
    assert datetime.fromisoformat(rows["items"][0]["ends_at"]) == end + timedelta(days=180)


def test_pending_offers_expire_after_90_days(
    partner: Partner,
    org: Org,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    partner.offer({"customer_tenant_id": org.tenant_id, "roles": ["global_reader"]})
    clock.advance(days=89)
    sweep(sessions, settings, clock)
    admin = sign_in(org.client, org.admin_upn)
    assert [
        r["status"] for r in admin.get(f"{org.base}/partner-relationships").json()["items"]
    ] == ["approval_pending"]
    clock.advance(days=2)
    assert sweep(sessions, settings, clock).pending_expired >= 1
    admin = sign_in(org.client, org.admin_upn)
    assert admin.get(f"{org.base}/partner-relationships").json()["items"] == []


def test_concurrent_sweepers_move_each_relationship_once(
    client: TestClient,
    partner: Partner,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    from tests.conftest import make_org

    customers = [make_org(client, f"Sweep {i}") for i in range(3)]
    for customer in customers:
        accepted(partner, customer, {"roles": ["global_reader"], "duration": "P10D"})
    clock.advance(days=11)
    with ThreadPoolExecutor(max_workers=4) as pool:
        reports = list(pool.map(lambda _: sweep(sessions, settings, clock), range(4)))
    assert sum(r.expired for r in reports) >= 3
    subjects = mail_to(sessions, partner.org.admin_upn)
    for customer in customers:
        name = sign_in(client, customer.admin_upn).get(customer.base).json()["name"]
        ended = [s for s in subjects if s == f"Delegated administration of {name} ended"]
        assert len(ended) == 1, subjects


def test_sweeper_delivers_mail_over_smtp(
    smtp: tuple[Inbox, int],
    partner: Partner,
    org: Org,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    inbox, port = smtp
    configured = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"})
    relationship = accepted(partner, org)
    org.admin.delete(f"{org.base}/partner-relationships/{relationship['id']}")
    sweep(sessions, configured, clock)
    for _ in range(20):  # earlier tests may have queued more than one batch
        if not mail_pending(sessions):
            break
        sweep(sessions, configured, clock)
    removed = [
        m for m in inbox.received if m["To"] == partner.org.admin_upn and "removed" in m["Subject"]
    ]
    assert len(removed) == 1
    assert relationship["id"] in removed[0].get_payload(decode=True).decode()


def mail_pending(sessions: sessionmaker[Session]) -> bool:
    with sessions() as session:
        return (
            session.scalar(
                select(OutboxMessage.id)
                .where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < 10)
                .limit(1)
            )
            is not None
        )
