"""Just-in-time elevation (issue 12): eligible roles in access assignments, activations with
and without approval, the customer's own approval of Global Administrator, ending early, and
the decision that reads them off the clock — on both databases, through the HTTP API."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tenantry.access.roles import Role
from tenantry.core.config import Settings
from tenantry.identity.passkeys import relying_party
from tenantry.models import AuditEvent, AuditOutcome, OutboxMessage
from tests.conftest import (
    PASSWORD,
    Api,
    FakeClock,
    Org,
    Partner,
    accepted,
    enrol_mfa,
    make_org,
    make_partner,
    sign_in,
)
from tests.identity.softauthn import SoftAuthenticator, add_passkey, sign_in_with_passkey

GA, READER, USERS = "global_administrator", "global_reader", "user_administrator"


class Member:
    """A user of the partner with a second factor, who signs in afresh (a recent second
    factor) when asked; no agent level: its access comes from the groups it is put in."""

    def __init__(self, partner: Partner) -> None:
        self.partner = partner
        self.user_id = partner.org.create_user()
        self.upn = partner.org.users[self.user_id]
        self.api = sign_in(partner.org.client, self.upn)
        self.secret = enrol_mfa(self.api, partner.clock)

    def fresh(self) -> Api:
        """Sign in again with a new code (codes are single-use: the next time step)."""
        clock = self.partner.clock
        clock.advance(seconds=31)
        code = pyotp.TOTP(self.secret).at(clock(), counter_offset=1)
        self.api = sign_in(self.partner.org.client, self.upn, PASSWORD, code)
        return self.api


def group(partner: Partner, members: list[Member], name: str | None = None) -> str:
    base = partner.org.base
    gid = partner.admin.post(
        f"{base}/groups", {"name": name or f"G {uuid.uuid4().hex[:8]}"}, expect=201
    ).json()["id"]
    for member in members:
        partner.admin.post(f"{base}/groups/{gid}/members", {"user_id": member.user_id}, expect=201)
    return str(gid)


def assign(partner: Partner, relationship: dict, gid: str, **body: Any) -> dict:
    return dict(
        partner.admin.post(
            f"/partner/relationships/{relationship['id']}/access-assignments",
            {"group_id": gid, **body},
            expect=201,
        ).json()
    )


def activate(api: Api, relationship: dict, role: str, expect: int = 201, **extra: Any) -> Any:
    body = {
        "relationship_id": relationship["id"],
        "role": role,
        "minutes": extra.pop("minutes", 60),
        "justification": extra.pop("justification", "Ticket from the customer: new starters"),
        **extra,
    }
    return api.post("/partner/activations", body, expect=expect).json()


def new_user(api: Api, customer: Org, expect: int) -> Any:
    name = f"n{uuid.uuid4().hex[:10]}"
    body = {"user_principal_name": f"{name}@{customer.domain}", "display_name": name}
    return api.post(f"{customer.base}/users", body, expect=expect).json()


def at(clock: FakeClock, moment: datetime) -> None:
    """Move the test clock so that it reads ``moment`` now."""
    clock.offset = moment - datetime.now(UTC)


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def mail_to(sessions: sessionmaker[Session], address: str) -> list[str]:
    with sessions() as session:
        return list(
            session.scalars(
                select(OutboxMessage.subject)
                .where(OutboxMessage.recipient == address)
                .order_by(OutboxMessage.created_at)
            )
        )


def actions(
    sessions: sessionmaker[Session],
    tenant_id: str,
    activation_id: str,
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
) -> list[str]:
    """What the tenant's audit log says happened to one activation."""
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent.action)
                .where(
                    AuditEvent.tenant_id == uuid.UUID(tenant_id),
                    AuditEvent.target == f"activation:{activation_id}",
                    AuditEvent.outcome == outcome,
                )
                .order_by(AuditEvent.seq)
            )
        )


def jit_world(partner: Partner, customer: Org, **assignment: Any) -> tuple[dict, Member, str]:
    """The customer approved Global Reader, User Administrator and Global Administrator; an
    on-call group holds Global Reader standing and may activate the others."""
    relationship = accepted(partner, customer, {"roles": [READER, USERS, GA]})
    requester = Member(partner)
    oncall = group(partner, [requester], "On call")
    assign(
        partner,
        relationship,
        oncall,
        roles=[READER],
        eligible_roles=[USERS, GA],
        **assignment,
    )
    return relationship, requester, oncall


