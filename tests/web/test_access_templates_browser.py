"""Access templates in Chromium, on the demo seed: Fabrikam's admin makes a template for its
on-call group (Limited administration standing, Read everything too, which no customer
approved), chooses Contoso only, previews (one creation, the unapproved role left out and
said), applies (confirmed in the dialog) and applies again (unchanged). The pages pass the
quality checks at 375 px."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.web.browsing import confirm, enrol_mfa, sign_in
from tests.web.test_quality import check_page

pytestmark = pytest.mark.slow


def test_a_template_is_previewed_and_applied(page: Page, server: str, shots: Any) -> None:
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    sign_in(page, server, "admin@fabrikam")
    enrol_mfa(page, server, "admin@fabrikam")
    page.goto(f"{server}/partner")
    nav = page.get_by_role("navigation", name="Partner center")
    nav.get_by_role("link", name="Access templates").click()
    expect(page.get_by_role("heading", name="Access templates")).to_be_visible()

    page.get_by_label("Name").fill("Helpdesk EU")
    page.get_by_label("Security group").select_option(label="On call")
    standing = page.get_by_role("group", name=re.compile("^Standing roles"))
    standing.get_by_label(re.compile("Limited administration")).check()
    standing.get_by_label(re.compile("Read everything")).check()
    page.get_by_role("button", name="Create template").click()
    expect(page.get_by_role("status")).to_contain_text("Template 'Helpdesk EU' created.")
    expect(page.get_by_role("row", name=re.compile("On call"))).to_contain_text(
        "Limited administration"
    )

    page.get_by_label(re.compile("^Only these customers")).select_option(label="Contoso")
    page.get_by_role("button", name="Preview").click()
    plan = page.locator("table.plan tbody tr")
    expect(plan).to_have_count(1)
    expect(plan).to_contain_text("Contoso")
    expect(plan).to_contain_text("create")
    expect(plan).to_contain_text("left out: global_reader")
    shots(page, "partner-access-template-preview")
    template_url = page.url

    page.get_by_role("button", name="Apply", exact=True).click()
    confirm(page)
    expect(page.get_by_role("status")).to_contain_text("Applied: 1 created, 0 updated")

    page.goto(template_url)
    page.get_by_role("button", name="Apply", exact=True).click()
    confirm(page)
    expect(page.get_by_role("status")).to_contain_text("1 unchanged")

    page.set_viewport_size({"width": 375, "height": 812})
    for url in (f"{server}/partner/access-templates", template_url):
        check_page(page, url, violations)
