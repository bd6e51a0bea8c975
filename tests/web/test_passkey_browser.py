"""Passkeys in Chromium, with a virtual authenticator (the DevTools protocol's WebAuthn domain):
add a passkey on the account page (name and current password, then navigator.credentials.create
through passkeys.js), sign out, sign in with the password and the passkey
(navigator.credentials.get). WebAuthn wants a secure context and a host name matching the RP
id: the server runs at http://localhost:port with that as TENANTRY_PUBLIC_URL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tenantry.operations.demo import DEMO_PASSWORD
from tenantry.web.session import SESSION_COOKIE
from tests.dns_server import LoopbackDns
from tests.web.browsing import SUFFIX, sign_in
from tests.web.conftest import demo_server
from tests.web.test_quality import check_page

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def localhost(
    backend: str, dns: LoopbackDns, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with demo_server(backend, dns, tmp_path_factory.mktemp("web-passkeys"), "localhost") as base:
        yield base


@pytest.fixture
def authenticator(page: Page) -> Iterator[tuple[Any, str]]:
    """A platform authenticator with user verification, as a laptop's."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    yield cdp, added["authenticatorId"]
    cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": added["authenticatorId"]})
    cdp.send("WebAuthn.disable")


def _me(base: str, page: Page) -> dict[str, Any]:
    """GET /api/v1/me with the browser's session token (the cookie is an ordinary token)."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    response = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    return dict(response.json())


def test_add_a_passkey_then_sign_in_with_it(
    localhost: str, page: Page, authenticator: tuple[Any, str], shots: Any
) -> None:
    cdp, authenticator_id = authenticator
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    sign_in(page, localhost, "admin@contoso")
    page.goto(f"{localhost}/me")
    expect(page.get_by_text("No passkey yet.")).to_be_visible()
    page.get_by_label("Name of the new passkey").fill("This laptop")
    page.get_by_label("Your password (to add a passkey)").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Add a passkey").click()
    create = page.get_by_role("button", name="Create the passkey")
    expect(create).to_be_visible()
    shots(page, "passkey-add")
    create.click()
    expect(page.get_by_role("status")).to_contain_text("Passkey 'This laptop' added")
    expect(page.locator("ul.passkeys")).to_contain_text("This laptop")
    held = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert len(held["credentials"]) == 1
    assert held["credentials"][0]["rpId"] == "localhost"
    # Registering did not make this session multi-factor.
    me = _me(localhost, page)
    assert me["mfa_enabled"] is True and me["second_factor"] == "none"
    shots(page, "passkey-account")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.get_by_label("User name").fill(f"admin@contoso.{SUFFIX}")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Use your passkey")
    expect(page.get_by_label("Verification code")).to_have_count(0)  # no app on this account
    shots(page, "passkey-sign-in")
    page.get_by_role("button", name="Use a passkey").click()
    expect(page).to_have_url(re.compile(r"/admin/"))
    assert _me(localhost, page)["second_factor"] == "passkey"
    held = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert held["credentials"][0]["signCount"] >= 1
    page.goto(f"{localhost}/me")
    expect(page.locator("ul.passkeys")).not_to_contain_text("last used never")
    assert violations == []


def _sign_in_with_passkey(page: Page, base: str, who: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/sign-in")
    page.get_by_label("User name").fill(f"{who}.{SUFFIX}")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Use a passkey").click()


def test_what_the_browser_says_when_a_passkey_cannot_be_used(
    localhost: str, page: Page, authenticator: tuple[Any, str]
) -> None:
    """A password-only session is offered no second passkey; a multi-factor one is, but not
    twice on one authenticator (the options exclude it); with the passkey gone from the device
    the sign-in step says no passkey was used and can be tried again. The account page with a
    passkey reads at 375 px."""
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )

    def add(name: str) -> None:
        page.goto(f"{localhost}/me")
        page.get_by_label("Name of the new passkey").fill(name)
        page.get_by_label("Your password (to add a passkey)").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Add a passkey").click()

    sign_in(page, localhost, "admin@fabrikam")
    add("Key A")
    page.get_by_role("button", name="Create the passkey").click()
    expect(page.get_by_role("status")).to_contain_text("Passkey 'Key A' added")
    # This session was signed in with the password alone: it is offered no change.
    expect(page.locator("#passkeys-need-factor")).to_be_visible()
    expect(page.get_by_role("button", name="Add a passkey")).to_have_count(0)

    _sign_in_with_passkey(page, localhost, "admin@fabrikam")
    expect(page).to_have_url(re.compile(r"/partner"))
    add("Key A again")
    page.get_by_role("button", name="Create the passkey").click()
    expect(page.locator("#passkey-create-status")).to_contain_text(
        "holds a passkey of this account already"
    )
    expect(page.get_by_role("button", name="Create the passkey")).to_be_enabled()

    page.set_viewport_size({"width": 375, "height": 812})
    check_page(page, f"{localhost}/me", violations)
    page.set_viewport_size({"width": 1280, "height": 900})

    cdp, authenticator_id = authenticator
    cdp.send("WebAuthn.clearCredentials", {"authenticatorId": authenticator_id})
    _sign_in_with_passkey(page, localhost, "admin@fabrikam")
    expect(page.locator("#passkey-sign-in-status")).to_contain_text(
        "No passkey was used", timeout=20_000
    )
    expect(page.get_by_role("button", name="Use a passkey")).to_be_enabled()
    expect(page).to_have_url(re.compile(r"/sign-in/verify"))
    assert violations == []
