"""Find and Assist's filters and the Reports page in Chromium (issue 14), on the demo
platform: Fabrikam's admin (with two-step verification) finds the admins of its customers,
ticks one and takes it to a new job; then downloads the users report."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from tests.web.browsing import SUFFIX, enrol_mfa, sign_in


@pytest.mark.slow
def test_find_users_by_filters_then_run_a_job_and_download_a_report(
    server: str, page: Page, shots: Any, tmp_path: Path
) -> None:
    base = server
    sign_in(page, base, "admin@fabrikam")
    enrol_mfa(page, base, "admin@fabrikam")
    page.goto(f"{base}/partner/find")
    page.get_by_label("hold an admin role").check()
    page.get_by_role("button", name="Find").click()
    results = page.locator("#results")
    expect(results).to_contain_text(f"admin@contoso.{SUFFIX}")
    expect(results).to_contain_text(f"admin@northwind.{SUFFIX}")
    expect(results).not_to_contain_text(f"megan@contoso.{SUFFIX}")  # no admin role
    expect(results).not_to_contain_text("adatum")  # not a customer of Fabrikam
    expect(results.get_by_text("Global Administrator").first).to_be_visible()
    shots(page, "find-and-assist-filters")

    # Blocked from signing in: nobody in the demo.
    page.get_by_label("are blocked from signing in").check()
    page.get_by_role("button", name="Find").click()
    expect(results).to_contain_text("No user you may see matches.")
    page.get_by_label("are blocked from signing in").uncheck()
    page.get_by_label("hold an admin role").uncheck()
    page.get_by_label("Customer, domain or user").fill("megan")
    page.get_by_role("button", name="Find").click()
    found = page.locator("#selected-users tbody tr")
    expect(found.filter(has_text="megan@")).to_have_count(1)

    page.get_by_label(f"Select megan@contoso.{SUFFIX}").check()
    page.get_by_role("button", name="Run a job on the selected users").click()
    expect(page).to_have_url(re.compile(r"/partner/jobs/new\?target="))
    (target,) = parse_qs(urlparse(page.url).query)["target"]
    tenant_id, user_id = target.split(":")
    assert len(tenant_id) == 36 and len(user_id) == 36

    page.goto(f"{base}/partner")
    page.get_by_role("navigation", name="Partner center").get_by_role(
        "link", name="Reports"
    ).click()
    expect(page.get_by_role("heading", name="Reports")).to_be_visible()
    page.get_by_role("radio", name=re.compile("Users: enabled")).check()
    page.get_by_role("radio", name=re.compile("CSV")).check()
    shots(page, "partner-reports")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    saved = tmp_path / "users.csv"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "users-report.csv"
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    upns = {r["user_principal_name"] for r in rows}
    assert f"megan@contoso.{SUFFIX}" in upns and f"nestor@northwind.{SUFFIX}" in upns
    assert not any(upn.endswith(f"adatum.{SUFFIX}") for upn in upns)
    megan = next(r for r in rows if r["user_principal_name"] == f"megan@contoso.{SUFFIX}")
    assert megan["licenses"] == "business_standard"
