"""Issue 9, findings 7 (second half), 8 and 9: the terms a customer consented to are the
terms; a customer can block a partner; partner lists are paged and name the partner by its
verified domain; an unenrolled partner's agents lose access at once. Each test is the attack."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.core.db import transaction
from tenantry.core.errors import Conflict
from tenantry.directory import tenants
from tenantry.models import OutboxMessage, Tenant
from tenantry.partners import enrolment as partners
from tests.conftest import (
    Agent,
    FakeClock,
    Inbox,
    Org,
    Partner,
    accepted,
    make_org,
    make_partner,
    sign_in,
    sweep,
)

# Longer than the 30-day expiring window: the shared database stays quiet for other sweeps.
GRANULAR = {"roles": ["service_support_administrator"], "duration": "P90D"}


def test_partner_cannot_turn_auto_extend_on_a_pending_request(partner: Partner, org: Org) -> None:
    partner.offer({**GRANULAR, "customer_tenant_id": org.tenant_id})
    pending = partner.admin.get(
        "/partner/relationships", params={"customer_tenant_id": org.tenant_id}
    ).json()["items"][0]
    assert pending["status"] == "approval_pending" and pending["auto_extend"] is False
    refused = partner.admin.patch(
        f"/partner/relationships/{pending['id']}",
        {"auto_extend": True},
        expect=403,
        headers={"If-Match": pending["etag"]},
    )
    assert refused.json()["type"].endswith("customer-consent-needed")


def test_partner_turning_auto_extend_off_on_a_request_shows_on_the_offer(
    partner: Partner, org: Org
) -> None:
    offer = partner.offer({**GRANULAR, "auto_extend": True, "customer_tenant_id": org.tenant_id})
    pending = partner.admin.get(
        "/partner/relationships", params={"customer_tenant_id": org.tenant_id}
    ).json()["items"][0]
    partner.admin.patch(
        f"/partner/relationships/{pending['id']}",
        {"auto_extend": False},
        headers={"If-Match": pending["etag"]},
    )
    assert org.admin.get(f"/offers/{offer['token']}").json()["auto_extend"] is False
    relationship = org.admin.post(f"/offers/{offer['token']}/accept", expect=201).json()
    assert relationship["auto_extend"] is False and relationship["roles"] == GRANULAR["roles"]


def test_partner_cannot_turn_auto_extend_on_a_live_relationship(partner: Partner, org: Org) -> None:
    relationship = accepted(partner, org, GRANULAR)
    partner.admin.patch(
        f"/partner/relationships/{relationship['id']}",
        {"auto_extend": True},
        expect=403,
        headers={"If-Match": relationship["etag"]},
    )
    shown = org.admin.get(f"{org.base}/partner-relationships/{relationship['id']}").json()
    assert shown["auto_extend"] is False


def test_no_access_one_second_after_the_end_even_with_auto_extend(
    partner: Partner,
    org: Org,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    relationship = accepted(partner, org, {**GRANULAR, "auto_extend": True})
    agent = Agent(partner)
    end = datetime.fromisoformat(relationship["ends_at"])
    clock.offset = end - datetime.now(end.tzinfo) + timedelta(seconds=1)
    agent.fresh().get(f"{org.base}/service-requests", expect=404)  # the sweeper never ran
    report = sweep(sessions, settings, clock)
    assert report.expired >= 1  # expired, not resurrected
    admin = sign_in(org.client, org.admin_upn)  # the clock moved past the old token
    shown = admin.get(f"{org.base}/partner-relationships/{relationship['id']}").json()
    assert shown["status"] == "expired"
    clock.advance(seconds=31)  # a fresh verification code
    agent.fresh().get(f"{org.base}/service-requests", expect=404)


def test_customer_sees_and_changes_auto_extend_with_if_match(
    partner: Partner, org: Org, sessions: sessionmaker[Session]
) -> None:
    relationship = accepted(partner, org, GRANULAR)
    path = f"{org.base}/partner-relationships/{relationship['id']}"
    read = org.admin.get(path)
    assert read.json()["auto_extend"] is False
    listed = org.admin.get(f"{org.base}/partner-relationships").json()["items"]
    assert [r["auto_extend"] for r in listed] == [False]
    tag = read.headers["etag"]
    org.admin.patch(path, {"auto_extend": True}, expect=428)
    org.admin.patch(path, {"auto_extend": True}, expect=412, headers={"If-Match": '"999"'})
    changed = org.admin.patch(path, {"auto_extend": True}, headers={"If-Match": tag})
    assert changed.json()["auto_extend"] is True and changed.headers["etag"] != tag
    org.admin.patch(path, {"auto_extend": False}, expect=412, headers={"If-Match": tag})
    events = org.admin.get(
        f"{org.base}/audit-events", params={"action": "partner.relationship.update"}
    ).json()["items"]
    assert events and events[0]["details"]["by"] == "customer"
    # A Global Administrator relationship never auto-extends, even by the customer.
    full = accepted(partner, org)
    refused = org.admin.patch(
        f"{org.base}/partner-relationships/{full['id']}",
        {"auto_extend": True},
        expect=422,
        headers={"If-Match": full["etag"]},
    )
    assert refused.json()["type"].endswith("auto-extend-with-global-admin")
    # Partners' agents can't change the customer's terms on its behalf.
    agent = partner.agent("full")
    agent.patch(path, {"auto_extend": False}, expect=403, headers={"If-Match": tag})


def test_blocked_partner_cannot_send_requests_and_unblock_works(
    partner: Partner, org: Org, sessions: sessionmaker[Session]
) -> None:
    partner.offer({**GRANULAR, "customer_tenant_id": org.tenant_id})
    blocks = f"{org.base}/partner-blocks"
    org.admin.request("PUT", f"{blocks}/{partner.org.tenant_id}", 200)
    org.admin.request("PUT", f"{blocks}/{partner.org.tenant_id}", 200)  # idempotent
    listed = org.admin.get(blocks).json()["items"]
    assert [(b["partner_tenant_id"], b["partner_default_domain"]) for b in listed] == [
        (partner.org.tenant_id, partner.org.domain)
    ]
    # Blocking declined the waiting request, and no new one gets through.
    assert org.admin.get(f"{org.base}/partner-relationships").json()["items"] == []
    refused = partner.admin.post(
        "/partner/offers", {**GRANULAR, "customer_tenant_id": org.tenant_id}, expect=409
    )
    assert refused.json()["type"].endswith("partner-blocked")
    # Its reusable link can't be accepted either, with a readable reason.
    link = partner.offer(GRANULAR)
    refused = org.admin.post(f"/offers/{link['token']}/accept", expect=409)
    assert "blocked" in refused.json()["detail"]
    # Only the customer's own administrators block; never a partner agent on behalf.
    accepted_other = make_org(org.client)
    accepted(partner, accepted_other, GRANULAR)
    agent = partner.agent("full")
    agent.request("PUT", f"{accepted_other.base}/partner-blocks/{partner.org.tenant_id}", 403)
    org.admin.delete(f"{blocks}/{partner.org.tenant_id}")
    org.admin.delete(f"{blocks}/{partner.org.tenant_id}", expect=404)
    partner.offer({**GRANULAR, "customer_tenant_id": org.tenant_id})
    events = org.admin.get(f"{org.base}/audit-events").json()["items"]
    assert {"partner.block", "partner.unblock"} <= {e["action"] for e in events}


def test_customer_partner_list_is_paged_with_default_domains(
    client: TestClient,
    org: Org,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    made = [make_partner(client, sessions, settings, clock, f"Pager {i}") for i in range(3)]
    for p in made:
        accepted(p, org, GRANULAR)
    path = f"{org.base}/partner-relationships"
    first = org.admin.get(path, params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = org.admin.get(path, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    rows = first["items"] + second["items"]
    assert [r["partner"]["tenant_id"] for r in rows] == [p.org.tenant_id for p in made]
    assert [r["partner_default_domain"] for r in rows] == [p.org.domain for p in made]


def test_partner_domain_on_offer_page_and_in_email(
    smtp: tuple[Inbox, int],
    partner: Partner,
    org: Org,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    inbox, port = smtp
    offer = partner.offer({**GRANULAR, "customer_tenant_id": org.tenant_id})
    shown = org.admin.get(f"/offers/{offer['token']}").json()
    assert shown["partner_default_domain"] == partner.org.domain
    page = org.client.get(f"/offers/{offer['token']}")
    assert partner.org.domain in page.text
    assert f"({partner.org.domain})" in offer["email_text"]
    with sessions() as session:
        subjects = list(
            session.scalars(
                select(OutboxMessage.subject).where(OutboxMessage.recipient == org.admin_upn)
            )
        )
    assert any(partner.org.domain in s and "asks to administer" in s for s in subjects)
    configured = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"})
    for _ in range(20):
        sweep(sessions, configured, clock)
        if any(m["To"] == org.admin_upn for m in inbox.received):
            break
    asked = [m for m in inbox.received if m["To"] == org.admin_upn]
    assert asked and partner.org.domain in asked[0]["Subject"]


def test_look_alike_partner_names_are_refused(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    original = make_partner(client, sessions, settings, clock, "Litware")
    name = original.admin.get(original.org.base).json()["name"]
    impostor = make_org(client, "Impostor")
    for fake in (
        name.replace("i", "\u0456", 1),  # Cyrillic i
        name.replace("t", "t\u200b", 1),  # zero-width space
        name.replace("L", "\uff2c", 1),  # fullwidth L
    ):
        impostor.admin.patch(impostor.base, {"name": fake})
        with transaction(sessions) as session:
            ctx = Context(session=session, settings=settings)
            tenant = tenants.find_tenant(ctx, impostor.tenant_id)
            try:
                partners.enroll(ctx, tenant)
            except Conflict as exc:
                assert exc.slug == "partner-name-taken"
            else:
                raise AssertionError(f"{fake!r} passed as {name!r}")
    # A partner renaming itself into a look-alike is refused too.
    other = make_partner(client, sessions, settings, clock, "Other")
    refused = other.admin.patch(
        other.org.base, {"name": name.replace("a", "\u0430", 1)}, expect=409
    )
    assert refused.json()["type"].endswith("partner-name-taken")


def test_parallel_look_alike_renames_leave_one_winner(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, clock: FakeClock
) -> None:
    """A rename is a check, then a write: on PostgreSQL renames at once all pass the check,
    and the unique key column alone keeps one partner under a name and its look-alikes."""
    contenders = [make_partner(client, sessions, settings, clock, "Rival") for _ in range(6)]
    wanted = f"Northwind Traders {uuid.uuid4().hex[:6]}"
    looks = [wanted, wanted.upper(), wanted.replace("o", "\u043e"), wanted.replace(" ", "  ")]
    for round_ in range(3):
        names = [
            f"{looks[i % len(looks)]}" if round_ == 0 else f"{wanted} r{round_}" for i in range(6)
        ]
        with ThreadPoolExecutor(max_workers=6) as pool:
            codes = list(
                pool.map(
                    lambda pair: (
                        pair[0]
                        .admin.patch(pair[0].org.base, {"name": pair[1]}, expect=None)
                        .status_code
                    ),
                    zip(contenders, names, strict=True),
                )
            )
        assert sorted(codes) == [200] + [409] * 5, codes
        with sessions() as session:
            keys = session.scalars(
                select(Tenant.partner_name_key).where(
                    Tenant.id.in_([uuid.UUID(c.org.tenant_id) for c in contenders])
                )
            ).all()
        assert len(keys) == len(set(keys)) == 6
        assert sum(key == tenants.name_key(names[0]) for key in keys) == 1


def test_an_unenrolled_partner_frees_its_name(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, clock: FakeClock
) -> None:
    leaving = make_partner(client, sessions, settings, clock, "Leaving")
    name = leaving.admin.get(leaving.org.base).json()["name"]
    with transaction(sessions) as session:
        ctx = Context(session=session, settings=settings)
        partners.unenroll(ctx, tenants.find_tenant(ctx, leaving.org.tenant_id))
    newcomer = make_partner(client, sessions, settings, clock, "Newcomer")
    newcomer.admin.patch(newcomer.org.base, {"name": name.lower()}, expect=200)
    with sessions() as session:
        left = session.get(Tenant, uuid.UUID(leaving.org.tenant_id))
        assert left is not None and left.partner_name_key is None


def test_unenroll_ends_access_at_once(
    partner: Partner, org: Org, sessions: sessionmaker[Session], settings: Settings
) -> None:
    relationship = accepted(partner, org, GRANULAR)
    other = make_org(org.client)
    partner.offer({**GRANULAR, "customer_tenant_id": other.tenant_id})
    link = partner.offer(GRANULAR)
    agent = partner.agent("full")
    agent.get(f"{org.base}/service-requests", expect=200)
    with transaction(sessions) as session:
        ctx = Context(session=session, settings=settings)
        done = partners.unenroll(ctx, tenants.find_tenant(ctx, partner.org.tenant_id))
    assert (done.ended, done.withdrawn) == (1, 1) and done.offers_disabled >= 2
    agent.get(f"{org.base}/service-requests", expect=404)
    shown = org.admin.get(f"{org.base}/partner-relationships/{relationship['id']}").json()
    assert shown["status"] == "terminated"
    assert other.admin.get(f"{other.base}/partner-relationships").json()["items"] == []
    org.admin.get(f"/offers/{link['token']}", expect=410)
    events = org.admin.get(
        f"{org.base}/audit-events", params={"action": "partner.relationship.terminate"}
    ).json()["items"]
    assert events[0]["relationship_id"] == relationship["id"]
    with sessions() as session:
        subjects = list(
            session.scalars(
                select(OutboxMessage.subject).where(OutboxMessage.recipient == org.admin_upn)
            )
        )
    assert any("is no longer a partner" in s for s in subjects)


def test_no_delegated_access_once_not_a_partner(
    partner: Partner, org: Org, sessions: sessionmaker[Session]
) -> None:
    """Even a live relationship left behind gives nothing once the home tenant is no partner."""
    accepted(partner, org, GRANULAR)
    agent = partner.agent("full")
    agent.get(f"{org.base}/service-requests", expect=200)
    with transaction(sessions) as session:
        tenant = session.get(Tenant, uuid.UUID(partner.org.tenant_id))
        assert tenant is not None
        tenant.is_partner = False
    agent.get(f"{org.base}/service-requests", expect=404)
