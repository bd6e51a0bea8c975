"""Passkeys on the pages, without a browser (the software authenticator of
tests/identity/softauthn.py answers the options the pages carry): the account page adds one
with the name and the current password, the sign-in's second step offers "Use a passkey", and
a passkey is removed with the password from a session signed in with a factor. The real
browser's side (passkeys.js, navigator.credentials) is tests/web/test_passkey_browser.py."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tenantry.core.config import Settings
from tenantry.identity.passkeys import relying_party
from tenantry.identity.tokens import hash_token
from tenantry.models import ApiToken, Passkey, User
from tenantry.web import session as web_session
from tests.conftest import PASSWORD, Org
from tests.identity.softauthn import SoftAuthenticator


class Browser:
    """One browser's cookie jar on the app, with a passkey authenticator."""

    def __init__(self, client: TestClient, authenticator: SoftAuthenticator) -> None:
        self.client = client
        self.authenticator = authenticator

    def post(self, path: str, came_from: str, **data: str) -> Any:
        """A form posted from the page ``came_from`` (a refusal goes back there, as in a
        browser, which sends the page as Referer)."""
        return self.client.post(
            path, data=data, headers={"referer": f"{self.client.base_url}{came_from}"}
        )

    def csrf(self, text: str) -> str:
        found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', text)
        assert found is not None
        return found.group(1)

    def options(self, text: str, form_id: str) -> dict[str, Any]:
        found = re.search(rf'id="{form_id}" data-options="([^"]*)"', text)
        assert found is not None, text
        return dict(json.loads(html.unescape(found.group(1))))

    def password_step(self, upn: str) -> Any:
        page = self.client.get("/sign-in").text
        return self.client.post(
            "/sign-in",
            data={"csrf_token": self.csrf(page), "username": upn, "password": PASSWORD},
        )

    def sign_in_with_passkey(self, upn: str, **answer: Any) -> Any:
        step = self.password_step(upn)
        assert step.url.path == "/sign-in/verify", step.text
        assert "Use a passkey" in step.text
        credential = self.authenticator.get(self.options(step.text, "passkey-sign-in"), **answer)
        return self.post(
            "/sign-in/passkey",
            "/sign-in/verify",
            csrf_token=self.csrf(step.text),
            credential=json.dumps(credential),
        )

    def add_passkey(self, name: str, password: str = PASSWORD) -> Any:
        account = self.client.get("/me").text
        started = self.post(
            "/me/passkeys/new", "/me", csrf_token=self.csrf(account), name=name, password=password
        )
        if started.url.path != "/me/passkeys/new":
            return started  # refused: back on the account page with the reason
        assert "Create the passkey" in started.text
        credential = self.authenticator.create(self.options(started.text, "passkey-create"))
        return self.post(
            "/me/passkeys",
            "/me/passkeys/new",
            csrf_token=self.csrf(started.text),
            name=name,
            credential=json.dumps(credential),
        )

    def session_token(self, sessions: sessionmaker[Session]) -> ApiToken:
        token = self.client.cookies.get(web_session.SESSION_COOKIE)
        assert token
        with sessions() as session:
            row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
            assert row is not None
            session.expunge(row)
            return row


@pytest.fixture
def browser(app: Any, settings: Settings) -> Iterator[Browser]:
    with TestClient(app) as client:
        yield Browser(client, SoftAuthenticator(relying_party(settings).origin))


def test_adding_a_passkey_on_the_account_page_then_signing_in_with_it(
    browser: Browser, org: Org, sessions: sessionmaker[Session]
) -> None:
    browser.password_step(org.admin_upn)
    assert "Passkeys" in browser.client.get("/me").text
    wrong = browser.add_passkey("Laptop", password="not-the-password-1")
    assert wrong.url.path == "/me" and "The password is not right" in wrong.text
    added = browser.add_passkey("Laptop")
    assert added.url.path == "/me", added.text
    assert "Passkey &#39;Laptop&#39; added" in added.text
    assert "Laptop" in added.text and "last used never" in added.text
    # The session that added it stays signed in, password-only.
    assert not browser.session_token(sessions).mfa
    browser.client.post("/sign-out", data={"csrf_token": browser.csrf(added.text)})
    home = browser.sign_in_with_passkey(org.admin_upn)
    assert home.url.path.startswith("/admin/"), home.text
    row = browser.session_token(sessions)
    assert row.mfa and row.second_factor == "passkey"
    assert not browser.client.cookies.get(web_session.PENDING_COOKIE)


def test_the_second_step_offers_what_the_account_has(
    browser: Browser, org: Org, app: Any, settings: Settings
) -> None:
    browser.password_step(org.admin_upn)
    browser.add_passkey("Key")
    browser.client.cookies.clear()
    only_passkey = browser.password_step(org.admin_upn).text
    assert "Use a passkey" in only_passkey and 'name="code"' not in only_passkey
    assert "<script" not in only_passkey.split("<body")[1]  # no inline script
    assert '<script src="/static/passkeys.js" defer></script>' in only_passkey
    # A replayed or forged answer goes back to the step with the reason.
    step = browser.password_step(org.admin_upn)
    options = browser.options(step.text, "passkey-sign-in")
    forged = browser.authenticator.get(options, origin="https://evil.test")
    refused = browser.post(
        "/sign-in/passkey",
        "/sign-in/verify",
        csrf_token=browser.csrf(step.text),
        credential=json.dumps(forged),
    )
    assert refused.url.path == "/sign-in/verify"
    assert "The user name, password or verification code is incorrect" in refused.text
    assert not browser.client.cookies.get(web_session.SESSION_COOKIE)
    garbage = browser.post(
        "/sign-in/passkey", "/sign-in/verify", csrf_token=browser.csrf(step.text), credential="{"
    )
    assert "did not arrive" in garbage.text
    # Without the password step there is no pending sign-in to finish.
    with TestClient(app) as stranger:
        page = stranger.get("/sign-in").text
        lone = stranger.post(
            "/sign-in/passkey",
            data={
                "csrf_token": browser.csrf(page),
                "credential": json.dumps(browser.authenticator.get(options)),
            },
        )
        assert "sign in again" in lone.text
        assert not stranger.cookies.get(web_session.SESSION_COOKIE)


def test_removing_a_passkey_on_the_account_page(
    browser: Browser, org: Org, sessions: sessionmaker[Session]
) -> None:
    browser.password_step(org.admin_upn)
    browser.add_passkey("Old key")
    page = browser.client.get("/me").text
    # This session is password-only: the page offers no change, and a forged form is refused.
    assert "this session was signed in with the password alone" in page
    assert "/remove" not in page and "Add a passkey</button>" not in page
    with sessions() as session:
        passkey_id = session.scalars(
            select(Passkey.id)
            .join(User, User.id == Passkey.user_id)
            .where(User.user_principal_name == org.admin_upn)
        ).one()
    action = f"/me/passkeys/{passkey_id}/remove"
    refused = browser.post(action, "/me", csrf_token=browser.csrf(page), password=PASSWORD)
    assert "needs a session signed in with it" in refused.text
    browser.client.cookies.clear()
    browser.sign_in_with_passkey(org.admin_upn)
    page = browser.client.get("/me").text
    assert f'action="{action}"' in page
    assert "It is your only second factor" in page
    done = browser.post(action, "/me", csrf_token=browser.csrf(page), password=PASSWORD)
    assert "The passkey is removed. Two-step verification is off." in done.text
    assert "No passkey yet." in done.text