# --- the lifecycle -----------------------------------------------------------------------


def test_eligible_is_not_active_until_activated_and_counts_until_ends_at(
    partner: Partner, org: Org, clock: FakeClock, sessions: sessionmaker[Session]
) -> None:
    relationship, requester, _ = jit_world(partner, org, max_activation_minutes=120)
    agent = requester.api
    refused = new_user(agent, org, 403)
    assert "Eligible, not active: " in refused["detail"]
    assert "User Administrator (eligible through" in refused["detail"]
    assert "POST /api/v1/partner/activations" in refused["detail"]
    access = agent.get(f"/partner/customers/{org.tenant_id}/access").json()
    assert [g["role"] for g in access["grants"]] == [READER]

    made = activate(agent, relationship, USERS, minutes=90, ticket="INC-42")
    assert made["status"] == "active"
    ends_at = parse(made["ends_at"])
    assert timedelta(minutes=89) < ends_at - parse(made["requested_at"]) <= timedelta(minutes=90)
    new_user(agent, org, 201)
    access = agent.get(f"/partner/customers/{org.tenant_id}/access").json()
    through = [g for g in access["grants"] if g["activation_id"] == made["id"]]
    assert (
        through and f"through activation {made['id']} of User Administrator" in (through[0]["via"])
    )
    allowed = agent.get(f"{org.base}/users").json()  # still readable as Global Reader
    assert allowed["items"]

    at(clock, ends_at - timedelta(seconds=2))
    new_user(agent, org, 201)
    at(clock, ends_at + timedelta(seconds=1))
    late = new_user(agent, org, 403)
    assert "Eligible, not active" in late["detail"]
    listed = agent.get("/partner/activations").json()["items"]
    assert [(a["id"], a["status"]) for a in listed] == [(made["id"], "expired")]
    # The customer saw it start, and sees who, what, why and when.
    assert any("activated User Administrator" in s for s in mail_to(sessions, org.admin_upn))
    seen = org.admin.get(f"{org.base}/partner-activations").json()["items"]
    assert [
        (a["requested_by"], a["role"], a["justification"], a["ticket"], a["status"]) for a in seen
    ] == [(requester.upn, USERS, "Ticket from the customer: new starters", "INC-42", "expired")]
    for tenant in (org.tenant_id, partner.org.tenant_id):
        assert actions(sessions, tenant, made["id"]) == [
            "partner.activation.request",
            "partner.activation.start",
        ]


def test_activating_needs_a_recent_second_factor(
    partner: Partner, org: Org, clock: FakeClock
) -> None:
    relationship, requester, oncall = jit_world(partner, org)
    clock.advance(minutes=16)
    stale = activate(requester.api, relationship, USERS, expect=403)
    assert stale["type"] == "urn:tenantry:problem:recent-mfa-required"
    activate(requester.fresh(), relationship, USERS, expect=201)
    # Enrolling a factor never makes the session in use multi-factor, let alone recently.
    newcomer_id = partner.org.create_user()
    partner.admin.post(
        f"{partner.org.base}/groups/{oncall}/members", {"user_id": newcomer_id}, expect=201
    )
    newcomer = sign_in(partner.org.client, partner.org.users[newcomer_id])
    secret = newcomer.post("/me/mfa/totp", {"password": PASSWORD}, expect=200).json()["secret"]
    newcomer.post("/me/mfa/totp/confirm", {"code": pyotp.TOTP(secret).at(clock())}, expect=200)
    refused = activate(newcomer, relationship, USERS, expect=403)
    assert refused["type"] == "urn:tenantry:problem:recent-mfa-required"


