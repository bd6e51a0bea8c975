"""Issue 9, finding 4, written as the attack: in development (no TENANTRY_SECRET_KEY) the web
cookies were signed with the empty setting, so anyone could forge the "password accepted"
cookie of the second sign-in step and, with a TOTP code, have a session without the password.
They are signed with the effective key now (the per-installation key in development)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer

from tenantry.app import create_app
from tenantry.web import session as web_session
from tests.conftest import PASSWORD, FakeClock, Org, enrol_mfa, make_org, settings_for


@pytest.fixture
def dev_app(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Any]:
    """The app as `make run` serves it: development, no secret key configured."""
    settings = settings_for(database_url, tmp_path, secret_key="")
    assert settings.environment == "development"
    app = create_app(settings, clock=clock)
    yield app
    app.state.engine.dispose()


def _form_token(browser: TestClient, path: str) -> str:
    page = browser.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text)
    assert found is not None
    return found.group(1)


def _enrolled(client: TestClient, clock: FakeClock) -> tuple[Org, pyotp.TOTP, str]:
    org = make_org(client)
    secret = enrol_mfa(org.admin, clock)
    return org, pyotp.TOTP(secret), str(org.admin.get("/me").json()["id"])


def test_a_forged_pending_step_cookie_gives_no_session(
    client: TestClient, dev_app: Any, clock: FakeClock
) -> None:
    org, totp, admin_id = _enrolled(client, clock)
    clock.advance(seconds=60)  # a code the enrolment's sign-in has not spent
    with TestClient(dev_app) as browser:
        csrf = _form_token(browser, "/sign-in")  # a genuine nonce and form token
        # Signed with the empty setting, as the old code signed it: no password was given.
        forged = URLSafeTimedSerializer("", salt="tenantry.web.pending").dumps(
            {"user": admin_id, "next": "/"}
        )
        browser.cookies.set(web_session.PENDING_COOKIE, forged)
        answer = browser.post(
            "/sign-in/verify",
            data={"csrf_token": csrf, "code": totp.at(clock())},
            follow_redirects=False,
        )
        assert answer.status_code == 303  # back to the form, with the reason
        assert not browser.cookies.get(web_session.SESSION_COOKIE)
        assert browser.get("/me", follow_redirects=False).headers["location"].startswith("/sign-in")
        browser.cookies.delete(web_session.PENDING_COOKIE)

        # The real flow, password then code, still works with the effective key.
        signed_in = browser.post(
            "/sign-in",
            data={"csrf_token": csrf, "username": org.admin_upn, "password": PASSWORD},
            follow_redirects=False,
        )
        assert signed_in.headers["location"] == "/sign-in/verify"
        verified = browser.post(
            "/sign-in/verify",
            data={"csrf_token": csrf, "code": totp.at(clock())},
            follow_redirects=False,
        )
        assert verified.status_code == 303, verified.text
        assert browser.cookies.get(web_session.SESSION_COOKIE)
        assert browser.get("/me").status_code == 200


def test_web_cookies_use_the_installation_key_in_development(dev_app: Any) -> None:
    """CSRF tokens and flash messages too: computed with the empty key they are refused."""
    settings = dev_app.state.settings
    assert settings.secret_key == "" and len(settings.effective_secret_key) >= 32
    with TestClient(dev_app) as browser:
        genuine = _form_token(browser, "/sign-in")
        nonce = browser.cookies.get(web_session.NONCE_COOKIE)
        assert nonce
        forged = hmac.new(b"", b"csrf|" + nonce.encode(), hashlib.sha256).hexdigest()
        assert forged != genuine
        refused = browser.post(
            "/sign-in",
            data={"csrf_token": forged, "username": "x@y.test", "password": "x"},
        )
        assert "did not come from this site" in refused.text
        flash = URLSafeTimedSerializer("", salt="tenantry.web.flash").dumps(
            {"kind": "success", "text": "Forged message"}
        )
        browser.cookies.set(web_session.FLASH_COOKIE, flash)
        assert "Forged message" not in browser.get("/sign-in").text
