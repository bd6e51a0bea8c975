"""Just-in-time elevation on the pages, without a browser: the access-assignment editor takes
eligible roles and their terms, each refusal shown with the service's reason."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tenantry.web import session as web_session
from tests.conftest import Api, Org, Partner, accepted
from tests.partners.test_activations import GA, READER, USERS, group

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


class Pages:
    """One person's browser on the pages: the session cookie holds the API token it signed in
    with (a web session is an ordinary token)."""

    def __init__(self, app: Any, api: Api) -> None:
        self.client = TestClient(app)
        self.client.cookies.set(web_session.SESSION_COOKIE, str(api.token))

    def get(self, path: str) -> str:
        response = self.client.get(path)
        assert response.status_code == 200, response.text
        return html.unescape(response.text)

    def post(self, path: str, back: str, **form: str) -> str:
        """Post a form from the page ``back`` (with its CSRF token): the page it lands on,
        with the message on top."""
        found = CSRF.search(self.client.get(back).text)
        assert found is not None
        response = self.client.post(
            path,
            data={"csrf_token": found.group(1), **form},
            headers={"Referer": f"http://testserver{back}"},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        return self.get(response.headers["location"])


@pytest.fixture
def people(app: Any) -> Iterator[list[Pages]]:
    opened: list[Pages] = []
    yield opened
    for pages in opened:
        pages.client.close()


def flash(page: str) -> str:
    found = re.search(r'<article class="flash (\w+)"[^>]*>\s*(.*?)\s*</article>', page, re.S)
    assert found is not None, page
    return f"{found.group(1)}: {found.group(2)}"


def open_as(app: Any, people: list[Pages], api: Api) -> Pages:
    pages = Pages(app, api)
    people.append(pages)
    return pages


def test_the_assignment_editor_takes_eligible_roles_and_their_terms(
    app: Any, people: list[Pages], partner: Partner, org: Org
) -> None:
    relationship = accepted(partner, org, {"roles": [READER, USERS, GA]})
    rid = relationship["id"]
    on_call, approvers = group(partner, [], "On call"), group(partner, [], "Approvers")
    admin = open_as(app, people, partner.admin)
    path = f"/partner/relationships/{rid}"
    page = admin.get(path)
    assert "Eligible roles (activated just in time, never also standing)" in page
    assert '<option value="">No approver group</option>' in page

    # Approval without an approver group, a limit out of range, a role both ways: refused
    # with the service's (or the API model's) reason, nothing assigned.
    base = {"group_id": on_call, f"role:{READER}": "on", f"eligible:{USERS}": "on"}
    refused = admin.post(
        f"{path}/assignments", path, **base, max_activation_minutes="60", approval_required="on"
    )
    assert flash(refused) == (
        "error: Name the approver group (approver_group_id) when approval is required."
    )
    refused = admin.post(f"{path}/assignments", path, **base, max_activation_minutes="600")
    assert flash(refused).startswith("error: Max activation minutes: input should be less")
    refused = admin.post(
        f"{path}/assignments",
        path,
        **base,
        **{f"role:{USERS}": "on"},
        max_activation_minutes="60",
    )
    assert "A role is standing or eligible, not both" in flash(refused)
    listed = partner.admin.get(f"/partner/relationships/{rid}/access-assignments").json()
    assert on_call not in [a["group_id"] for a in listed["items"]]

    done = admin.post(
        f"{path}/assignments",
        path,
        **base,
        **{f"eligible:{GA}": "on"},
        max_activation_minutes="120",
        approval_required="on",
        approver_group_id=approvers,
    )
    assert flash(done) == "success: Access assigned."
    made = next(
        a
        for a in partner.admin.get(f"/partner/relationships/{rid}/access-assignments").json()[
            "items"
        ]
        if a["group_id"] == on_call
    )
    assert (made["roles"], made["eligible_roles"]) == ([READER], [GA, USERS])
    assert (made["max_activation_minutes"], made["approval_required"]) == (120, True)
    assert made["approver_group_id"] == approvers
    assert "Up to 120 minutes · approved by a member of 'Approvers'" in done