def test_a_partner_requiring_passkeys_gets_activations_only_from_passkey_sign_ins(
    partner: Partner, org: Org, clock: FakeClock, settings: Settings
) -> None:
    """Where the partner requires phishing-resistant sign-ins of its agents, a TOTP sign-in
    neither requests nor approves an activation (its power would be held back anyway; the
    approval must not be easier to get than the power)."""
    relationship, requester, approver = approval_world(partner, org)
    partner.admin.request(
        "PATCH", "/partner/settings", 200, json={"require_phishing_resistant_mfa": True}
    )
    refused = activate(requester.fresh(), relationship, USERS, expect=403)
    assert refused["type"] == "urn:tenantry:problem:passkey-required"
    assert "phishing-resistant" in refused["detail"]
    origin = relying_party(settings).origin
    keys = {who.upn: SoftAuthenticator(origin) for who in (requester, approver)}
    for who in (requester, approver):
        add_passkey(who.fresh(), keys[who.upn])

    def with_passkey(who: Member) -> Api:
        return sign_in_with_passkey(partner.org.client, who.upn, keys[who.upn])

    pending = activate(with_passkey(requester), relationship, USERS)
    assert pending["status"] == "pending_approval"
    decide = f"/partner/activations/{pending['id']}/approve"
    totp_approval = approver.fresh().post(decide, expect=403).json()
    assert totp_approval["type"] == "urn:tenantry:problem:passkey-required"
    assert with_passkey(approver).post(decide, expect=200).json()["status"] == "active"


def test_requests_outside_the_assignment_are_refused(partner: Partner, org: Org) -> None:
    relationship, requester, _ = jit_world(partner, org, max_activation_minutes=60)
    not_eligible = activate(requester.api, relationship, "domain_name_administrator", expect=403)
    assert not_eligible["type"] == "urn:tenantry:problem:role-not-eligible"
    assert (
        "Eligible for you here: Global Administrator, User Administrator"
        in (not_eligible["detail"])
    )
    too_long = activate(requester.api, relationship, USERS, minutes=61, expect=422)
    assert too_long["type"] == "urn:tenantry:problem:activation-too-long"
    activate(requester.api, relationship, USERS, minutes=29, expect=422)
    activate(requester.api, relationship, USERS, justification=" ", expect=422)
    activate(requester.api, relationship, USERS, justification="two\nlines", expect=422)
    # Someone of the partner in no assigned group is eligible for nothing.
    outsider = Member(partner)
    activate(outsider.api, relationship, USERS, expect=403)
    # Assignments keep eligible roles within the relationship and apart from standing ones.
    gid = group(partner, [])
    base = f"/partner/relationships/{relationship['id']}/access-assignments"
    for body, slug in (
        ({"eligible_roles": ["security_reader"]}, "role-not-in-relationship"),
        ({"roles": [USERS], "eligible_roles": [USERS]}, "role-standing-and-eligible"),
        ({"eligible_roles": [USERS], "approval_required": True}, "approver-group-required"),
        ({}, "invalid-input"),
    ):
        refused = partner.admin.post(base, {"group_id": gid, **body}, expect=422).json()
        assert refused["type"] == f"urn:tenantry:problem:{slug}", refused
    partner.admin.post(
        base, {"group_id": gid, "eligible_roles": [USERS], "max_activation_minutes": 481}, 422
    )


