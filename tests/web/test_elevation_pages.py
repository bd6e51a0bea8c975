"""Just-in-time elevation on the pages, without a browser: the access-assignment editor takes
eligible roles and their terms, an agent activates, ends and withdraws on My access, an
approver decides in Approvals (never its own request), and the customer approves, denies and
ends on its Partner relationships page and asks for its own approval of Global Administrator
on its Settings page — each refusal shown with the service's reason."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tenantry.access.roles import Role
from tenantry.web import session as web_session
from tests.conftest import Api, FakeClock, Org, Partner, accepted, enrol_mfa
from tests.partners.test_activations import GA, READER, USERS, Member, activate, assign, group

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


def test_an_agent_activates_sees_the_time_left_and_ends_it(
    app: Any, people: list[Pages], partner: Partner, org: Org, clock: FakeClock
) -> None:
    relationship = accepted(partner, org, {"roles": [READER, USERS, GA]})
    requester = Member(partner)
    assign(
        partner,
        relationship,
        group(partner, [requester], "On call"),
        roles=[READER],
        eligible_roles=[USERS],
        max_activation_minutes=120,
    )
    agent = open_as(app, people, requester.api)
    page = agent.get("/partner/access")
    customer = org.admin.get(org.base).json()["name"]
    assert re.search(
        rf"<td>{re.escape(customer)}</td><td>User Administrator<br>"
        r"<small class=\"muted\">through On call</small></td>\s*<td>120 minutes</td>\s*"
        r"<td>not needed</td>",
        page,
    ), page
    assert "Nothing is active" in page and "No request is waiting" in page
    assert "needs a sign-in with a second factor" not in page

    # Longer than the assignment allows: the service's reason.
    choice = f"{relationship['id']}:{USERS}"
    refused = agent.post(
        "/partner/access/activate",
        "/partner/access",
        eligible=choice,
        minutes="150",
        justification="New starters",
    )
    assert flash(refused) == (
        "error: User Administrator can be activated here for at most 120 minutes."
    )
    page = agent.post(
        "/partner/access/activate",
        "/partner/access",
        eligible=choice,
        minutes="90",
        justification="New starters",
        ticket="INC-7",
    )
    assert flash(page) == "success: User Administrator is active for 90 minutes."
    active = re.search(r'<table class="active-elevations">.*?</table>', page, re.S)
    assert active is not None
    timer = re.search(r'data-seconds-left="(\d+)">([^<]+)<', active.group(0))
    assert timer is not None
    assert 5390 <= int(timer.group(1)) <= 5400
    assert re.fullmatch(r"1 h (29|30) min \d\d s left", timer.group(2))
    assert "New starters<br><small>Ticket INC-7</small>" in active.group(0)
    assert '<script src="/static/countdown.js" defer></script>' in page
    listed = requester.api.get("/partner/activations").json()["items"]
    assert [(a["role"], a["status"], a["ticket"]) for a in listed] == [(USERS, "active", "INC-7")]

    # Twenty minutes later the page says what is left, without a script.
    clock.advance(minutes=20)
    timer = re.search(r'data-seconds-left="(\d+)">([^<]+)<', agent.get("/partner/access"))
    assert timer is not None and re.fullmatch(r"1 h (09|10) min \d\d s left", timer.group(2))

    ended = agent.post(f"/partner/access/{listed[0]['id']}/end", "/partner/access")
    assert flash(ended) == "success: Your User Administrator elevation has ended."
    assert "Nothing is active" in ended
    earlier = re.search(r'<table class="earlier-activations">.*?</table>', ended, re.S)
    assert earlier is not None and '<span class="status ended">ended</span>' in earlier.group(0)
    again = agent.post(f"/partner/access/{listed[0]['id']}/end", "/partner/access")
    assert flash(again) == "error: This activation is already over (it is ended)."


def test_activating_needs_a_recent_second_factor_and_the_page_says_so(
    app: Any, people: list[Pages], partner: Partner, org: Org, clock: FakeClock
) -> None:
    relationship = accepted(partner, org, {"roles": [READER, USERS]})
    requester = Member(partner)
    assign(
        partner,
        relationship,
        group(partner, [requester]),
        eligible_roles=[USERS],
    )
    clock.advance(minutes=16)
    agent = open_as(app, people, requester.api)
    page = agent.get("/partner/access")
    reason = "Activating a role needs a sign-in with a second factor in the last 15 minutes."
    assert f'<article class="note" role="note">\n  <p>{reason}' in page
    assert '<input type="hidden" name="next" value="/partner/access">' in page
    refused = agent.post(
        "/partner/access/activate",
        "/partner/access",
        eligible=f"{relationship['id']}:{USERS}",
        minutes="60",
        justification="Password resets",
    )
    assert flash(refused).startswith(f"error: {reason}")
    assert requester.api.get("/partner/activations").json()["items"] == []

    # "Sign in again" signs out and comes back to this page after the sign-in.
    found = CSRF.search(agent.client.get("/partner/access").text)
    assert found is not None
    out = agent.client.post(
        "/sign-out",
        data={"csrf_token": found.group(1), "next": "/partner/access"},
        follow_redirects=False,
    )
    assert out.headers["location"] == "/sign-in?next=/partner/access"


def test_an_approver_decides_in_the_queue_never_its_own_request(
    app: Any, people: list[Pages], partner: Partner, org: Org
) -> None:
    relationship = accepted(partner, org, {"roles": [READER, USERS, GA]})
    requester, approver = Member(partner), Member(partner)
    approvers = group(partner, [requester, approver], "Approvers")
    assign(
        partner,
        relationship,
        group(partner, [requester], "On call"),
        eligible_roles=[USERS, GA],
        approval_required=True,
        approver_group_id=approvers,
    )
    customer = org.admin.get(org.base).json()["name"]
    mine = open_as(app, people, requester.api)
    page = mine.get("/partner/access")
    assert "by a partner approver" in page
    waiting = mine.post(
        "/partner/access/activate",
        "/partner/access",
        eligible=f"{relationship['id']}:{USERS}",
        minutes="60",
        justification="Locked-out users",
        ticket="INC-9",
    )
    assert flash(waiting) == "success: Your request for User Administrator waits for approval."
    pending = re.search(r'<table class="pending-requests">.*?</table>', waiting, re.S)
    assert pending is not None and "a partner approver" in pending.group(0)
    aid = requester.api.get("/partner/activations").json()["items"][0]["id"]

    # The requester is in the approver group, yet its queue does not offer its own request,
    # and a forged approval is refused with the reason.
    queue = mine.get("/partner/approvals")
    assert "Nothing waits for you" in queue and aid not in queue
    forged = mine.post(f"/partner/approvals/{aid}/approve", "/partner/approvals")
    assert flash(forged) == (
        "error: Denied: you can't approve or deny your own request; another member of the "
        "approver group decides it."
    )

    theirs = open_as(app, people, approver.fresh())
    queue = theirs.get("/partner/approvals")
    row = re.search(rf'<tr id="activation-{aid}">.*?</tr>', queue, re.S)
    assert row is not None
    for shown in (requester.upn, customer, "User Administrator", "<td>60</td>", "INC-9"):
        assert shown in row.group(0)
    assert f'action="/partner/approvals/{aid}/deny" class="inline" data-confirm=' in row.group(0)
    approved = theirs.post(f"/partner/approvals/{aid}/approve", "/partner/approvals")
    assert flash(approved) == (
        f"success: Approved: {requester.upn} holds User Administrator in {customer} for 60 minutes."
    )
    assert "Nothing waits for you" in approved
    again = theirs.post(f"/partner/approvals/{aid}/approve", "/partner/approvals")
    assert flash(again) == ("error: This request is no longer waiting for approval (it is active).")
    page = mine.get("/partner/access")
    active = re.search(r'<table class="active-elevations">.*?</table>', page, re.S)
    assert active is not None and "User Administrator" in active.group(0)

    # Withdrawn by the requester; asked again and denied, with a confirmation on the page;
    # the requester sees both among the earlier ones.
    def ask_for_global_admin() -> str:
        mine.post(
            "/partner/access/activate",
            "/partner/access",
            eligible=f"{relationship['id']}:{GA}",
            minutes="30",
            justification="Tenant-wide setting",
        )
        return str(requester.api.get("/partner/activations").json()["items"][0]["id"])

    withdrawn = mine.post(f"/partner/access/{ask_for_global_admin()}/end", "/partner/access")
    assert flash(withdrawn) == "success: Your Global Administrator request is withdrawn."
    ga = ask_for_global_admin()
    denied = theirs.post(f"/partner/approvals/{ga}/deny", "/partner/approvals")
    assert flash(denied) == f"success: Denied: {requester.upn} does not get Global Administrator."
    earlier = re.search(
        r'<table class="earlier-activations">.*?</table>', mine.get("/partner/access"), re.S
    )
    assert earlier is not None
    assert '<span class="status denied">denied</span>' in earlier.group(0)
    assert '<span class="status ended">ended</span>' in earlier.group(0)


def test_the_customer_sees_approves_denies_and_ends_activations(
    app: Any, people: list[Pages], partner: Partner, org: Org, clock: FakeClock
) -> None:
    relationship = accepted(partner, org, {"roles": [READER, USERS, GA]})
    requester = Member(partner)
    assign(
        partner,
        relationship,
        group(partner, [requester], "On call"),
        eligible_roles=[USERS, GA],
        max_activation_minutes=240,
    )
    customer = open_as(app, people, org.admin)
    partners_page = f"/admin/{org.tenant_id}/partners"
    page = customer.get(partners_page)
    assert "No partner has activated a role here." in page

    # The switch on the Settings page: Global Administrator waits for the customer.
    settings = f"/admin/{org.tenant_id}/settings"
    assert "Require our approval before a partner activates Global Administrator" in (
        customer.get(settings)
    )
    saved = customer.post(
        f"{settings}/partner-policy", settings, require_customer_approval_for_global_admin="on"
    )
    assert flash(saved) == "success: Partner policy saved."
    assert re.search(r'name="require_customer_approval_for_global_admin" checked', saved)
    policy = org.admin.get(f"{org.base}/partner-policy").json()
    assert policy["require_customer_approval_for_global_admin"] is True

    used = activate(requester.api, relationship, USERS, minutes=45, justification="Resets")
    waits = activate(requester.api, relationship, GA, minutes=30, justification="Settings")
    assert (used["status"], waits["status"]) == ("active", "pending_approval")
    page = customer.get(partners_page)
    rows = {
        aid: re.search(rf'<tr id="activation-{aid}">.*?</tr>', page, re.S)
        for aid in (used["id"], waits["id"])
    }
    assert all(rows.values())
    running = rows[used["id"]].group(0)  # type: ignore[union-attr]
    for shown in (requester.upn, "User Administrator", "Resets", 'data-seconds-left="', "End now"):
        assert shown in running
    asking = rows[waits["id"]].group(0)  # type: ignore[union-attr]
    assert "waiting for " in asking and "'s Global Administrators" in asking
    assert ">Approve</button>" in asking and ">Deny</button>" in asking

    # A Global Reader of the customer sees them, with no button; a forged end is refused.
    reader = open_as(app, people, org.user_api(roles=(Role.GLOBAL_READER,)))
    read = reader.get(partners_page)
    assert used["id"] in read and "End now" not in read and ">Approve<" not in read
    forged = reader.post(
        f"/admin/{org.tenant_id}/partner-activations/{used['id']}/end", partners_page
    )
    assert "Denied: partner_relationships.manage" in flash(forged)

    # Approving needs a recent second factor, as on the API; the refusal says so.
    approve = f"/admin/{org.tenant_id}/partner-activations/{waits['id']}/approve"
    refused = customer.post(approve, partners_page)
    assert flash(refused).startswith(
        "error: Approving a partner's activation needs a sign-in with a second factor in the "
        "last 15 minutes."
    )
    enrol_mfa(org.admin, clock)
    customer = open_as(app, people, org.admin)
    approved = customer.post(approve, partners_page)
    assert flash(approved) == (
        f"success: {requester.upn}'s Global Administrator: approved, active for 30 minutes."
    )
    ended = customer.post(
        f"/admin/{org.tenant_id}/partner-activations/{used['id']}/end", partners_page
    )
    assert flash(ended) == f"success: {requester.upn}'s User Administrator: ended now."
    statuses = {
        a["id"]: (a["status"], a["ended_by"], a["customer_approved_by"])
        for a in requester.api.get("/partner/activations").json()["items"]
    }
    assert statuses == {
        used["id"]: ("ended", "customer", None),
        waits["id"]: ("active", None, org.admin_upn),
    }
    row = re.search(rf'<tr id="activation-{used["id"]}">.*?</tr>', ended, re.S)
    assert row is not None and f"ended by {org.admin_upn}" in row.group(0)

    again = activate(requester.api, relationship, USERS, minutes=30, justification="More")
    denied = customer.post(
        f"/admin/{org.tenant_id}/partner-activations/{again['id']}/deny", partners_page
    )
    assert flash(denied) == "error: This request is no longer waiting for approval (it is active)."
