"""The account page asks for the password before enrolling, and ends the password-only session
once the factor is on; the user page's "Reset second factor" button shows only to those the
reset allows (never on behalf), and posts with its CSRF token. No browser needed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient

from tenantry.web import session as web_session
from tests.conftest import PASSWORD, FakeClock, Org, Partner, accepted, enrol_mfa, sign_in

BUTTON = "Reset second factor"


class Browser:
    """One browser's cookie jar on the app, signing in through the pages."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def csrf(self, path: str) -> str:
        page = self.client.get(path)
        assert page.status_code == 200, page.text
        found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text)
        assert found is not None
        return found.group(1)

    def sign_in(self, upn: str, code: str | None = None) -> None:
        csrf = self.csrf("/sign-in")
        self.client.post(
            "/sign-in", data={"csrf_token": csrf, "username": upn, "password": PASSWORD}
        )
        if code:
            self.client.post("/sign-in/verify", data={"csrf_token": csrf, "code": code})
        assert self.client.cookies.get(web_session.SESSION_COOKIE)

    def post(self, path: str, form_page: str, **data: str) -> Any:
        return self.client.post(path, data={"csrf_token": self.csrf(form_page), **data})


@pytest.fixture
def browser(app: Any) -> Iterator[Browser]:
    with TestClient(app) as client:
        yield Browser(client)


def test_enrolling_on_the_account_page_needs_the_password_and_signs_in_again(
    browser: Browser, org: Org, clock: FakeClock
) -> None:
    browser.sign_in(org.admin_upn)
    page = browser.client.get("/me").text
    assert 'name="password" type="password"' in page
    wrong = browser.post("/me/mfa", "/me", password="not-the-password-1")
    assert "The password is not right" in wrong.text
    started = browser.post("/me/mfa", "/me", password=PASSWORD)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', started.text)
    assert secret is not None
    totp = pyotp.TOTP(secret.group(1))
    done = browser.post("/me/mfa/confirm", "/me", code=totp.at(clock()))
    # The password-only session ended; the sign-in page says why.
    assert done.url.path == "/sign-in"
    assert "Sign in again with a code" in done.text
    assert not browser.client.cookies.get(web_session.SESSION_COOKIE)
    browser.sign_in(org.admin_upn, totp.at(clock(), counter_offset=1))
    assert browser.client.get("/me").url.path == "/me"


def test_the_reset_button_shows_only_where_the_reset_is_allowed(
    browser: Browser, partner: Partner, org: Org, clock: FakeClock
) -> None:
    plain = org.create_user()
    enrol_mfa(sign_in(org.client, org.users[plain]), clock)
    user_page = f"/admin/{org.tenant_id}/users/{plain}"
    accepted(partner, org)
    agent_id = partner.org.create_user()
    partner.admin.request("PUT", f"/partner/agents/{agent_id}", 200, json={"access": "full"})
    agent_upn = partner.org.users[agent_id]
    secret = enrol_mfa(sign_in(org.client, agent_upn), clock)
    clock.advance(seconds=60)
    browser.sign_in(agent_upn, pyotp.TOTP(secret).at(clock()))
    on_behalf = browser.client.get(user_page)
    assert on_behalf.status_code == 200 and BUTTON not in on_behalf.text

    browser.client.cookies.clear()
    browser.sign_in(org.admin_upn)
    assert BUTTON in browser.client.get(user_page).text
    without_factor = org.create_user()
    assert BUTTON not in browser.client.get(f"/admin/{org.tenant_id}/users/{without_factor}").text
    done = browser.post(f"{user_page}/reset-mfa", user_page)
    assert done.url.path == user_page
    assert "second factor of" in done.text and BUTTON not in done.text
    assert org.admin.get(f"{org.base}/users/{plain}").json()["mfa_enabled"] is False

    # A User Administrator sees it for a non-admin, not for the Global Administrator.
    enrol_mfa(org.admin, clock)
    helper = org.create_user(roles=())
    org.admin.post(
        f"{org.base}/role-assignments",
        {"role": "user_administrator", "user_id": helper},
        expect=201,
    )
    browser.client.cookies.clear()
    browser.sign_in(org.users[helper])
    assert BUTTON not in browser.client.get(f"/admin/{org.tenant_id}/users/{org.admin_id}").text