def test_approval_by_another_member_of_the_approver_group_starts_the_clock(
    client: TestClient,
    settings: Settings,
    partner: Partner,
    org: Org,
    clock: FakeClock,
    sessions: sessionmaker[Session],
) -> None:
    requester = Member(partner)
    approver = Member(partner)
    bystander = Member(partner)
    relationship = accepted(partner, org, {"roles": [READER, USERS]})
    approvers = group(partner, [requester, approver], "Approvers")
    assign(
        partner,
        relationship,
        group(partner, [requester]),
        eligible_roles=[USERS],
        max_activation_minutes=240,
        approval_required=True,
        approver_group_id=approvers,
    )
    pending = activate(requester.api, relationship, USERS, minutes=240)
    assert (pending["status"], pending["ends_at"]) == ("pending_approval", None)
    assert any(requester.upn in s for s in mail_to(sessions, approver.upn))
    assert not mail_to(sessions, requester.upn)  # approvers are told, never the requester
    new_user(requester.api, org, 403)  # pending gives nothing

    url = f"/partner/activations/{pending['id']}"
    own = requester.api.post(f"{url}/approve", expect=403).json()
    assert own["type"] == "urn:tenantry:problem:own-request"
    assert "your own request" in own["detail"]
    requester.api.post(f"{url}/deny", expect=403)
    outsider = bystander.api.post(f"{url}/approve", expect=403).json()
    assert outsider["type"] == "urn:tenantry:problem:not-an-approver"
    bystander.api.get(url, expect=404)  # not its to see
    stranger = make_partner(client, sessions, settings, clock)
    stranger.admin.post(f"{url}/approve", expect=404)

    clock.advance(minutes=20)
    stale = approver.api.post(f"{url}/approve", expect=403).json()
    assert stale["type"] == "urn:tenantry:problem:recent-mfa-required"
    approved = approver.fresh().post(f"{url}/approve", expect=200).json()
    assert approved["status"] == "active"
    assert approved["partner_approved_by"] == approver.upn
    started = parse(approved["starts_at"])
    assert parse(approved["ends_at"]) - started == timedelta(minutes=240)
    assert started - parse(pending["requested_at"]) >= timedelta(minutes=20)
    new_user(requester.api, org, 201)
    approver.api.post(f"{url}/approve", expect=409)
    approver.api.post(f"{url}/deny", expect=409)
    assert f"Your activation of User Administrator in {org_name(org)} was approved" in (
        mail_to(sessions, requester.upn)
    )
    assert [a["id"] for a in approver.api.get("/partner/activations").json()["items"]] == [
        pending["id"]
    ]
    assert bystander.api.get("/partner/activations").json()["items"] == []
    assert pending["id"] in [
        a["id"] for a in partner.admin.get("/partner/activations").json()["items"]
    ]
    for tenant in (org.tenant_id, partner.org.tenant_id):
        assert actions(sessions, tenant, pending["id"]) == [
            "partner.activation.request",
            "partner.activation.approve",
            "partner.activation.start",
        ]
        # The refused attempts are in both logs too: the requester's own approval and
        # denial, the bystander's and the approver's without a recent second factor.
        assert actions(sessions, tenant, pending["id"], AuditOutcome.DENIED) == [
            "partner.activation.approve",
            "partner.activation.deny",
            "partner.activation.approve",
            "partner.activation.approve",
        ]


def org_name(org: Org) -> str:
    return str(org.admin.get(org.base).json()["name"])


def approval_world(
    partner: Partner, customer: Org, **assignment: Any
) -> tuple[dict, Member, Member]:
    requester, approver = Member(partner), Member(partner)
    relationship = accepted(partner, customer, {"roles": [READER, USERS, GA]})
    approvers = group(partner, [approver], "Approvers")
    assign(
        partner,
        relationship,
        group(partner, [requester]),
        eligible_roles=[USERS, GA],
        approval_required=True,
        approver_group_id=approvers,
        **assignment,
    )
    return relationship, requester, approver


def test_what_an_agent_may_activate_and_what_waits_for_its_approval(
    partner: Partner, org: Org, other_org: Org
) -> None:
    """GET /partner/eligible-roles and GET /partner/approvals, read by My access and Approvals:
    the terms of several assignments combined as a request would choose among them, and the
    queue of an approver (never its own request, gone once decided)."""
    policy = {"blocked_permissions": [], "require_customer_approval_for_global_admin": True}
    org.admin.request("PUT", f"{org.base}/partner-policy", 200, json=policy)
    relationship, requester, approver = approval_world(partner, org, max_activation_minutes=240)
    quick = group(partner, [requester], "Quick")
    assign(partner, relationship, quick, eligible_roles=[USERS], max_activation_minutes=60)
    ended = accepted(partner, other_org, {"roles": [USERS]})
    assign(partner, ended, quick, eligible_roles=[USERS])
    partner.admin.post(f"/partner/relationships/{ended['id']}/terminate", expect=200)

    eligible = requester.api.get("/partner/eligible-roles").json()["items"]
    terms = [
        (
            e["relationship_id"],
            e["role"],
            e["max_minutes"],
            e["max_minutes_without_approval"],
            e["customer_approval_required"],
            e["groups"],
        )
        for e in eligible
    ]
    on_call = next(g for g in eligible[0]["groups"] if g != "Quick")
    assert terms == [
        (relationship["id"], GA, 240, None, True, [on_call]),
        (relationship["id"], USERS, 240, 60, False, sorted([on_call, "Quick"])),
    ]
    assert eligible[0]["customer_tenant_id"] == org.tenant_id
    assert approver.api.get("/partner/eligible-roles").json()["items"] == []

    # The requester joins the approvers: its own requests are still not in its queue.
    groups = partner.admin.get(f"{partner.org.base}/groups", params={"limit": 200}).json()
    approvers = next(g["id"] for g in groups["items"] if g["name"] == "Approvers")
    partner.admin.post(
        f"{partner.org.base}/groups/{approvers}/members",
        {"user_id": requester.user_id},
        expect=201,
    )
    waiting = activate(requester.api, relationship, USERS, minutes=120)
    ga = activate(requester.api, relationship, GA, minutes=30)
    queue = approver.api.get("/partner/approvals").json()["items"]
    assert [a["id"] for a in queue] == [waiting["id"], ga["id"]]  # the longest waiting first
    assert requester.api.get("/partner/approvals").json()["items"] == []
    assert partner.admin.get("/partner/approvals").json()["items"] == []
    approver.api.post(f"/partner/activations/{ga['id']}/approve", expect=200)
    # Approved by the partner, it waits for the customer: no longer in the approver's queue.
    queue = approver.api.get("/partner/approvals").json()["items"]
    assert [a["id"] for a in queue] == [waiting["id"]]
    approver.api.post(f"/partner/activations/{waiting['id']}/deny", expect=200)
    assert approver.api.get("/partner/approvals").json()["items"] == []


