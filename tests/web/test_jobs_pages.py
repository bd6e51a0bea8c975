"""Bulk jobs in Chromium, on the demo seed: Fabrikam's admin makes a job from targets handed
over in the address (as Find and Assist's selection does) and sees each refusal explained;
then schedules a service request to every customer a few seconds ahead and watches the
progress bar move to the end on its own (htmx polling, no reload)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.web.browsing import enrol_mfa, sign_in
from tests.web.test_quality import check_page

pytestmark = pytest.mark.slow


def test_targets_from_the_address_and_a_live_progress_bar(
    server: str, page: Page, shots: Any
) -> None:
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    sign_in(page, server, "admin@fabrikam")
    enrol_mfa(page, server, "admin@fabrikam")

    unknown = [f"{uuid.uuid4()}:{uuid.uuid4()}" for _ in range(2)]
    page.goto(
        f"{server}/partner/jobs/new?action=block_sign_in&"
        + "&".join(f"target={t}" for t in unknown)
    )
    expect(page.get_by_text("2 target(s) chosen.")).to_be_visible()
    page.locator("form[action='/partner/jobs']").get_by_role("button", name="Make the job").click()
    expect(page.get_by_role("status")).to_contain_text("Job made: 2 item(s).")
    expect(page.locator("#job-status")).to_have_text("completed", timeout=20_000)
    page.reload()  # the items table is as it was when the page was shown
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("refused")
    expect(rows.first).to_contain_text("Organisation not found.")

    page.goto(f"{server}/partner/jobs/new")
    form = page.locator("form[action='/partner/jobs']")
    form.get_by_label("Action", exact=True).select_option("raise_service_request")
    form.get_by_label("Service request title").fill("Maintenance tonight")
    form.get_by_label("Service request description").fill("We patch your tenant at 22:00.")
    form.get_by_label(re.compile("Or every customer")).check()
    start = (datetime.now(UTC) + timedelta(seconds=4)).strftime("%Y-%m-%dT%H:%M:%S")
    form.get_by_label("Start at (UTC; blank: now)").fill(start)
    form.get_by_role("button", name="Make the job").click()
    expect(page.locator("#job-status")).to_have_text("scheduled")
    page.evaluate("window.stillThisPage = true")
    bar = page.locator("#job-bar")
    total = bar.get_attribute("max")
    assert bar.get_attribute("value") == "0"
    expect(page.locator("#job-status")).to_have_text("completed", timeout=30_000)
    expect(bar).to_have_attribute("value", total or "")
    assert page.evaluate("window.stillThisPage") is True  # updated in place, never reloaded
    shots(page, "partner-job")
    page.get_by_role("link", name="Download results (CSV)").is_visible()

    # A CSV of user names: each found in the customer holding its domain.
    page.goto(f"{server}/partner/jobs/new")
    upload = page.locator("form[action='/partner/jobs/csv']")
    upload.get_by_label("Action", exact=True).select_option("require_password_change")
    good = "user_principal_name\nmegan@contoso.tenantry.test\nalex@contoso.tenantry.test\n"
    upload.get_by_label("CSV file").set_input_files(
        {"name": "users.csv", "mimeType": "text/csv", "buffer": good.encode()}
    )
    upload.get_by_role("button", name="Upload and make the job").click()
    expect(page.get_by_role("status")).to_contain_text("Job made: 2 item(s).")
    expect(page.locator("#job-status")).to_have_text("completed", timeout=20_000)
    page.goto(f"{server}/partner/jobs/new")
    upload.get_by_label("Action", exact=True).select_option("block_sign_in")
    upload.get_by_label("CSV file").set_input_files(
        {
            "name": "bad.csv",
            "mimeType": "text/csv",
            "buffer": b"user_principal_name\nx@nowhere.example\n",
        }
    )
    upload.get_by_role("button", name="Upload and make the job").click()
    expect(page.get_by_text(re.compile(r"lines 2\)"))).to_be_visible()

    page.get_by_role("navigation", name="Partner center").get_by_role("link", name="Jobs").click()
    expect(page.get_by_role("link", name=re.compile("UTC"))).to_have_count(3)
    job_url = page.get_by_role("link", name=re.compile("UTC")).first.get_attribute("href")
    assert violations == []

    # At 375 px: headings in order, every input labelled, nothing wider than the screen.
    page.set_viewport_size({"width": 375, "height": 812})
    for url in ("/partner/jobs", "/partner/jobs/new", str(job_url)):
        check_page(page, f"{server}{url}", violations)
