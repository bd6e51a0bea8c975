"""Customer groups in Chromium (issue 14): a partner admin notes a custom field on a customer,
makes a dynamic group with the rule builder (a custom field and a SKU held), sees its members,
filters the customer list by it, is told in words what is wrong with a bad rule, and deletes
the group."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.web.browsing import confirm, enrol_mfa, sign_in

pytestmark = pytest.mark.slow


def test_dynamic_group_made_in_the_builder_filters_the_customer_list(
    server: str, page: Page, shots: Any
) -> None:
    sign_in(page, server, "admin@fabrikam")
    enrol_mfa(page, server, "admin@fabrikam")  # figures are read on behalf: with MFA

    # A custom field on Contoso (Fabrikam's own note).
    page.goto(f"{server}/partner")
    page.get_by_role("link", name="Contoso").click()
    page.get_by_label(re.compile("One name=value a line")).fill("region=EU\ntier=gold")
    page.get_by_role("button", name="Save the custom fields").click()
    expect(page.get_by_role("status")).to_contain_text("Custom fields saved")
    expect(page.locator(".custom-fields")).to_contain_text("EU")

    # A dynamic group: region = EU and holds Business Standard.
    page.get_by_role("navigation", name="Partner center").get_by_role(
        "link", name="Customer groups"
    ).click()
    page.get_by_label("Name", exact=True).fill("EU standard")
    page.get_by_role("radio", name=re.compile("Dynamic")).check()
    page.get_by_label("Condition 1", exact=True).select_option("field")
    page.get_by_label("Condition 1: field name or SKU").fill("region")
    page.get_by_label("Condition 1: comparison").select_option("equals")
    page.get_by_label("Condition 1: value").fill("EU")
    page.get_by_label("Condition 2", exact=True).select_option("skus")
    page.get_by_label("Condition 2: value").fill("business_standard")
    page.get_by_role("button", name="Make the group").click()
    expect(page.get_by_role("status")).to_contain_text("Group EU standard made")
    expect(page.get_by_role("heading", name="EU standard")).to_be_visible()
    members = page.locator("table").first
    expect(members).to_contain_text("Contoso")
    expect(members).not_to_contain_text("Northwind")
    shots(page, "partner-customer-group")

    # The customer list, filtered by the group.
    page.goto(f"{server}/partner")
    expect(page.locator("table")).to_contain_text("Northwind")
    page.get_by_label("Customer group").select_option(label="EU standard")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table")).to_contain_text("Contoso")
    expect(page.locator("table")).not_to_contain_text("Northwind")

    # A bad rule is refused with the reason, nothing made.
    page.goto(f"{server}/partner/customer-groups")
    page.get_by_label("Name", exact=True).fill("Broken")
    page.get_by_role("radio", name=re.compile("Dynamic")).check()
    page.get_by_label("Condition 1", exact=True).select_option("seats")
    page.get_by_label("Condition 1: value").fill("many")
    page.get_by_role("button", name="Make the group").click()
    expect(page.get_by_role("alert")).to_contain_text("Condition 1")
    expect(page.get_by_role("link", name="Broken")).to_have_count(0)

    # Deleted.
    page.get_by_role("link", name="EU standard").click()
    page.get_by_role("button", name="Delete the group").click()
    confirm(page)
    expect(page.get_by_role("status")).to_contain_text("Group deleted")
    expect(page.get_by_role("link", name="EU standard")).to_have_count(0)