def test_denied_and_undecided_requests_give_nothing(
    partner: Partner, org: Org, clock: FakeClock, sessions: sessionmaker[Session]
) -> None:
    relationship, requester, approver = approval_world(partner, org)
    denied = activate(requester.api, relationship, USERS)
    url = f"/partner/activations/{denied['id']}"
    out = approver.api.post(f"{url}/deny", expect=200).json()
    assert (out["status"], out["denied_by"], out["denied_by_user"]) == (
        "denied",
        "partner",
        approver.upn,
    )
    assert any("was denied" in s for s in mail_to(sessions, requester.upn))
    approver.api.post(f"{url}/approve", expect=409)
    new_user(requester.api, org, 403)
    waiting = activate(requester.api, relationship, USERS)
    activate(requester.api, relationship, USERS, expect=409)  # one open request per role
    clock.advance(hours=24, seconds=1)
    approver.fresh().post(f"/partner/activations/{waiting['id']}/approve", expect=409)
    status = requester.fresh().get(f"/partner/activations/{waiting['id']}").json()["status"]
    assert status == "expired"
    assert actions(sessions, org.tenant_id, denied["id"]) == [
        "partner.activation.request",
        "partner.activation.deny",
    ]


def test_ended_early_is_refused_at_the_next_request(
    partner: Partner, org: Org, sessions: sessionmaker[Session]
) -> None:
    relationship, requester, _ = jit_world(partner, org)
    first = activate(requester.api, relationship, USERS)
    new_user(requester.api, org, 201)
    ended = requester.api.post(f"/partner/activations/{first['id']}/end", expect=200).json()
    assert (ended["status"], ended["ended_by"]) == ("ended", "partner")
    new_user(requester.api, org, 403)
    requester.api.post(f"/partner/activations/{first['id']}/end", expect=409)
    # The customer ends one at once; the requester is told.
    second = activate(requester.fresh(), relationship, USERS)
    new_user(requester.api, org, 201)
    out = org.admin.post(f"{org.base}/partner-activations/{second['id']}/end", expect=200).json()
    assert (out["status"], out["ended_by"], out["ended_by_user"]) == (
        "ended",
        "customer",
        org.admin_upn,
    )
    new_user(requester.api, org, 403)
    assert any("ended your activation" in s for s in mail_to(sessions, requester.upn))
    # A partner admin may end anyone's; another member may not.
    third = activate(requester.api, relationship, USERS)
    Member(partner).api.post(f"/partner/activations/{third['id']}/end", expect=404)
    partner.admin.post(f"/partner/activations/{third['id']}/end", expect=200)
    for tenant in (org.tenant_id, partner.org.tenant_id):
        assert actions(sessions, tenant, second["id"])[-1] == "partner.activation.end"


