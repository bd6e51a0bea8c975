"""Just-in-time elevation in Chromium, on the demo seed: Fabrikam's admin makes Global
Administrator eligible for its on-call group in Contoso on the relationship page; Taylor (on
call) activates it on My access and watches the time left count down; Contoso sees it on its
Partner relationships page and ends it. In Northwind (the seed's eligible role, approved by
Fabrikam's on-call approvers) Taylor's request waits, Taylor can't approve it even as an
approver (no button; a forged post is refused with the reason), Fabrikam's admin approves it
in Approvals and Taylor sees it active. The pages pass the quality checks at 375 px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.web.browsing import SUFFIX, confirm, enrol_mfa, sign_in
from tests.web.test_quality import check_page

pytestmark = pytest.mark.slow

TAYLOR = f"tech@fabrikam.{SUFFIX}"
FABRIKAM_ADMIN = f"admin@fabrikam.{SUFFIX}"
NORTHWIND = "Northwind Traders"
GA_WORDS = re.compile("Full administration")


@dataclass
class Desk:
    """Everyone's browser, each signed in once in a context of its own (a verification code
    is never accepted twice, so nobody signs in again within the module)."""

    browser: Any
    server: str
    pages: dict[str, Page] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def of(self, who: str, mfa: bool = False) -> Page:
        if who not in self.pages:
            context = self.browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.on(
                "console",
                lambda m: (
                    self.violations.append(m.text) if "Content Security Policy" in m.text else None
                ),
            )
            sign_in(page, self.server, who)
            if mfa:
                enrol_mfa(page, self.server, who)
            self.pages[who] = page
        return self.pages[who]

    def phone_check(self, who: str, url: str) -> None:
        """The page at 375 px: nothing wider than the screen, headings in order, inputs
        labelled, no Content-Security-Policy violation."""
        page = self.pages[who]
        page.set_viewport_size({"width": 375, "height": 812})
        try:
            check_page(page, url, self.violations)
        finally:
            page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture(scope="module")
def desk(browser: Any, server: str) -> Iterator[Desk]:
    desk = Desk(browser, server)
    yield desk
    for page in desk.pages.values():
        page.context.close()


def tenant_of_page(page: Page) -> str:
    """The signed-in person's own organisation, from the Admin center link in the header."""
    link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin center")
    href = link.get_attribute("href") or ""
    return href.removeprefix("/admin/")


def partner_nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Partner center").get_by_role("link", name=name).click()


def test_an_agent_activates_on_my_access_and_the_customer_ends_it(
    desk: Desk, server: str, shots: Any
) -> None:
    # Fabrikam's admin makes Global Administrator eligible for On call in Contoso, for at most
    # an hour and without approval, on the relationship page.
    admin = desk.of("admin@fabrikam", mfa=True)
    admin.goto(f"{server}/partner")
    partner_nav(admin, "Relationships")
    admin.get_by_role("link", name="Contoso").first.click()
    admin.get_by_label("Security group").select_option(label="On call")
    eligible = admin.get_by_role("group", name=re.compile("^Eligible roles"))
    eligible.get_by_label(GA_WORDS).check()
    admin.get_by_label(re.compile("^Longest activation")).fill("60")
    admin.get_by_role("button", name="Assign access").click()
    expect(admin.get_by_role("status")).to_contain_text("Access assigned")
    row = admin.get_by_role("row", name=re.compile("On call"))
    expect(row).to_contain_text("Full administration")
    expect(row).to_contain_text("Up to 60 minutes · no approval needed")

    # Taylor sees what it may activate, and activates it for 45 minutes with a reason.
    taylor = desk.of("tech@fabrikam", mfa=True)
    taylor.goto(f"{server}/partner")
    partner_nav(taylor, "My access")
    expect(taylor.get_by_role("heading", name="My access")).to_be_visible()
    roles = taylor.locator(".eligible-roles tbody tr")
    expect(roles).to_have_count(2)
    expect(roles.filter(has_text="Contoso")).to_contain_text("not needed")
    expect(roles.filter(has_text=NORTHWIND)).to_contain_text("by a partner approver")
    expect(roles.filter(has_text=NORTHWIND)).to_contain_text("120 minutes")
    expect(taylor.get_by_text("Nothing is active")).to_be_visible()
    taylor.get_by_label("Role", exact=True).select_option(
        label="Global Administrator in Contoso (up to 60 min)"
    )
    taylor.get_by_label(re.compile("^For how long")).fill("45")
    taylor.get_by_label("Why you need it").fill("Mailbox permissions for the CFO")
    taylor.get_by_label("Ticket (optional)").fill("INC-1001")
    taylor.get_by_role("button", name="Activate").click()
    expect(taylor.get_by_role("status")).to_contain_text(
        "Global Administrator is active for 45 minutes."
    )
    active = taylor.locator(".active-elevations tbody tr")
    expect(active).to_have_count(1)
    expect(active).to_contain_text("Contoso")
    timer = active.get_by_role("timer")
    expect(timer).to_have_text(re.compile(r"^4[45] min \d\d s left$"))
    before = timer.inner_text()
    expect(timer).not_to_have_text(before)  # it counts down, live
    shots(taylor, "partner-my-access")

    # The role works: Taylor (Limited, refused adding users elsewhere) may add one in Contoso.
    active.get_by_role("link", name="Open Contoso").click()
    expect(taylor.locator(".banner")).to_contain_text("on behalf of Fabrikam")
    taylor.goto(taylor.url + "/users/new")
    expect(taylor.get_by_role("button", name="Create user")).to_be_visible()

    # Contoso sees who, which role, why and until when, and ends it.
    contoso = desk.of("admin@contoso")
    contoso.goto(f"{server}/admin/{tenant_of_page(contoso)}/partners")
    listed = contoso.locator(".activations tbody tr", has_text=TAYLOR)
    expect(listed).to_have_count(1)
    for shown in ("Fabrikam IT Services", "Global Administrator", "45 minutes"):
        expect(listed).to_contain_text(shown)
    expect(listed).to_contain_text("Mailbox permissions for the CFO")
    expect(listed).to_contain_text("Ticket INC-1001")
    expect(listed.locator(".status")).to_have_text("active")
    expect(listed.get_by_role("timer")).to_have_text(re.compile(r" s left$"))
    listed.get_by_role("button", name=re.compile("^End .* now$")).click()
    confirm(contoso)
    expect(contoso.get_by_role("status")).to_contain_text(
        f"{TAYLOR}'s Global Administrator: ended now."
    )
    expect(listed.locator(".status")).to_have_text("ended")
    expect(listed).to_contain_text("ended by admin@contoso")
    expect(listed.get_by_role("button")).to_have_count(0)

    # Taylor's page says so at the next load, and the power is gone.
    taylor.goto(f"{server}/partner/access")
    expect(taylor.get_by_text("Nothing is active")).to_be_visible()
    expect(taylor.locator(".earlier-activations tbody tr").first.locator(".status")).to_have_text(
        "ended"
    )


