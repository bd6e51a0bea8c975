"""Web forms take exactly what the API takes: a NUL byte, a control character or an over-long
value is refused on the page with the reason in words, nothing is written, and the API refuses
the same input with 422 (one rule, api/schemas/common.py). No browser: the TestClient signs in
through the sign-in form and posts forms with the page's CSRF token."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, Org

BAD_TEXT = {
    "NUL": (lambda limit: "a\x00b", lambda limit: "text must not contain NUL characters"),
    "control character": (
        lambda limit: "bell\x07",
        lambda limit: "text must not contain control characters (U+0007)",
    ),
    "over-long": (
        lambda limit: "x" * (limit + 1),
        lambda limit: f"string should have at most {limit} characters",
    ),
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A signed-in web session over the TestClient: its own cookie jar."""

    def __init__(self, app: Any, org: Org) -> None:
        self.client = TestClient(app, follow_redirects=False)
        self.post("/sign-in", {"username": org.admin_upn, "password": PASSWORD}, page="/sign-in")

    def post(self, path: str, form: dict[str, str], *, page: str) -> Any:
        """Posts ``form`` from ``page`` (the Referer a refusal goes back to)."""
        token = CSRF.search(self.client.get(page).text)
        assert token, f"no CSRF token on {page}"
        return self.client.post(
            path, data={**form, "csrf_token": token.group(1)}, headers={"Referer": page}
        )

    def refused(self, path: str, form: dict[str, str], *, page: str) -> str:
        """The page a refused form goes back to, with the reason on top (as for a refused
        service call)."""
        response = self.post(path, form, page=page)
        assert response.status_code == 303, response.text
        assert response.headers["location"] == page
        shown = self.client.get(page)
        assert shown.status_code == 200
        return str(shown.text)


@pytest.fixture
def browser(app: Any, org: Org) -> Browser:
    return Browser(app, org)


def _form_cases(org: Org) -> list[tuple[str, str, Callable[[str], dict[str, str]], str, int, Any]]:
    """(form address, page it is posted from, the form holding a value, the field's label, its
    length limit, the API twin: a call sending the same value, expecting 422)."""
    base, api = f"/admin/{org.tenant_id}", org.admin
    contact = {"street": "", "city": "", "postal_code": "", "country": "", "phone": ""}
    user = f"new@{org.domain}"
    return [
        (
            f"{base}/users",
            f"{base}/users/new",
            lambda bad: {"user_principal_name": user, "display_name": bad},
            "Display name",
            256,
            lambda bad: api.post(
                f"{org.base}/users", {"user_principal_name": user, "display_name": bad}, 422
            ),
        ),
        (
            f"{base}/groups",
            f"{base}/groups",
            lambda bad: {"name": bad, "kind": "security", "description": ""},
            "Name",
            256,
            lambda bad: api.post(f"{org.base}/groups", {"name": bad}, expect=422),
        ),
        (
            f"{base}/service-requests",
            f"{base}/service-requests",
            lambda bad: {"title": bad, "description": "It broke.", "severity": "low"},
            "Title",
            200,
            lambda bad: api.post(
                f"{org.base}/service-requests", {"title": bad, "description": "x"}, 422
            ),
        ),
        (
            f"{base}/service-requests",
            f"{base}/service-requests",
            lambda bad: {"title": "It broke", "description": bad, "severity": "low"},
            "Description",
            20_000,
            lambda bad: api.post(
                f"{org.base}/service-requests", {"title": "x", "description": bad}, 422
            ),
        ),
        (
            f"{base}/settings/contact",
            f"{base}/settings",
            lambda bad: {"name": bad, **contact},
            "Name",
            256,
            lambda bad: api.patch(org.base, {"name": bad}, expect=422),
        ),
    ]


def _written(org: Org) -> tuple[Any, ...]:
    """What the forms could have written, read through the API."""
    api = org.admin
    return (
        api.get(f"{org.base}/users").json()["items"],
        api.get(f"{org.base}/groups").json()["items"],
        api.get(f"{org.base}/service-requests").json()["items"],
        api.get(org.base).json()["name"],
    )


@pytest.mark.parametrize("kind", BAD_TEXT)
def test_forms_refuse_what_the_api_refuses(browser: Browser, org: Org, kind: str) -> None:
    value_for, reason_for = BAD_TEXT[kind]
    before = _written(org)
    for path, page, form, label, limit, api_twin in _form_cases(org):
        bad = value_for(limit)
        shown = browser.refused(path, form(bad), page=page)
        assert f"{label}: {reason_for(limit)}" in shown, (path, label, kind)
        api_twin(bad)
    assert _written(org) == before


def test_a_multi_line_field_keeps_line_breaks_and_refuses_other_control_characters(
    browser: Browser, org: Org
) -> None:
    page = f"/admin/{org.tenant_id}/service-requests"
    shown = browser.refused(page, {"title": "Broken", "description": "one\x1btwo"}, page=page)
    assert "Description: text must not contain control characters (U+001B)" in shown
    written = browser.post(page, {"title": "Broken", "description": "one\n\ttwo"}, page=page)
    assert written.status_code == 303
    items = org.admin.get(f"{org.base}/service-requests").json()["items"]
    assert [item["description"] for item in items] == ["one\n\ttwo"]
    # A single-line field refuses a line break, on the page and on the API alike.
    shown = browser.refused(page, {"title": "one\ntwo", "description": "x"}, page=page)
    assert "Title: text must be on one line" in shown
    body = {"title": "one\ntwo", "description": "x"}
    org.admin.post(f"{org.base}/service-requests", body, expect=422)