def test_leaving_the_group_or_the_role_leaving_the_assignment_ends_the_power(
    partner: Partner, org: Org
) -> None:
    relationship, requester, oncall = jit_world(partner, org)
    activate(requester.api, relationship, USERS)
    new_user(requester.api, org, 201)
    base = partner.org.base
    partner.admin.delete(f"{base}/groups/{oncall}/members/{requester.user_id}")
    assert requester.api.get(f"{org.base}/users", expect=None).status_code == 404
    partner.admin.post(f"{base}/groups/{oncall}/members", {"user_id": requester.user_id}, 201)
    new_user(requester.api, org, 201)  # back in the group, still within ends_at
    # The assignment no longer makes the role eligible (replaced by a standing-only one).
    assignments = partner.admin.get(
        f"/partner/relationships/{relationship['id']}/access-assignments"
    ).json()["items"]
    mine = next(a for a in assignments if a["group_id"] == oncall)
    assert mine["eligible_roles"] == [GA, USERS]  # in the catalogue's order
    partner.admin.delete(
        f"/partner/relationships/{relationship['id']}/access-assignments/{mine['id']}"
    )
    assign(partner, relationship, oncall, roles=[READER])
    new_user(requester.api, org, 403)


def test_ending_the_relationship_ends_its_activations(partner: Partner, org: Org) -> None:
    relationship, requester, _ = jit_world(partner, org)
    made = activate(requester.api, relationship, USERS)
    org.admin.delete(f"{org.base}/partner-relationships/{relationship['id']}")
    assert requester.api.get(f"{org.base}/users", expect=None).status_code == 404
    activate(requester.fresh(), relationship, USERS, expect=409)
    assert made["status"] == "active"


# --- the customer's own approval of Global Administrator -----------------------------------


def test_customer_policy_holds_global_admin_for_its_own_approval(
    partner: Partner, org: Org, clock: FakeClock, sessions: sessionmaker[Session]
) -> None:
    policy = {"blocked_permissions": [], "require_customer_approval_for_global_admin": True}
    assert org.admin.request("PUT", f"{org.base}/partner-policy", 200, json=policy).json()[
        "require_customer_approval_for_global_admin"
    ]
    relationship, requester, approver = approval_world(partner, org)
    pending = activate(requester.api, relationship, GA)
    assert (pending["status"], pending["customer_approval_required"]) == (
        "pending_approval",
        True,
    )
    assert any("your approval is needed" in s for s in mail_to(sessions, org.admin_upn))
    # The partner's approver alone is not enough.
    after_partner = approver.api.post(
        f"/partner/activations/{pending['id']}/approve", expect=200
    ).json()
    assert (after_partner["status"], after_partner["partner_approved_by"]) == (
        "pending_approval",
        approver.upn,
    )
    assert requester.api.get(f"{org.base}/role-assignments", expect=None).status_code == 403
    # The partner's agents can't decide it on the customer's side, whatever they hold there.
    full_agent = partner.agent("full")
    refused = full_agent.post(
        f"{org.base}/partner-activations/{pending['id']}/approve", expect=403
    ).json()
    assert "partner_relationships.manage" in refused["detail"]
    url = f"{org.base}/partner-activations/{pending['id']}"
    # A Global Administrator of the customer approves, with a recent second factor.
    stale = org.admin.post(f"{url}/approve", expect=403).json()
    assert stale["type"] == "urn:tenantry:problem:recent-mfa-required"
    enrol_mfa(org.admin, clock)
    reader = org.user_api()  # a member without partner_relationships.manage
    reader.post(f"{url}/approve", expect=403)
    done = org.admin.post(f"{url}/approve", expect=200).json()
    assert (done["status"], done["customer_approved_by"]) == ("active", org.admin_upn)
    assert requester.api.get(f"{org.base}/role-assignments").status_code == 200
    # Without a partner approver in the assignment, the customer's approval is still needed.
    solo = Member(partner)
    assign(
        partner,
        relationship,
        group(partner, [solo]),
        eligible_roles=[GA],
    )
    waiting = activate(solo.api, relationship, GA)
    assert waiting["status"] == "pending_approval"
    approver.fresh().post(f"/partner/activations/{waiting['id']}/approve", expect=409)
    org.admin.post(f"{org.base}/partner-activations/{waiting['id']}/deny", expect=200)
    assert solo.api.get(f"{org.base}/role-assignments", expect=None).status_code == 403
    # Other roles need no approval from the customer.
    other = activate(solo.api, relationship, USERS, expect=403)  # not eligible for solo
    assert other["type"] == "urn:tenantry:problem:role-not-eligible"


