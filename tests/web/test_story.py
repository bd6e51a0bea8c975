"""The seed story, clicked through in Chromium: offer, consent, Find and Assist, administer on
behalf of, a Limited agent refused, the customer's audit log, removing a partner."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tenantry.operations.demo import DEMO_PASSWORD
from tests.web.browsing import SUFFIX, confirm, enrol_mfa, nav, sign_in

pytestmark = pytest.mark.slow


def test_the_seed_story(server: str, browser: Any, shots: Any) -> None:
    base = server
    page: Page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)

    # The partner makes the classic offer and copies its link.
    sign_in(page, base, "admin@fabrikam")
    expect(page).to_have_url(f"{base}/partner")
    shots(page, "partner-customers")
    page.get_by_role("link", name="Offers").click()
    page.get_by_role("button", name="Make the classic offer").click()
    expect(page.get_by_role("status")).to_contain_text("Offer created")
    link_box = page.locator("input[id^=link-]").first
    link = link_box.input_value()
    assert re.match(rf"{re.escape(base)}/offers/\S+$", link)
    page.get_by_role("button", name="Copy link").first.click()
    expect(page.get_by_role("button", name="Copied").first).to_be_visible()
    assert (
        "has offered to provide delegated administration"
        in page.locator("textarea[id^=text-]").first.input_value()
    )
    shots(page, "partner-offers")

    # Adatum's Global Administrator reads the offer and accepts it.
    page.context.clear_cookies()
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Fabrikam IT Services")
    page.get_by_role("button", name="Sign in to accept").click()
    page.get_by_label("User name").fill(f"admin@adatum.{SUFFIX}")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(link)
    expect(page.get_by_text("Full administration: manage everything")).to_be_visible()
    shots(page, "offer")
    page.get_by_label(re.compile("Yes, authorize")).check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("status")).to_contain_text("Fabrikam IT Services is now")
    expect(page.locator(".partner-card")).to_contain_text("Fabrikam IT Services")

    # The partner (with two-step verification) finds Adatum by domain and administers it.
    sign_in(page, base, "admin@fabrikam")
    enrol_mfa(page, base, "admin@fabrikam")
    page.goto(f"{base}/partner/find")
    page.get_by_label("Customer, domain or user").fill(f"adatum.{SUFFIX}")
    page.get_by_role("button", name="Find").click()
    results = page.locator("#results")
    expect(results).to_contain_text("Adatum")
    shots(page, "find-and-assist")
    results.get_by_role("button", name="Administer on behalf of").first.click()
    banner = page.locator(".banner")
    expect(banner).to_contain_text("You are administering Adatum on behalf of Fabrikam IT Services")
    expect(banner.get_by_role("link", name="Back to Partner center")).to_be_visible()
    shots(page, "admin-on-behalf")
    adatum_home = page.url

    page.get_by_role("link", name="Users", exact=True).click()
    page.get_by_role("button", name="Add a user").click()
    page.get_by_label("Display name").fill("Pat Partner-Made")
    page.get_by_label("User name").fill(f"pat@adatum.{SUFFIX}")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("heading", name="Pat Partner-Made is created")).to_be_visible()
    first_password = page.get_by_label("Temporary password").input_value()
    assert len(first_password) >= 12
    expect(banner).to_be_visible()

    page.get_by_role("link", name="Back to Pat Partner-Made").click()
    page.get_by_role("button", name="Reset password").click()
    confirm(page)
    expect(page.get_by_role("heading", name=re.compile("New temporary password"))).to_be_visible()
    assert page.get_by_label("Temporary password").input_value() != first_password

    page.get_by_role("link", name="Service requests").first.click()
    page.get_by_text("New service request").click()
    page.get_by_label("Title").fill("Partner: mailbox migration")
    page.get_by_label("Description").fill("Raised by Fabrikam on behalf of Adatum.")
    page.get_by_role("button", name="Raise request").click()
    expect(page.locator(".flash.success")).to_contain_text("raised")
    expect(page.get_by_role("heading", name="Partner: mailbox migration")).to_be_visible()
    page.get_by_label("Add a comment").fill("Starting the migration tonight.")
    page.get_by_role("button", name="Add comment").click()
    expect(page.locator(".comment")).to_contain_text(f"admin@fabrikam.{SUFFIX}")
    expect(page.locator(".comment")).to_contain_text("Starting the migration tonight.")

    # A Limited agent (Helpdesk agents) is refused creating a user, with the reason.
    sign_in(page, base, "tech@fabrikam")
    enrol_mfa(page, base, "tech@fabrikam")
    page.goto(adatum_home + "/users/new")
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("You can't add users here.")
    expect(refusal).to_contain_text("Denied")
    expect(page.get_by_role("button", name="Create user")).to_have_count(0)
    shots(page, "limited-agent-refused")
    # What Limited administration is for: resetting a non-admin's password.
    nav(page, "Users")
    page.get_by_role("link", name="Isaiah Langer").click()
    expect(page.get_by_role("heading", name="Admin roles")).to_have_count(0)  # can't read roles
    page.get_by_role("button", name="Reset password").click()
    confirm(page)
    expect(page.get_by_role("heading", name=re.compile("New temporary password"))).to_be_visible()
    expect(banner).to_contain_text("You are administering Adatum on behalf of Fabrikam")

    # The customer sees the partner's actions, marked, in its audit log.
    sign_in(page, base, "admin@adatum")
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Who").select_option("partner")
    page.get_by_role("button", name="Filter").click()
    partner_rows = page.locator("tr.by-partner")
    expect(partner_rows.filter(has_text="user.create")).to_have_count(1)
    expect(partner_rows.first).to_contain_text("Partner: Fabrikam IT Services")
    shots(page, "customer-audit-log")

    # Contoso sees both partners and removes Litware; Litware no longer sees Contoso.
    sign_in(page, base, "admin@contoso")
    page.get_by_role("link", name="Partner relationships").click()
    cards = page.locator(".partner-card")
    expect(cards).to_have_count(2)
    expect(cards.filter(has_text="Fabrikam IT Services")).to_have_count(1)
    expect(cards.filter(has_text="Litware Managed Services")).to_have_count(1)
    shots(page, "customer-partners")
    page.get_by_role("button", name="Remove Litware Managed Services").click()
    confirm(page)
    expect(page.get_by_role("status")).to_contain_text("removed")
    expect(cards).to_have_count(1)

    sign_in(page, base, "admin@litware")
    page.goto(f"{base}/partner")
    expect(page.get_by_role("cell", name="Contoso")).to_have_count(0)
    page.goto(f"{base}/partner/find?q=contoso")
    expect(page.locator("#results")).to_contain_text("No customer you administer matches")
    page.close()
