"""The Admin center pages beyond the seed story, in Chromium: groups and members, domains with
their TXT record (verified against a real DNS server on loopback), subscriptions and licences,
service-request comments, and the partner's access-assignment editor."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.dns_server import LoopbackDns
from tests.web.browsing import SUFFIX, confirm, enrol_mfa, nav, sign_in

pytestmark = pytest.mark.slow


def test_groups_and_members(server: str, page: Page, shots: Any) -> None:
    sign_in(page, server, "admin@contoso")
    nav(page, "Groups")
    expect(page.get_by_role("cell", name="No groups yet.")).to_be_visible()
    page.get_by_text("Add a group").click()
    page.get_by_label("Name").fill("Finance")
    page.get_by_label("Description").fill("People who approve invoices")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("status")).to_contain_text("Group “Finance” created")
    expect(page.get_by_role("heading", name="Finance")).to_be_visible()

    page.get_by_label("Add a member (user name)").fill(f"megan@contoso.{SUFFIX}")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("cell", name="Megan Bowen", exact=True)).to_be_visible()
    page.get_by_label("Add a member (user name)").fill(f"nobody@contoso.{SUFFIX}")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("alert")).to_contain_text("There is no user nobody@contoso")
    page.get_by_label("Add a member (user name)").fill(f"megan@contoso.{SUFFIX}")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("alert")).to_contain_text("already a member")
    shots(page, "admin-group")

    page.get_by_role("button", name="Remove Megan Bowen").click()
    confirm(page)
    expect(page.get_by_role("status")).to_contain_text("Member removed")
    expect(page.get_by_role("cell", name="No members.")).to_be_visible()

    page.get_by_role("button", name="Delete group").click()
    confirm(page)
    expect(page.get_by_role("status")).to_contain_text("Group deleted")
    expect(page.get_by_role("cell", name="No groups yet.")).to_be_visible()


def test_domains_add_verify_default_remove(
    server: str, dns: LoopbackDns, page: Page, shots: Any
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    sign_in(page, server, "admin@northwind")
    nav(page, "Domains")
    page.get_by_label("Add a domain you own").fill("Northwind.Example")
    page.get_by_role("button", name="Add domain").click()
    expect(page.get_by_role("status")).to_contain_text("northwind.example added")
    card = page.locator("article[id^=domain-]", has_text="TXT value")
    txt = card.get_by_label("TXT value", exact=True).input_value()
    assert re.fullmatch(r"tenantry-verification=[0-9a-f]{32}", txt)
    card.get_by_role("button", name="Copy TXT value of northwind.example").click()
    expect(card.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == txt
    shots(page, "admin-domains")

    # Not published yet: the page says so and nothing changes.
    card.get_by_role("button", name="Verify northwind.example").click()
    expect(page.get_by_role("alert")).to_contain_text("No TXT record")
    expect(page.get_by_role("button", name="Verify northwind.example")).to_be_visible()

    dns.publish("northwind.example", txt)
    page.get_by_role("button", name="Verify northwind.example").click()
    expect(page.get_by_role("status")).to_contain_text("northwind.example is verified")
    page.get_by_role("button", name="Make northwind.example the default").click()
    expect(page.get_by_role("status")).to_contain_text("northwind.example is now the default")
    expect(page.get_by_role("button", name="Remove northwind.example")).to_have_count(0)

    # The initial domain becomes default again, then the added one can go.
    page.get_by_role("button", name=f"Make northwind.{SUFFIX} the default").click()
    expect(page.get_by_role("status")).to_contain_text("is now the default")
    page.get_by_role("button", name="Remove northwind.example").click()
    confirm(page)
    expect(page.get_by_role("status")).to_contain_text("northwind.example removed")
    expect(page.locator("article[id^=domain-]", has_text="northwind.example")).to_have_count(0)


def test_licences_unassign_and_assign(server: str, page: Page, shots: Any) -> None:
    sign_in(page, server, "admin@adatum")
    nav(page, "Users")
    page.get_by_role("link", name="Joni Sherman").click()
    row = page.get_by_role("row", name=re.compile("Tenantry Business Standard"))
    expect(row).to_contain_text("Assigned")
    row.get_by_role("button", name="Unassign").click()
    confirm(page)
    expect(page.get_by_role("status")).to_contain_text("Licence removed from Joni Sherman")
    expect(row).to_contain_text("Not assigned")
    expect(row).to_contain_text("3 of 10")

    nav(page, "Subscriptions and licences")
    expect(page.get_by_role("row", name=re.compile("Business Standard"))).to_contain_text("3 of 10")
    page.get_by_role("link", name="Tenantry Business Standard").click()
    page.get_by_label("Assign a licence to (user name)").fill(f"joni@adatum.{SUFFIX}")
    page.get_by_role("button", name="Assign licence").click()
    expect(page.get_by_role("status")).to_contain_text("Licence assigned to Joni Sherman")
    expect(page.get_by_role("cell", name=f"joni@adatum.{SUFFIX}", exact=True)).to_be_visible()
    expect(page.locator("main")).to_contain_text("4 of 10 licences assigned")
    page.get_by_label("Assign a licence to (user name)").fill(f"joni@adatum.{SUFFIX}")
    page.get_by_role("button", name="Assign licence").click()
    expect(page.get_by_role("alert")).to_contain_text("already has this licence")
    shots(page, "admin-subscription")


def test_service_request_status_and_comments(server: str, page: Page) -> None:
    sign_in(page, server, "admin@contoso")
    nav(page, "Service requests")
    page.get_by_role("link", name="Mail delivery delays").click()
    page.get_by_role("button", name="Add comment").click()  # empty: the browser refuses
    expect(page.locator(".comment")).to_have_count(0)
    page.get_by_label("Add a comment").fill("Seen from two mailboxes.\nStill happening.")
    page.get_by_role("button", name="Add comment").click()
    expect(page.locator(".comment")).to_contain_text("Still happening.")
    page.get_by_label("Status").select_option("resolved")
    page.get_by_role("button", name="Update request").click()
    expect(page.get_by_role("status")).to_contain_text("Request updated")
    expect(page.locator("main")).to_contain_text("resolved")
    nav(page, "Service requests")
    page.get_by_label("Status").select_option("open")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("link", name="Mail delivery delays")).to_have_count(0)


def test_partner_access_assignments(server: str, page: Page, shots: Any) -> None:
    sign_in(page, server, "admin@fabrikam")
    # Giving a group roles in customers needs a sign-in that could act on behalf itself.
    enrol_mfa(page, server, "admin@fabrikam")
    # A new security group in the partner's own directory ...
    page.goto(f"{server}/partner")
    page.get_by_role("link", name="Admin center").first.click()
    nav(page, "Groups")
    page.get_by_text("Add a group").click()
    page.get_by_label("Name").fill("Tier 2 support")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("heading", name="Tier 2 support")).to_be_visible()

    # ... given Limited administration in Contoso.
    page.goto(f"{server}/partner/relationships")
    page.get_by_role("link", name="Contoso").first.click()
    expect(page.get_by_role("heading", name="Contoso")).to_be_visible()
    assignments = page.locator("table").first
    expect(assignments).to_contain_text("Admin agents")
    standing = page.get_by_role("group", name=re.compile("^Standing roles"))
    page.get_by_label("Security group").select_option(label="Tier 2 support")
    standing.get_by_label(re.compile("Limited administration")).check()
    page.get_by_role("button", name="Assign access").click()
    expect(page.get_by_role("status")).to_contain_text("Access assigned")
    row = page.get_by_role("row", name=re.compile("Tier 2 support"))
    expect(row).to_contain_text("Limited administration")
    shots(page, "partner-relationship")

    # Once is enough; nothing ticked is refused with a reason.
    page.get_by_label("Security group").select_option(label="Tier 2 support")
    standing.get_by_label(re.compile("Limited administration")).check()
    page.get_by_role("button", name="Assign access").click()
    expect(page.get_by_role("alert")).to_contain_text("already has an assignment")
    page.get_by_role("button", name="Assign access").click()
    expect(page.get_by_role("alert")).to_contain_text("Give at least one role")

    row.get_by_role("button", name="Remove access of Tier 2 support").click()
    confirm(page)
    expect(page.get_by_role("status")).to_contain_text("Access assignment removed")
    expect(page.get_by_role("row", name=re.compile("Tier 2 support"))).to_have_count(0)


def test_settings_and_the_audit_log_by_partner(server: str, page: Page) -> None:
    # A Fabrikam helpdesk agent raises a request in Contoso, on its behalf.
    sign_in(page, server, "tech@fabrikam")
    enrol_mfa(page, server, "tech@fabrikam")
    page.goto(f"{server}/partner/find?q=contoso")
    page.locator("#results").get_by_role("button", name="Create service request").first.click()
    page.get_by_text("New service request").click()
    page.get_by_label("Title").fill("Printer queue stuck")
    page.get_by_label("Description").fill("Raised by the helpdesk.")
    page.get_by_role("button", name="Raise request").click()
    expect(page.get_by_role("heading", name="Printer queue stuck")).to_be_visible()

    sign_in(page, server, "admin@contoso")
    nav(page, "Settings")
    page.get_by_label("Phone").fill("+1 425 555 0100")
    page.get_by_role("button", name="Save contact details").click()
    expect(page.get_by_role("status")).to_contain_text("Contact details saved")
    page.get_by_label(re.compile("Delete users")).check()
    page.get_by_role("button", name="Save partner policy").click()
    expect(page.get_by_role("status")).to_contain_text("Partner policy saved")
    expect(page.get_by_label(re.compile("Delete users"))).to_be_checked()
    nav(page, "Home")
    expect(page.locator("main")).to_contain_text("+1 425 555 0100")

    nav(page, "Audit log")
    page.get_by_label("Who").select_option(label="Partner: Fabrikam IT Services")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    expect(rows.filter(has_text="service_request.create")).to_have_count(1)
    expect(rows.filter(has_text="Partner: Fabrikam IT Services")).to_have_count(rows.count())
    page.get_by_label("Who").select_option(label="Partner: Litware Managed Services")
    page.get_by_role("button", name="Filter").click()
    expect(rows.filter(has_text="service_request.create")).to_have_count(0)
    # "To" includes the whole day it names.
    page.get_by_label("Who").select_option(label="Everyone")
    today = page.evaluate("new Date().toISOString().slice(0, 10)")
    page.get_by_label("To", exact=True).fill(today)
    page.get_by_role("button", name="Filter").click()
    expect(rows.filter(has_text="tenant.update")).to_have_count(1)