def test_policy_turned_on_after_the_activation_started_holds_it_back(
    partner: Partner, org: Org
) -> None:
    relationship, requester, _ = jit_world(partner, org)
    activate(requester.api, relationship, GA)
    new_user(requester.api, org, 201)
    policy = {"blocked_permissions": [], "require_customer_approval_for_global_admin": True}
    org.admin.request("PUT", f"{org.base}/partner-policy", 200, json=policy)
    held = new_user(requester.api, org, 403)
    assert "Global Administrator (eligible through" in held["detail"]


# --- consent -------------------------------------------------------------------------------


def test_activations_never_reach_beyond_the_member_path(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
    partner: Partner,
) -> None:
    """A (partner) administers B (a partner itself) with Global Administrator; B's agent
    activates in C. A's agents see none of B's activations and can't touch them."""
    b = make_partner(client, sessions, settings, clock, "Litware")
    c = make_org(client, "Adatum")
    accepted(partner, b.org, {"roles": [GA]})
    relationship, requester, _ = jit_world(b, c)
    made = activate(requester.api, relationship, USERS)
    a_agent = partner.agent("full")
    assert a_agent.get(f"{b.org.base}/users").status_code == 200  # A reaches B
    assert a_agent.get("/partner/activations").json()["items"] == []
    for path in (f"/partner/activations/{made['id']}",):
        a_agent.get(path, expect=404)
    for verb in ("approve", "deny", "end"):
        a_agent.post(f"/partner/activations/{made['id']}/{verb}", expect=404)
        a_agent.post(f"{c.base}/partner-activations/{made['id']}/{verb}", expect=404)
    a_agent.get(f"{c.base}/partner-activations", expect=404)
    # A can't make B's roles eligible or activate through B's relationship either.
    a_agent.post(
        f"/partner/relationships/{relationship['id']}/access-assignments",
        {"group_id": str(uuid.uuid4()), "eligible_roles": [USERS]},
        expect=403,
    )
    activate(a_agent, relationship, USERS, expect=404)
    # An unrelated organisation sees nothing either.
    stranger = make_org(client)
    stranger.admin.get(f"{c.base}/partner-activations", expect=404)
    stranger.admin.post(f"{c.base}/partner-activations/{made['id']}/end", expect=404)
    # The customer sees it; another customer of B does not find it.
    other = make_org(client)
    accepted(b, other, {"roles": [READER]})
    assert c.admin.get(f"{c.base}/partner-activations").json()["items"][0]["id"] == made["id"]
    other.admin.post(f"{other.base}/partner-activations/{made['id']}/end", expect=404)


def test_a_user_administrator_of_the_partner_cannot_join_the_approver_group(
    partner: Partner, org: Org
) -> None:
    """Approver groups are privileged: who decides power is decided by the partner's Global
    Administrators, so an insider can't put a second account of its own in them."""
    _, requester, approver = approval_world(partner, org)
    insider_id = partner.org.create_user(roles=(Role.USER_ADMINISTRATOR,))
    insider = sign_in(partner.org.client, partner.org.users[insider_id])
    groups = partner.admin.get(f"{partner.org.base}/groups?limit=200").json()["items"]
    approvers = next(g for g in groups if g["name"] == "Approvers")
    refused = insider.post(
        f"{partner.org.base}/groups/{approvers['id']}/members",
        {"user_id": requester.user_id},
        expect=403,
    ).json()
    assert "approves activations" in refused["detail"]
    assert approver.user_id


def test_a_request_is_approved_only_by_the_approvers_its_assignment_still_names(
    partner: Partner, org: Org
) -> None:
    """The partner replaces an assignment to hand its approvals to another group: the former
    approver group is no longer privileged (a User Administrator of the partner may now put
    itself in it), so it must no longer decide the requests still waiting under the old
    assignment."""
    requester, insider = Member(partner), Member(partner)
    partner.admin.post(
        f"{partner.org.base}/role-assignments",
        {"role": USERS, "user_id": insider.user_id},
        expect=201,
    )
    relationship = accepted(partner, org, {"roles": [READER, USERS]})
    on_call = group(partner, [requester])
    old_approvers = group(partner, [], "Old approvers")
    first = assign(
        partner,
        relationship,
        on_call,
        eligible_roles=[USERS],
        approval_required=True,
        approver_group_id=old_approvers,
    )
    pending = activate(requester.api, relationship, USERS)
    partner.admin.delete(
        f"/partner/relationships/{relationship['id']}/access-assignments/{first['id']}"
    )
    assign(
        partner,
        relationship,
        on_call,
        eligible_roles=[USERS],
        approval_required=True,
        approver_group_id=group(partner, [], "New approvers"),
    )
    # No longer named by any assignment, the old group is an ordinary group again.
    insider.fresh().post(
        f"{partner.org.base}/groups/{old_approvers}/members",
        {"user_id": insider.user_id},
        expect=201,
    )
    refused = insider.api.post(f"/partner/activations/{pending['id']}/approve", expect=403)
    assert refused.json()["type"] == "urn:tenantry:problem:not-an-approver"
    new_user(requester.api, org, 403)
    # Nor is it in the former approvers' queue any more.
    assert insider.api.get("/partner/approvals").json()["items"] == []


