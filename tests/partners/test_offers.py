"""Offers and consent: the classic and granular offers, what the customer reads, accepting
(alone, concurrently, while signing up), and every refusal."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tenantry.access.roles import Role
from tenantry.models import OutboxMessage, Relationship
from tests.conftest import PASSWORD, Api, Org, Partner, accepted, make_org, sign_in, unique_label


def test_classic_offer(partner: Partner) -> None:
    offer = partner.offer()
    assert offer["is_classic"] is True and offer["status"] == "active"
    assert offer["roles"] == ["global_administrator", "password_administrator"]
    assert offer["duration"] == "P730D" and offer["auto_extend"] is False
    assert len(offer["token"]) >= 43 and offer["url"].endswith(f"/offers/{offer['token']}")
    partner_name = partner.admin.get(partner.org.base).json()["name"]
    assert offer["email_text"].startswith(
        f"{partner_name} ({partner.org.domain}) has offered to provide delegated administration "
        "for your online services. Authorize access to administer your online services "
        f"here: {offer['url']}"
    )
    assert "Additional partner information:" in offer["email_text"]
    assert offer["mailto"].startswith("mailto:?subject=")
    again = partner.admin.get(f"/partner/offers/{offer['id']}").json()
    assert again["token"] == offer["token"]  # the link can be shown again
    assert offer["id"] in [o["id"] for o in partner.admin.get("/partner/offers").json()["items"]]


def test_offers_page_newest_first(partner: Partner) -> None:
    made = [partner.offer()["id"] for _ in range(3)]
    first = partner.admin.get("/partner/offers", params={"limit": 2}).json()
    rest = partner.admin.get(
        "/partner/offers", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    listed = [o["id"] for o in first["items"] + rest["items"]]
    assert listed[:3] == made[::-1]


def test_only_partner_admins_make_offers(partner: Partner, org: Org) -> None:
    refused = org.admin.post("/partner/offers", {}, expect=403)
    assert refused.json()["type"] == "urn:tenantry:problem:not-a-partner"
    partner.agent("full").post("/partner/offers", {}, expect=403)


def test_the_customer_reads_the_offer(client: TestClient, partner: Partner) -> None:
    partner.admin.patch(
        partner.org.base,
        {"phone": "+44 117 496 0000", "technical_contact_email": "help@fabrikam.example"},
    )
    offer = partner.offer(
        {
            "roles": ["user_administrator"],
            "duration": "P90D",
            "auto_extend": True,
            "trial": {"sku_id": "business_premium", "seats": 25, "days": 30},
        }
    )
    shown = Api(client).get(f"/offers/{offer['token']}").json()
    assert shown["partner"]["phone"] == "+44 117 496 0000"
    assert shown["partner"]["technical_contact_email"] == "help@fabrikam.example"
    assert [r["name"] for r in shown["roles_described"]] == ["User Administrator"]
    assert "Manage users and groups" in shown["roles_described"][0]["description"]
    assert (shown["duration"], shown["duration_days"], shown["auto_extend"]) == ("P90D", 90, True)
    assert shown["trial"] == {"sku_id": "business_premium", "seats": 25, "days": 30}
    Api(client).get("/offers/" + "x" * 43, expect=404)
    partner.admin.patch(f"/partner/offers/{offer['id']}", {"enabled": False})
    gone = Api(client).get(f"/offers/{offer['token']}", expect=410)
    assert gone.json()["type"] == "urn:tenantry:problem:offer-disabled"


@pytest.mark.parametrize(
    "body",
    [
        {"duration": "P0D"},
        {"duration": "P731D"},
        {"duration": "30 days"},
        {"duration": "P1Y"},
        {"roles": []},
        {"roles": ["device_administrator"]},
        {"roles": ["emperor"]},
        {"roles": ["global_administrator"], "auto_extend": True},
        {"auto_extend": True},  # the classic roles include Global Administrator
        {"trial": {"sku_id": "nope", "seats": 1}},
        {"purchase": {"sku_id": "business_standard", "seats": 0}},
        {"customer_tenant_id": "00000000-0000-4000-8000-000000000000"},
        {"unexpected": True},
    ],
)
def test_bad_offers_are_422(partner: Partner, body: dict) -> None:
    response = partner.admin.post("/partner/offers", body, expect=422)
    assert response.headers["content-type"] == "application/problem+json"


def test_accept_makes_an_active_relationship_and_tells_the_partner(
    partner: Partner, org: Org, sessions: sessionmaker[Session]
) -> None:
    before = datetime.now(UTC)
    relationship = accepted(partner, org)
    assert relationship["status"] == "active"
    assert relationship["partner_tenant_id"] == partner.org.tenant_id
    assert relationship["customer_tenant_id"] == org.tenant_id
    assert relationship["roles"] == ["global_administrator", "password_administrator"]
    ends = datetime.fromisoformat(relationship["ends_at"])
    assert timedelta(days=729) < ends - before < timedelta(days=731)
    mine = org.admin.get(f"{org.base}/audit-events?action=partner.").json()["items"]
    assert mine[0]["action"] == "partner.relationship.accept"
    assert mine[0]["relationship_id"] == relationship["id"]
    theirs = partner.admin.get(f"{partner.org.base}/audit-events?action=partner.relationship")
    assert theirs.json()["items"][0]["actor"]["user_principal_name"] == org.admin_upn
    with sessions() as session:
        mail = session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient == partner.org.admin_upn)
        ).all()
    assert any("accepted your offer" in m.subject for m in mail)


def test_only_a_customer_global_admin_accepts(partner: Partner, org: Org) -> None:
    offer = partner.offer()
    helpdesk = org.user_api((Role.USER_ADMINISTRATOR,))
    refused = helpdesk.post(f"/offers/{offer['token']}/accept", expect=403)
    assert "Only a Global Administrator" in refused.json()["detail"]
    partner.admin.post(f"/offers/{offer['token']}/accept", expect=409)  # its own offer
    org.admin.post(f"/offers/{offer['token']}/accept", expect=201)
    again = org.admin.post(f"/offers/{offer['token']}/accept", expect=409)
    assert again.json()["type"] == "urn:tenantry:problem:already-accepted"
    org.admin.post("/offers/" + "y" * 43 + "/accept", expect=404)


def test_eight_concurrent_accepts_make_one_relationship(
    partner: Partner, org: Org, sessions: sessionmaker[Session]
) -> None:
    offer = partner.offer()
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(
            pool.map(
                lambda _: org.admin.post(f"/offers/{offer['token']}/accept").status_code, range(8)
            )
        )
    assert sorted(codes) == [201] + [409] * 7
    with sessions() as session:
        count = session.scalar(
            select(func.count())
            .select_from(Relationship)
            .where(Relationship.offer_id == uuid.UUID(offer["id"]))
        )
    assert count == 1


def test_sign_up_through_an_offer(client: TestClient, partner: Partner) -> None:
    offer = partner.offer(
        {
            "roles": ["user_administrator", "password_administrator"],
            "duration": "P180D",
            "trial": {"sku_id": "business_premium", "seats": 10, "days": 30},
        }
    )
    label = unique_label()
    signup = (
        Api(client)
        .post(
            "/signup",
            {
                "organization_name": "Adatum",
                "initial_domain": label,
                "admin_password": PASSWORD,
                "offer_token": offer["token"],
            },
            expect=201,
        )
        .json()
    )
    assert signup["relationship_id"]
    admin = sign_in(client, signup["admin_user_principal_name"])
    tid = signup["tenant_id"]
    subs = admin.get(f"/tenants/{tid}/subscriptions").json()["items"]
    assert [(s["sku_id"], s["status"], s["seats"]) for s in subs] == [
        ("business_premium", "trial", 10)
    ]
    partners = admin.get(f"/tenants/{tid}/partner-relationships").json()["items"]
    assert [p["id"] for p in partners] == [signup["relationship_id"]]
    bad = Api(client).post(
        "/signup",
        {
            "organization_name": "X",
            "initial_domain": unique_label(),
            "admin_password": PASSWORD,
            "offer_token": "z" * 43,
        },
        expect=404,
    )
    assert bad.json()["type"] == "urn:tenantry:problem:unknown-offer"


def test_offer_for_one_customer_waits_for_approval(
    client: TestClient, partner: Partner, org: Org, other_org: Org
) -> None:
    offer = partner.offer(
        {
            "customer_tenant_id": org.tenant_id,
            "roles": ["global_reader"],
            "duration": "P30D",
            "auto_extend": True,
            "purchase": {"sku_id": "business_standard", "seats": 5},
        }
    )
    assert offer["expires_at"] and offer["is_classic"] is False
    pending = org.admin.get(f"{org.base}/partner-relationships").json()["items"]
    assert [(p["status"], p["roles"]) for p in pending] == [("approval_pending", ["global_reader"])]
    other_org.admin.post(f"/offers/{offer['token']}/accept", expect=404)
    relationship = org.admin.post(f"/offers/{offer['token']}/accept", expect=201).json()
    assert relationship["status"] == "active" and relationship["id"] == pending[0]["id"]
    subs = org.admin.get(f"{org.base}/subscriptions").json()["items"]
    assert [(s["sku_id"], s["status"], s["seats"]) for s in subs] == [
        ("business_standard", "active", 5)
    ]
    org.admin.post(f"/offers/{offer['token']}/accept", expect=409)


def test_offer_for_one_customer_expires_after_90_days(
    client: TestClient, partner: Partner, org: Org
) -> None:
    offer = partner.offer({"customer_tenant_id": org.tenant_id, "roles": ["global_reader"]})
    partner.clock.advance(days=91)
    fresh = sign_in(client, org.admin_upn)
    expired = fresh.get(f"/offers/{offer['token']}", expect=410)
    assert expired.json()["type"] == "urn:tenantry:problem:offer-expired"
    fresh.post(f"/offers/{offer['token']}/accept", expect=410)


def test_several_partners_at_once(
    client: TestClient, sessions, settings, clock, partner: Partner, org: Org
) -> None:
    from tests.conftest import make_partner

    second = make_partner(client, sessions, settings, clock, "Litware")
    accepted(partner, org)
    accepted(second, org)
    listed = org.admin.get(f"{org.base}/partner-relationships").json()["items"]
    assert {p["partner"]["tenant_id"] for p in listed} == {
        partner.org.tenant_id,
        second.org.tenant_id,
    }
    assert all(p["status"] == "active" for p in listed)


def test_no_partners_is_an_empty_list(org: Org) -> None:
    assert org.admin.get(f"{org.base}/partner-relationships").json()["items"] == []


def test_unrelated_orgs_cannot_read_a_customers_partners(org: Org) -> None:
    stranger = make_org(org.client)
    stranger.admin.get(f"{org.base}/partner-relationships", expect=404)


def test_disabling_an_offer_for_one_customer_withdraws_the_request(
    partner: Partner, org: Org
) -> None:
    offer = partner.offer({"customer_tenant_id": org.tenant_id, "roles": ["global_reader"]})
    assert len(org.admin.get(f"{org.base}/partner-relationships").json()["items"]) == 1
    partner.admin.patch(f"/partner/offers/{offer['id']}", {"enabled": False})
    assert org.admin.get(f"{org.base}/partner-relationships").json()["items"] == []
    org.admin.post(f"/offers/{offer['token']}/accept", expect=410)
