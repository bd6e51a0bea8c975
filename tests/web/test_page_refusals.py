"""Every web page that is not public, without a browser: not signed in, it sends you to the
sign-in page (and back afterwards); an Admin center page of an organisation you have no path
to is "not found" (a page for GET, the reason on top of the page you came from for a form);
a Partner center page is refused to an organisation that is not a partner. The pages come
from the refusal matrix (tests/refusal_matrix.py), which lists every route of the app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tenantry.web import session as web_session
from tests.conftest import Org, make_org
from tests.refusal_matrix import PartnerCenter, SignedIn, TenantScoped, concrete, ids, routes_of

NOT_SIGNED_IN = (
    routes_of(SignedIn, api=False)
    + routes_of(TenantScoped, api=False)
    + routes_of(PartnerCenter, api=False)
)
ADMIN_PAGES = routes_of(TenantScoped, api=False)
PARTNER_PAGES = routes_of(PartnerCenter, api=False)
NOT_FOUND = "Organisation not found."
NOT_A_PARTNER = "Your organisation is not enrolled in the partner program."


class Browser:
    """A TestClient with its own cookies, signed in as ``org``'s administrator: a web session
    is an ordinary token in the session cookie (web/session.py)."""

    def __init__(self, app: Any, org: Org) -> None:
        self.client = TestClient(app)
        self.client.cookies.set(web_session.SESSION_COOKIE, str(org.admin.token))
        form = self.client.get("/me")
        assert form.status_code == 200, form.text
        found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', form.text)
        assert found is not None
        self.csrf = found.group(1)

    def open(self, method: str, address: str, form: dict[str, Any] | None) -> Any:
        """The page, or the form posted with a valid CSRF token."""
        data = {"csrf_token": self.csrf, **(form or {})} if method == "POST" else None
        return self.client.request(method, address, data=data, follow_redirects=False)

    def flashed_after(self, redirect: Any) -> str:
        """The page the refused form sends the browser back to, with the reason on top."""
        assert redirect.status_code == 303, redirect.text
        return str(self.client.get(redirect.headers["location"]).text)


@pytest.fixture(scope="module")
def browser(app: Any, client: TestClient) -> Iterator[tuple[Browser, Org]]:
    """A signed-in browser of an organisation that is not a partner, and a stranger
    organisation it has no path to."""
    org, stranger = make_org(client), make_org(client)
    signed_in = Browser(app, org)
    yield signed_in, stranger
    signed_in.client.close()


@pytest.mark.parametrize(("method", "path", "expected"), NOT_SIGNED_IN, ids=ids(NOT_SIGNED_IN))
def test_not_signed_in_goes_to_the_sign_in_page(
    app: Any, method: str, path: str, expected: object
) -> None:
    address = concrete(path)
    response = TestClient(app).request(method, address, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/sign-in?next={quote(address, safe='')}"


@pytest.mark.parametrize(("method", "path", "expected"), ADMIN_PAGES, ids=ids(ADMIN_PAGES))
def test_an_unrelated_organisation_is_not_found(
    browser: tuple[Browser, Org], method: str, path: str, expected: TenantScoped
) -> None:
    signed_in, stranger = browser
    response = signed_in.open(method, concrete(path, stranger.tenant_id), expected.body)
    if method == "GET":
        assert response.status_code == 404, response.text
        assert NOT_FOUND in response.text
    else:
        assert NOT_FOUND in signed_in.flashed_after(response)


@pytest.mark.parametrize(("method", "path", "expected"), PARTNER_PAGES, ids=ids(PARTNER_PAGES))
def test_the_partner_center_refuses_an_organisation_that_is_not_a_partner(
    browser: tuple[Browser, Org], method: str, path: str, expected: PartnerCenter
) -> None:
    signed_in, _ = browser
    response = signed_in.open(method, concrete(path), expected.body)
    if method == "GET":
        assert response.status_code == 403, response.text
        assert NOT_A_PARTNER in response.text
    else:
        assert NOT_A_PARTNER in signed_in.flashed_after(response)
