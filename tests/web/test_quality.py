"""The quality bar of the web UI, in Chromium: readable at 375 px, headings in order, every
input labelled, no Content-Security-Policy violation, usable with the keyboard alone, forged
forms refused, sign-out ending the session on the server, API docs served offline."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from tenantry.web.session import SESSION_COOKIE
from tests.web.browsing import SUFFIX, sign_in

pytestmark = pytest.mark.slow

ADMIN_PAGES = (
    "",
    "/users",
    "/users/new",
    "/groups",
    "/domains",
    "/subscriptions",
    "/service-requests",
    "/audit",
    "/partners",
    "/settings",
)
PARTNER_PAGES = (
    "/partner",
    "/partner/find?q=contoso",
    "/partner/find?admin_role=on&no_second_factor=on",
    "/partner/reports",
    "/partner/offers",
    "/partner/agents",
    "/partner/relationships",
    "/partner/audit",
    "/partner/access",
    "/partner/approvals",
)

# Facts about the page a person (or a screen reader) depends on, read in the browser.
PAGE_FACTS = """() => {
  const levels = [...document.querySelectorAll("h1,h2,h3,h4,h5,h6")]
    .filter(h => h.offsetParent !== null).map(h => Number(h.tagName[1]));
  const unlabelled = [...document.querySelectorAll("input,select,textarea")]
    .filter(e => e.type !== "hidden" && e.offsetParent !== null)
    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute("aria-label")
                 && !e.getAttribute("aria-labelledby"))
    .map(e => e.outerHTML.slice(0, 120));
  const root = document.documentElement;
  return {levels, unlabelled, overflow: root.scrollWidth - root.clientWidth};
}"""


@pytest.fixture
def phone(browser: Any) -> Iterator[Page]:
    page = browser.new_page(viewport={"width": 375, "height": 812}, is_mobile=True)
    yield page
    page.close()


def check_page(page: Page, url: str, violations: list[str]) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    facts = page.evaluate(PAGE_FACTS)
    assert facts["levels"][:1] == [1], f"{url}: the first heading is not h1"
    for before, after in zip(facts["levels"], facts["levels"][1:], strict=False):
        assert after <= before + 1, f"{url}: h{before} is followed by h{after}"
    assert facts["unlabelled"] == [], f"{url}: inputs without a label"
    assert facts["overflow"] <= 0, f"{url}: wider than the screen by {facts['overflow']} px"
    assert violations == [], f"{url}: {violations}"


def test_pages_at_375_px(server: str, phone: Page, shots: Any) -> None:
    violations: list[str] = []
    phone.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    sign_in(phone, server, "admin@contoso")
    home = phone.url
    for path in ADMIN_PAGES:
        check_page(phone, home + path, violations)
    phone.goto(home + "/users")
    phone.get_by_role("link", name="Megan Bowen").click()
    check_page(phone, phone.url, violations)
    phone.goto(home + "/subscriptions")
    phone.get_by_role("link", name="Tenantry Business Standard").click()
    check_page(phone, phone.url, violations)
    phone.goto(home + "/service-requests")
    phone.get_by_role("link", name="Mail delivery delays").click()
    check_page(phone, phone.url, violations)
    check_page(phone, f"{server}/me", violations)
    phone.goto(home)
    shots(phone, "phone-admin-home")

    sign_in(phone, server, "admin@fabrikam")
    for path in PARTNER_PAGES:
        check_page(phone, server + path, violations)
    phone.goto(f"{server}/partner/relationships")
    phone.get_by_role("link", name="Contoso").first.click()
    check_page(phone, phone.url, violations)
    phone.goto(f"{server}/partner")
    shots(phone, "phone-partner-customers")
    phone.goto(f"{server}/partner/offers")
    offer_link = phone.locator("input[id^=link-]").first.input_value()

    phone.context.clear_cookies()
    check_page(phone, f"{server}/sign-in", violations)
    check_page(phone, offer_link, violations)
    sign_in(phone, server, "admin@adatum")
    check_page(phone, offer_link, violations)
    missing = phone.goto(f"{server}/admin/{uuid.uuid4()}")
    assert missing is not None and missing.status == 404
    expect(phone.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(phone.locator("main")).to_contain_text("Organisation not found.")


def focus_by_tab(page: Page, name: str, limit: int = 80) -> None:
    """Press Tab until the focused element is called ``name`` (as a screen reader says it)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        label = page.evaluate(
            "() => { const e = document.activeElement;"
            " return (e.getAttribute('aria-label') || e.innerText || e.value || '').trim(); }"
        )
        if label == name:
            return
    raise AssertionError(f"{name!r} is not reachable with the Tab key")