# --- concurrency -------------------------------------------------------------------------


def test_parallel_approve_deny_and_end_have_one_outcome(
    partner: Partner, org: Org, sessions: sessionmaker[Session]
) -> None:
    relationship, requester, approver = approval_world(partner, org)
    for _ in range(2):
        made = activate(requester.api, relationship, USERS)
        url = f"/partner/activations/{made['id']}"
        calls: list[tuple[str, Callable[[], int]]] = []
        for i in range(20):
            kind, api = [("end", requester.api), ("approve", approver.api), ("deny", approver.api)][
                i % 3
            ]
            calls.append((kind, lambda api=api, path=f"{url}/{kind}": api.post(path).status_code))
        with ThreadPoolExecutor(max_workers=20) as pool:
            codes = list(pool.map(lambda call: call[1](), calls))
        won = {kind: 0 for kind in ("end", "approve", "deny")}
        for (kind, _), code in zip(calls, codes, strict=True):
            assert code in (200, 409), (kind, code)
            won[kind] += code == 200
        assert all(n <= 1 for n in won.values()), won
        assert won["approve"] + won["deny"] <= 1
        final = requester.api.get(url).json()
        if final["status"] == "denied":
            assert won == {"end": 0, "approve": 0, "deny": 1}
        elif final["status"] == "active":
            assert won == {"end": 0, "approve": 1, "deny": 0}
        else:
            assert final["status"] == "ended"
            assert won["end"] == 1 and won["deny"] == 0
            assert (final["partner_approved_by"] is not None) == (won["approve"] == 1)
        logged = actions(sessions, org.tenant_id, made["id"])
        assert logged.count("partner.activation.approve") == won["approve"]
        assert logged.count("partner.activation.deny") == won["deny"]
        assert logged.count("partner.activation.end") == won["end"]
        with sessions() as session:
            both = session.scalar(
                select(func.count()).where(
                    AuditEvent.target == f"activation:{made['id']}",
                    AuditEvent.outcome == AuditOutcome.SUCCESS,
                )
            )
        assert both == 2 * len(logged)
        if final["status"] == "active":
            requester.api.post(f"{url}/end", expect=200)


def test_a_policy_form_that_does_not_show_the_opt_in_keeps_it(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    """The Admin center's policy form has no such box yet: saving it must not turn the
    customer's approval of Global Administrator off."""
    from tenantry.core.context import Context
    from tenantry.partners import policy as partner_policy
    from tests import factories

    now = datetime.now(UTC)
    with sessions() as session:
        try:
            customer = factories.tenant(session, "Contoso policy", now)
            admin = factories.user(session, customer, f"ga@{uuid.uuid4().hex[:8]}.example", now)
            factories.role_assignment(session, customer, admin, Role.GLOBAL_ADMINISTRATOR, now)
            ctx = Context(
                session=session,
                settings=settings,
                principal=factories.principal(admin, mfa=False),
                now=now,
            )
            on = partner_policy.set_policy(
                ctx, customer.id, [], require_customer_approval_for_global_admin=True
            )
            assert on.require_customer_approval_for_global_admin
            kept = partner_policy.set_policy(ctx, customer.id, ["domains.add"])
            assert kept.require_customer_approval_for_global_admin
            off = partner_policy.set_policy(
                ctx, customer.id, [], require_customer_approval_for_global_admin=False
            )
            assert not off.require_customer_approval_for_global_admin
        finally:
            session.rollback()
