"""Catalogue, purchases, trials and licences that never exceed seats."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tenantry.access.roles import Role
from tests.conftest import FakeClock, Org, sign_in


def test_catalogue_has_a_suite_and_device_management(org: Org) -> None:
    skus = {s["id"]: s for s in org.admin.get("/skus").json()["items"]}
    assert "business_premium" in skus and "device_management" in skus
    assert skus["device_management"]["services"] == ["device_management"]


def test_purchase_assign_unassign_and_seat_limit(org: Org) -> None:
    sub = org.admin.post(
        f"{org.base}/subscriptions", {"sku_id": "business_standard", "seats": 2}, expect=201
    ).json()
    assert (sub["status"], sub["seats"], sub["assigned"]) == ("active", 2, 0)
    lic = f"{org.base}/subscriptions/{sub['id']}/licenses"
    a, b, c = org.create_user(), org.create_user(), org.create_user()
    org.admin.post(lic, {"user_id": a}, expect=201)
    org.admin.post(lic, {"user_id": a}, expect=409)
    org.admin.post(lic, {"user_id": b}, expect=201)
    full = org.admin.post(lic, {"user_id": c}, expect=409)
    assert full.json()["type"] == "urn:tenantry:problem:no-seats"
    assert org.admin.get(f"{org.base}/subscriptions/{sub['id']}").json()["assigned"] == 2
    listed = org.admin.get(lic).json()["items"]
    assert {x["user_principal_name"] for x in listed} == {org.users[a], org.users[b]}
    org.admin.delete(f"{lic}/{a}")
    org.admin.delete(f"{lic}/{a}", expect=404)
    org.admin.post(lic, {"user_id": c}, expect=201)
    org.admin.delete(f"{org.base}/users/{c}")  # deleting a user frees its seat
    assert org.admin.get(f"{org.base}/subscriptions/{sub['id']}").json()["assigned"] == 1


def test_concurrent_assignments_never_exceed_seats(org: Org) -> None:
    sub = org.admin.post(
        f"{org.base}/subscriptions", {"sku_id": "business_premium", "seats": 3}, expect=201
    ).json()
    lic = f"{org.base}/subscriptions/{sub['id']}/licenses"
    users = [org.create_user() for _ in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(lambda u: org.admin.post(lic, {"user_id": u}).status_code, users))
    assert sorted(codes) == [201] * 3 + [409] * 5
    assert org.admin.get(f"{org.base}/subscriptions/{sub['id']}").json()["assigned"] == 3


def test_trial_once_and_expiry(org: Org, clock: FakeClock) -> None:
    trial = org.admin.post(
        f"{org.base}/subscriptions",
        {"sku_id": "business_premium", "seats": 25, "trial": True},
        expect=201,
    ).json()
    assert trial["status"] == "trial" and trial["trial_ends_at"]
    org.admin.post(
        f"{org.base}/subscriptions",
        {"sku_id": "business_premium", "seats": 5, "trial": True},
        expect=409,
    )
    clock.advance(days=31)
    org.admin = sign_in(org.client, org.admin_upn)  # the old token expired meanwhile
    fresh = org.admin.get(f"{org.base}/subscriptions/{trial['id']}").json()
    assert fresh["status"] == "expired"
    expired = org.admin.post(
        f"{org.base}/subscriptions/{trial['id']}/licenses", {"user_id": org.admin_id}, expect=409
    )
    assert expired.json()["type"] == "urn:tenantry:problem:subscription-expired"


def test_bad_purchases(org: Org) -> None:
    base = f"{org.base}/subscriptions"
    assert (
        org.admin.post(base, {"sku_id": "nope", "seats": 1}, expect=422)
        .json()["type"]
        .endswith("unknown-sku")
    )
    org.admin.post(base, {"sku_id": "business_standard", "seats": 0}, expect=422)
    org.admin.post(base, {"sku_id": "business_standard"}, expect=422)


def test_license_administrator_assigns_but_does_not_buy(org: Org) -> None:
    sub = org.admin.post(
        f"{org.base}/subscriptions", {"sku_id": "business_standard", "seats": 5}, expect=201
    ).json()
    licensing = org.user_api((Role.LICENSE_ADMINISTRATOR,))
    target = org.create_user()
    licensing.post(
        f"{org.base}/subscriptions/{sub['id']}/licenses", {"user_id": target}, expect=201
    )
    licensing.post(
        f"{org.base}/subscriptions", {"sku_id": "business_standard", "seats": 1}, expect=403
    )


def test_licence_holders_page_in_the_order_they_were_assigned(org: Org) -> None:
    sub = org.admin.post(
        f"{org.base}/subscriptions", {"sku_id": "business_standard", "seats": 5}, expect=201
    ).json()
    lic = f"{org.base}/subscriptions/{sub['id']}/licenses"
    users = [org.create_user() for _ in range(3)]
    for user in users:
        org.admin.post(lic, {"user_id": user}, expect=201)
    first = org.admin.get(lic, params={"limit": 2}).json()
    rest = org.admin.get(lic, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert rest["next_cursor"] is None
    order = [x["user_principal_name"] for x in first["items"] + rest["items"]]
    assert order == [org.users[u] for u in users]