def test_keyboard_only(server: str, page: Page) -> None:
    page.goto(f"{server}/sign-in")
    expect(page.get_by_label(re.compile("^User name"))).to_be_focused()
    page.keyboard.type(f"admin@northwind.{SUFFIX}")
    page.keyboard.press("Tab")
    page.keyboard.type("Tenantry-Demo-2026")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Northwind Traders")
    page.keyboard.press("Tab")  # the first stop skips the navigation
    expect(page.locator(":focus")).to_have_text("Skip to content")

    focus_by_tab(page, "Users")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    focus_by_tab(page, "Add a user")
    page.keyboard.press("Enter")
    page.get_by_label("Display name").focus()
    page.keyboard.type("Kim Keyboard")
    page.keyboard.press("Tab")
    page.keyboard.type(f"kim@northwind.{SUFFIX}")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Kim Keyboard is created")).to_be_visible()

    # A destructive action asks first; Escape keeps everything as it was.
    focus_by_tab(page, "Back to Kim Keyboard")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Kim Keyboard", exact=True)).to_be_visible()
    focus_by_tab(page, "Disable sign-in")
    page.keyboard.press("Enter")
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Yes")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("main")).to_contain_text("Enabled")
    focus_by_tab(page, "Disable sign-in")
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("button", name="Yes")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Saved")
    expect(page.locator("main")).to_contain_text("Disabled")


def test_forged_forms_are_refused(server: str, page: Page) -> None:
    sign_in(page, server, "admin@northwind")
    page.get_by_role("link", name="Users", exact=True).click()
    page.get_by_role("link", name="Nestor Wilke").click()
    user_page = page.url

    # A token that is not this session's: refused with a readable reason, nothing changed.
    page.locator("form:has(#display_name) input[name=csrf_token]").evaluate(
        "e => e.value = 'forged'"
    )
    page.get_by_label("Display name").fill("Changed By A Forgery")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("did not come from this site")
    page.goto(user_page)
    expect(page.get_by_role("heading", name="Nestor Wilke")).to_be_visible()

    # A post with the session cookie but no token at all (what another site could send).
    response = page.request.post(
        user_page, form={"display_name": "Cross Site", "action": "save"}, max_redirects=0
    )
    assert response.status == 303
    page.goto(user_page)
    expect(page.get_by_role("heading", name="Nestor Wilke")).to_be_visible()


def test_sign_out_ends_the_session_on_the_server(server: str, browser: Any, page: Page) -> None:
    sign_in(page, server, "admin@northwind")
    first = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    assert first["httpOnly"] and first["sameSite"] == "Lax"
    assert not first["secure"]  # plain http here; HTTPS gets Secure (unit-tested)

    # Signing in again rotates the session: the earlier token no longer works.
    page.goto(f"{server}/sign-in")  # signed in: goes home
    sign_in(page, server, "admin@northwind")
    second = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    assert second["value"] != first["value"]

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("You are signed out")
    assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}

    # The old cookie, replayed from elsewhere, leads to the sign-in page; the API refuses it.
    other = browser.new_context()
    host = urlsplit(server).hostname
    other.add_cookies(
        [{"name": SESSION_COOKIE, "value": second["value"], "domain": host, "path": "/"}]
    )
    replay = other.new_page()
    replay.goto(f"{server}/me")
    expect(replay).to_have_url(re.compile(r"/sign-in\?next="))
    api = other.request.get(
        f"{server}/api/v1/me", headers={"Authorization": f"Bearer {second['value']}"}
    )
    assert api.status == 401
    other.close()


HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def test_api_docs_load_without_the_internet(server: str, page: Page) -> None:
    """Every tag and every operation of the document is in the page at once (Swagger UI 5.33+
    would virtualize a list of 150 rows and more: only what is in view; init.js keeps the
    full layout), from the package's own assets."""
    document = httpx.get(f"{server}/api/v1/openapi.json", timeout=30).json()
    operations = [
        (tag, path, method)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
        for tag in operation.get("tags") or ["default"]
    ]
    tags = sorted({tag for tag, _, _ in operations})
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
    page.goto(f"{server}/api/v1/docs")
    # Rendering every operation at once takes a few seconds on a busy machine.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Tenantry", timeout=30_000)
    expect(page.locator(".opblock")).to_have_count(len(operations), timeout=30_000)
    rendered = page.eval_on_selector_all(".opblock-tag", "tags => tags.map(t => t.dataset.tag)")
    assert sorted(rendered) == tags
    for tag, path, method in operations[:: max(1, len(operations) // 12)] + operations[-1:]:
        section = page.locator(".opblock-tag-section").filter(
            has=page.locator(f'h3[data-tag="{tag}"]')
        )
        expect(section.locator(f'.opblock-{method} [data-path="{path}"]')).to_have_count(1)
    expect(page.get_by_text("/api/v1/partner/customers").first).to_be_visible()
    # A deep link to the last tag scrolls there, and its operations open.
    last = operations[-1]
    page.goto(f"{server}/api/v1/docs#/{last[0].replace(' ', '_')}")
    expect(page.locator(".opblock")).to_have_count(len(operations), timeout=30_000)
    page.locator(f'.opblock-{last[2]} [data-path="{last[1]}"]').first.click()
    expect(page.locator(".opblock.is-open .opblock-body").first).to_be_visible()
    assert hosts == {urlsplit(server).netloc}


def test_the_error_pages_go_back_link_obeys_the_content_security_policy(
    server: str, page: Page
) -> None:
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(f"{server}/sign-in")
    response = page.goto(f"{server}/no-such-page")
    assert response is not None and response.status == 404
    page.get_by_role("link", name="Go back").click()
    expect(page).to_have_url(f"{server}/sign-in")
    assert violations == []
