"""The customer's Partner relationships page, in Chromium: auto-extend shown and turned on and
off (the form carries the version read, as If-Match does on the API), a partner removed and
blocked so its next request is refused and let through again once unblocked, and the same page
without those controls for whoever may only read it. Every change is checked through the API
as well as on the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tenantry.operations.demo import DEMO_PASSWORD
from tenantry.partners.blocks import REQUESTS_REFUSED
from tests.conftest import Api
from tests.web.browsing import SUFFIX, confirm, enrol_mfa, nav, sign_in

pytestmark = pytest.mark.slow

LITWARE = "Litware Managed Services"
FABRIKAM = "Fabrikam IT Services"
# Not Global Administrator: the only kind of relationship that may auto-extend.
GRANULAR = {"roles": ["service_support_administrator"], "duration": "P90D"}


@pytest.fixture
def http(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


def api(http: httpx.Client, who: str) -> Api:
    """The demo user ``who`` (e.g. "admin@litware") signed in to the HTTP API."""
    body = {"username": f"{who}.{SUFFIX}", "password": DEMO_PASSWORD}
    token = Api(http).post("/auth/token", body, expect=200).json()["access_token"]  # type: ignore[arg-type]
    return Api(http, token)  # type: ignore[arg-type]


def tenant_of(caller: Api) -> str:
    return str(caller.get("/me").json()["tenant_id"])


def card(page: Page, partner: str) -> Locator:
    return page.locator(".partner-card", has_text=partner)


def request_from(partner: Api, customer_id: str, expect: int = 201) -> Any:
    """A request: a granular offer for one customer, sent by the partner through the API."""
    return partner.post("/partner/offers", {**GRANULAR, "customer_tenant_id": customer_id}, expect)


def test_auto_extend_shown_and_turned_on_and_off(
    server: str, http: httpx.Client, page: Page, shots: Any
) -> None:
    litware, adatum = api(http, "admin@litware"), api(http, "admin@adatum")
    adatum_id = tenant_of(adatum)

    # Contoso's relationships (the demo's classic offers) hold Global Administrator: they
    # never auto-extend, and the page offers no way to turn it on.
    sign_in(page, server, "admin@contoso")
    nav(page, "Partner relationships")
    for name in (FABRIKAM, LITWARE):
        expect(card(page, name).locator(".auto-extend")).to_have_text("off")
        expect(card(page, name).get_by_role("button", name=f"Remove {name}")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("auto-extend"))).to_have_count(0)

    # Litware asks Adatum for Service Support Administrator; a request's terms are the
    # offer's, so there is nothing to turn on yet.
    offer = request_from(litware, adatum_id).json()
    sign_in(page, server, "admin@adatum")
    nav(page, "Partner relationships")
    litware_card = card(page, LITWARE)
    expect(litware_card.locator(".status")).to_have_text("approval pending")
    expect(litware_card.locator(".auto-extend")).to_have_text("off")
    expect(litware_card.get_by_role("button", name=re.compile("auto-extend"))).to_have_count(0)

    # Accepted on the offer page, it is live and may auto-extend.
    page.goto(offer["url"])
    page.get_by_label(re.compile("Yes, authorize")).check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("status")).to_contain_text(f"{LITWARE} is now")
    expect(litware_card.locator(".status")).to_have_text("active")
    listed = adatum.get(f"/tenants/{adatum_id}/partner-relationships").json()["items"]
    assert [(r["partner"]["name"], r["auto_extend"]) for r in listed] == [(LITWARE, False)]
    path = f"/tenants/{adatum_id}/partner-relationships/{listed[0]['id']}"
    first_tag = adatum.get(path).headers["etag"]

    litware_card.get_by_role("button", name="Turn auto-extend on (180 days at a time)").click()
    expect(page.get_by_role("status")).to_contain_text("Auto-extend is on.")
    expect(litware_card.locator(".auto-extend")).to_have_text("on")
    expect(litware_card.get_by_role("button", name="Turn auto-extend off")).to_be_visible()
    shots(page, "customer-partners-auto-extend")
    read = adatum.get(path)
    assert read.json()["auto_extend"] is True and read.headers["etag"] != first_tag
    partner_side = litware.get(f"/partner/relationships/{listed[0]['id']}").json()
    assert partner_side["auto_extend"] is True  # the partner sees the customer's terms
    events = adatum.get(
        f"/tenants/{adatum_id}/audit-events", params={"action": "partner.relationship.update"}
    ).json()["items"]
    assert events[0]["details"] == {"auto_extend": "True", "by": "customer"}

    # Meanwhile, elsewhere, auto-extend goes off and on again through the API: the button on
    # this page now stands on a version that is gone, and is refused without changing a thing.
    tag = read.headers["etag"]
    tag = adatum.patch(path, {"auto_extend": False}, headers={"If-Match": tag}).headers["etag"]
    tag = adatum.patch(path, {"auto_extend": True}, headers={"If-Match": tag}).headers["etag"]
    litware_card.get_by_role("button", name="Turn auto-extend off").click()
    expect(page.get_by_role("alert")).to_contain_text("The relationship changed since you read it")
    still = adatum.get(path)
    assert still.json()["auto_extend"] is True and still.headers["etag"] == tag

    # Read again (the page was), the same button turns it off.
    expect(litware_card.locator(".auto-extend")).to_have_text("on")
    litware_card.get_by_role("button", name="Turn auto-extend off").click()
    expect(page.get_by_role("status")).to_contain_text("Auto-extend is off.")
    expect(litware_card.locator(".auto-extend")).to_have_text("off")
    expect(
        litware_card.get_by_role("button", name=re.compile("Turn auto-extend on"))
    ).to_be_visible()
    assert adatum.get(path).json()["auto_extend"] is False
    assert litware.get(f"/partner/relationships/{listed[0]['id']}").json()["auto_extend"] is False


def test_blocked_partner_cannot_send_requests_until_unblocked(
    server: str, http: httpx.Client, page: Page
) -> None:
    litware, northwind = api(http, "admin@litware"), api(http, "admin@northwind")
    northwind_id, litware_id = tenant_of(northwind), tenant_of(litware)
    request_from(litware, northwind_id)

    sign_in(page, server, "admin@northwind")
    nav(page, "Partner relationships")
    expect(page.locator(".partner-card")).to_have_count(2)
    expect(page.locator("main")).to_contain_text("No partner is blocked.")
    card(page, LITWARE).get_by_role("button", name=f"Remove and block {LITWARE}").click()
    confirm(page)
    expect(page.get_by_role("status")).to_contain_text(
        f"The partner's access is removed and {LITWARE} is blocked."
    )
    expect(card(page, LITWARE)).to_have_count(0)
    expect(card(page, FABRIKAM)).to_have_count(1)  # the other partner stays
    blocked = page.locator(".blocked-partners li")
    expect(blocked).to_have_count(1)
    expect(blocked).to_contain_text(f"{LITWARE} (litware.{SUFFIX})")
    listed = northwind.get(f"/tenants/{northwind_id}/partner-blocks").json()["items"]
    assert [b["partner_tenant_id"] for b in listed] == [litware_id]
    declined = litware.get(
        "/partner/relationships", params={"customer_tenant_id": northwind_id}
    ).json()["items"]
    assert [(r["status"], r["terminated_by"]) for r in declined] == [("terminated", "customer")]

    # Litware's next request is refused with the reason, and leaves nothing behind.
    offers_before = len(litware.get("/partner/offers", params={"limit": 200}).json()["items"])
    refused = request_from(litware, northwind_id, expect=409).json()
    assert refused["type"].endswith("partner-blocked") and refused["detail"] == REQUESTS_REFUSED
    assert len(litware.get("/partner/offers", params={"limit": 200}).json()["items"]) == (
        offers_before
    )
    page.reload()
    expect(card(page, LITWARE)).to_have_count(0)
    names = [
        r["partner"]["name"]
        for r in northwind.get(f"/tenants/{northwind_id}/partner-relationships").json()["items"]
    ]
    assert names == [FABRIKAM]

    # Unblocked, Litware may ask again: its request waits on the page.
    page.get_by_role("button", name=f"Unblock {LITWARE}").click()
    expect(page.get_by_role("status")).to_contain_text("The partner is unblocked.")
    expect(page.locator("main")).to_contain_text("No partner is blocked.")
    assert northwind.get(f"/tenants/{northwind_id}/partner-blocks").json()["items"] == []
    request_from(litware, northwind_id)
    page.reload()
    expect(card(page, LITWARE).locator(".status")).to_have_text("approval pending")
    actions = {
        e["action"] for e in northwind.get(f"/tenants/{northwind_id}/audit-events").json()["items"]
    }
    assert {"partner.block", "partner.unblock", "partner.relationship.request"} <= actions


def forge(page: Page, url: str, form: dict[str, str]) -> None:
    """Post a form the page does not show, with this session's CSRF token, then open the
    page it goes back to (where a refusal is shown)."""
    token = page.locator("input[name=csrf_token]").first.input_value()
    back = page.url
    response = page.request.post(
        url, form={**form, "csrf_token": token}, headers={"Referer": back}, max_redirects=0
    )
    assert response.status == 303
    page.goto(back)


def test_who_may_only_read_sees_no_controls(server: str, http: httpx.Client, page: Page) -> None:
    litware, contoso = api(http, "admin@litware"), api(http, "admin@contoso")
    contoso_id, litware_id = tenant_of(contoso), tenant_of(litware)
    # Contoso gets a relationship that may auto-extend and blocks Litware (the relationships
    # stay), so every control of the page is there for someone who may use it.
    offer = request_from(litware, contoso_id).json()
    granular = contoso.post(f"/offers/{offer['token']}/accept", expect=201).json()
    contoso.request("PUT", f"/tenants/{contoso_id}/partner-blocks/{litware_id}", 200)
    people = contoso.get(f"/tenants/{contoso_id}/users", params={"limit": 200}).json()["items"]
    ids = {u["user_principal_name"].split("@")[0]: u["id"] for u in people}
    for who, role in (("megan", "global_reader"), ("alex", "service_support_administrator")):
        contoso.post(
            f"/tenants/{contoso_id}/role-assignments",
            {"role": role, "user_id": ids[who]},
            expect=201,
        )
    partners_page = f"{server}/admin/{contoso_id}/partners"
    auto_extend_url = f"{partners_page}/{granular['id']}/auto-extend"
    path = f"/tenants/{contoso_id}/partner-relationships/{granular['id']}"

    sign_in(page, server, "admin@contoso")
    page.goto(partners_page)
    cards = page.locator(".partner-card")
    expect(cards).to_have_count(3)
    expect(
        page.get_by_role("button", name="Turn auto-extend on (180 days at a time)")
    ).to_have_count(1)
    expect(page.get_by_role("button", name=re.compile(r"^Remove "))).to_have_count(6)
    expect(page.get_by_role("button", name=f"Unblock {LITWARE}")).to_be_visible()

    def only_reads() -> None:
        """The same partners, terms and block, and not one button to change them."""
        expect(cards).to_have_count(3)
        expect(cards.locator(".auto-extend")).to_have_text(["off", "off", "off"])
        expect(page.locator(".blocked-partners li")).to_contain_text(LITWARE)
        expect(page.locator("main form")).to_have_count(0)
        expect(page.locator("main").get_by_role("button")).to_have_count(0)

    # Contoso's own Global Reader.
    sign_in(page, server, "megan@contoso")
    nav(page, "Partner relationships")
    only_reads()
    # The forms, posted anyway, are refused with the reason and change nothing.
    etag = contoso.get(path).json()["etag"].strip('"')
    forge(page, auto_extend_url, {"etag": etag, "auto_extend": "on"})
    expect(page.get_by_role("alert")).to_contain_text(
        "Denied: partner_relationships.manage in Contoso needs a role that grants it"
    )
    forge(page, f"{server}/admin/{contoso_id}/partner-blocks/{litware_id}/remove", {})
    expect(page.get_by_role("alert")).to_contain_text("Denied: partner_relationships.manage")
    assert contoso.get(path).json()["auto_extend"] is False
    blocks = contoso.get(f"/tenants/{contoso_id}/partner-blocks").json()["items"]
    assert [b["partner_tenant_id"] for b in blocks] == [litware_id]
    only_reads()

    # A partner's agent administering Contoso on its behalf (Global Administrator there) may
    # read its own partner's relationship with Contoso, never manage it, and learns nothing of
    # Contoso's other partners (Litware's relationship and block are not shown).
    sign_in(page, server, "admin@fabrikam")
    enrol_mfa(page, server, "admin@fabrikam")
    page.goto(partners_page)
    expect(page.locator(".banner")).to_contain_text(
        f"administering Contoso on behalf of {FABRIKAM}"
    )
    expect(cards).to_have_count(1)
    expect(cards).to_contain_text(FABRIKAM)
    expect(page.locator("main")).not_to_contain_text(LITWARE)
    expect(page.locator("main form")).to_have_count(0)
    expect(page.locator("main").get_by_role("button")).to_have_count(0)
    forge(page, auto_extend_url, {"etag": etag, "auto_extend": "on"})
    expect(page.get_by_role("alert")).to_contain_text(
        "is never available through delegated administration"
    )
    assert contoso.get(path).json()["auto_extend"] is False

    # Without partner_relationships.read the section is not offered, and the address says why.
    sign_in(page, server, "alex@contoso")
    page.goto(f"{server}/admin/{contoso_id}")
    expect(page.get_by_role("navigation", name="Admin center")).to_be_visible()
    expect(page.get_by_role("link", name="Partner relationships")).to_have_count(0)
    response = page.goto(partners_page)
    assert response is not None and response.status == 403
    expect(page.locator("main")).to_contain_text(
        "Denied: partner_relationships.read in Contoso needs a role that grants it"
    )
    expect(page.locator(".partner-card")).to_have_count(0)


def test_a_removed_partner_can_be_blocked_afterwards(
    server: str, http: httpx.Client, page: Page
) -> None:
    """Removed without blocking, a partner is listed under Former partners with a Block
    button, so it can't come back with a new request later (the block needs no live
    relationship to click on)."""
    # Litware's request to Northwind waits (from the test above); Northwind declines it.
    litware, northwind = api(http, "admin@litware"), api(http, "admin@northwind")
    northwind_id, litware_id = tenant_of(northwind), tenant_of(litware)
    sign_in(page, server, "admin@northwind")
    nav(page, "Partner relationships")
    expect(page.locator(".former-partners")).to_have_count(0)
    card(page, LITWARE).get_by_role("button", name=f"Remove {LITWARE}", exact=True).click()
    confirm(page)
    expect(page.get_by_role("status")).to_contain_text("The partner's access is removed.")
    former = page.locator(".former-partners li", has_text=LITWARE)
    expect(former).to_contain_text(f"{LITWARE} (litware.{SUFFIX}) · ended")
    assert northwind.get(f"/tenants/{northwind_id}/partner-blocks").json()["items"] == []

    former.get_by_role("button", name=f"Block {LITWARE}").click()
    confirm(page)
    expect(page.get_by_role("status")).to_contain_text(f"{LITWARE} is blocked.")
    expect(page.locator(".former-partners li", has_text=LITWARE)).to_have_count(0)
    expect(page.locator(".blocked-partners li", has_text=LITWARE)).to_have_count(1)
    listed = northwind.get(f"/tenants/{northwind_id}/partner-blocks").json()["items"]
    assert litware_id in [b["partner_tenant_id"] for b in listed]
    refused = request_from(litware, northwind_id, expect=409).json()
    assert refused["type"].endswith("partner-blocked")