def test_an_approver_approves_in_the_queue_and_never_its_own_request(
    desk: Desk, server: str
) -> None:
    # Fabrikam's admin makes Taylor an on-call approver too, in its own Admin center: its own
    # request still isn't its to decide.
    admin = desk.of("admin@fabrikam", mfa=True)
    admin.goto(f"{server}/admin/{tenant_of_page(admin)}/groups")
    admin.get_by_role("link", name="On-call approvers").click()
    admin.get_by_label("Add a member (user name)").fill(TAYLOR)
    admin.get_by_role("button", name="Add member").click()
    expect(admin.get_by_role("cell", name="Taylor Tech", exact=True)).to_be_visible()

    taylor = desk.of("tech@fabrikam", mfa=True)
    taylor.goto(f"{server}/partner/access")
    taylor.get_by_label("Role", exact=True).select_option(
        label=f"Global Administrator in {NORTHWIND} (up to 120 min)"
    )
    taylor.get_by_label(re.compile("^For how long")).fill("60")
    taylor.get_by_label("Why you need it").fill("Conditional access change")
    taylor.get_by_role("button", name="Activate").click()
    expect(taylor.get_by_role("status")).to_contain_text(
        "Your request for Global Administrator waits for approval."
    )
    waiting = taylor.locator(".pending-requests tbody tr")
    expect(waiting).to_have_count(1)
    expect(waiting).to_contain_text(NORTHWIND)
    expect(waiting).to_contain_text("a partner approver")
    activation_id = (waiting.get_attribute("id") or "").removeprefix("activation-")

    # Its own queue offers nothing, and a forged approval is refused with the reason.
    partner_nav(taylor, "Approvals")
    expect(taylor.get_by_text("Nothing waits for you")).to_be_visible()
    expect(taylor.get_by_role("button", name=re.compile("^Approve"))).to_have_count(0)
    token = taylor.locator("input[name=csrf_token]").first.input_value()
    forged = taylor.request.post(
        f"{server}/partner/approvals/{activation_id}/approve",
        form={"csrf_token": token},
        headers={"Referer": taylor.url},
        max_redirects=0,
    )
    assert forged.status == 303
    taylor.goto(f"{server}/partner/approvals")
    expect(taylor.get_by_role("alert")).to_contain_text(
        "Denied: you can't approve or deny your own request; another member of the approver "
        "group decides it."
    )

    # Fabrikam's admin (an on-call approver) sees it in Approvals; the page passes at 375 px.
    admin.goto(f"{server}/partner")
    partner_nav(admin, "Approvals")
    queued = admin.locator(".approval-queue tbody tr")
    expect(queued).to_have_count(1)
    for shown in (TAYLOR, NORTHWIND, "Global Administrator", "60", "Conditional access change"):
        expect(queued).to_contain_text(shown)
    desk.phone_check("admin@fabrikam", f"{server}/partner/approvals")
    queued.get_by_role("button", name=re.compile("^Approve")).click()
    expect(admin.get_by_role("status")).to_contain_text(
        f"Approved: {TAYLOR} holds Global Administrator in {NORTHWIND} for 60 minutes."
    )
    expect(admin.get_by_text("Nothing waits for you")).to_be_visible()

    # Taylor sees it active, with its time left; the page passes at 375 px.
    taylor.goto(f"{server}/partner/access")
    active = taylor.locator(".active-elevations tbody tr", has_text=NORTHWIND)
    expect(active.get_by_role("timer")).to_have_text(re.compile(r"^(59|60) min \d\d s left$"))
    expect(taylor.locator(".pending-requests")).to_have_count(0)
    desk.phone_check("tech@fabrikam", f"{server}/partner/access")

    # Northwind sees who approved it; its page passes at 375 px too.
    northwind = desk.of("admin@northwind")
    partners_page = f"{server}/admin/{tenant_of_page(northwind)}/partners"
    northwind.goto(partners_page)
    listed = northwind.locator(".activations tbody tr", has_text=TAYLOR)
    expect(listed.locator(".status")).to_have_text("active")
    expect(listed).to_contain_text(f"{FABRIKAM_ADMIN} (partner)")
    expect(listed.get_by_role("button", name=re.compile("^End .* now$"))).to_be_visible()
    desk.phone_check("admin@northwind", partners_page)
