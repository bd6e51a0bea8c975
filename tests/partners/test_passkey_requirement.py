"""A partner may require phishing-resistant sign-ins of its agents (issue 12 C): with
``require_phishing_resistant_mfa`` on, an agent acts on behalf of customers only from a
sign-in proven by a passkey; a TOTP sign-in is held back with the reason, in the decision and
in the sets it filters (the customer list's figures). Only the partner's own admins change the
setting, and lifting it takes a passkey sign-in; a customer, an agent or a partner's partner
can't turn it off."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tenantry.access.roles import Role
from tenantry.core.config import Settings
from tenantry.identity.passkeys import relying_party
from tenantry.models import AuditEvent, Tenant
from tests.conftest import Agent, FakeClock, Org, Partner, accepted, make_partner, sign_in
from tests.identity.softauthn import SoftAuthenticator, add_passkey, sign_in_with_passkey

REQUIRES = "the partner requires a passkey; this sign-in used a TOTP code"


def _row(api: object, tenant_id: str) -> dict:
    items = api.get("/partner/customers").json()["items"]  # type: ignore[attr-defined]
    return next(i for i in items if i["tenant_id"] == tenant_id)


def test_with_the_requirement_a_totp_agent_is_refused_on_behalf_and_a_passkey_one_allowed(
    client: TestClient,
    partner: Partner,
    org: Org,
    settings: Settings,
    sessions: sessionmaker[Session],
    clock: FakeClock,
) -> None:
    accepted(partner, org)
    agent = Agent(partner)  # Full administration, signed in with a TOTP code
    agent.api.get(f"{org.base}/users", expect=200)
    assert _row(agent.api, org.tenant_id)["default_domain"] is not None
    assert partner.admin.get("/partner/settings").json() == {
        "require_phishing_resistant_mfa": False
    }

    turned = partner.admin.patch("/partner/settings", {"require_phishing_resistant_mfa": True})
    assert turned.json() == {"require_phishing_resistant_mfa": True}
    # The very next request of the TOTP session is held back, and says why.
    refused = agent.api.get(f"{org.base}/users", expect=403).json()
    assert REQUIRES in refused["detail"] and "passkey" in refused["detail"]
    access = agent.api.get(f"/partner/customers/{org.tenant_id}/access").json()
    assert access["mfa_satisfied"] is False and REQUIRES in access["blocked"]
    assert access["permissions"] == []
    # The sets follow the same rule: the customer is listed, its figures are not shown.
    row = _row(agent.api, org.tenant_id)
    assert row["default_domain"] is None and row["licenses"] is None
    # A fresh TOTP sign-in is no better.
    clock.advance(seconds=60)  # a time step not used yet
    agent.fresh().get(f"{org.base}/users", expect=403)

    # The agent adds a passkey (from its TOTP-proven session, with its password) and signs in
    # with it: allowed again, everywhere.
    key = SoftAuthenticator(relying_party(settings).origin)
    add_passkey(agent.api, key)
    with_key = sign_in_with_passkey(client, agent.upn, key)
    with_key.get(f"{org.base}/users", expect=200)
    assert _row(with_key, org.tenant_id)["default_domain"] is not None
    assert with_key.get(f"/partner/customers/{org.tenant_id}/access").json()["mfa_satisfied"]
    # The partner's own admins at home are not on behalf of anyone: unaffected.
    partner.admin.get(f"{partner.org.base}/users", expect=200)
    # Audited in the partner's log.
    with sessions() as session:
        event = session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.tenant_id == uuid.UUID(partner.org.tenant_id),
                AuditEvent.action == "partner.settings.update",
            )
            .order_by(AuditEvent.seq.desc())
        ).first()
        assert event is not None
        assert event.actor_user_principal_name == partner.org.admin_upn
        assert event.details == {"require_phishing_resistant_mfa": True, "was": False}
    # Lifting it needs a passkey sign-in: the admin's TOTP session (phishable) can't.
    off = {"require_phishing_resistant_mfa": False}
    lift = partner.admin.patch("/partner/settings", off, expect=403).json()
    assert lift["type"] == "urn:tenantry:problem:passkey-session-required"
    admin_key = SoftAuthenticator(relying_party(settings).origin)
    add_passkey(partner.admin, admin_key)
    admin = sign_in_with_passkey(client, partner.org.admin_upn, admin_key)
    assert admin.patch("/partner/settings", off).json() == off
    # Off again: a TOTP sign-in acts on behalf again.
    agent.api.get(f"{org.base}/users", expect=200)


def test_nobody_but_the_partners_own_admins_turns_the_requirement_off(
    client: TestClient,
    partner: Partner,
    org: Org,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    accepted(partner, org)
    # (Made before the requirement: from then on only a passkey sign-in makes agents.)
    agent = Agent(partner)
    partner.admin.patch("/partner/settings", {"require_phishing_resistant_mfa": True})
    off = {"require_phishing_resistant_mfa": False}
    # The customer: the endpoint is the caller's own partner programme, and it is none.
    refused = org.admin.patch("/partner/settings", off, expect=403).json()
    assert refused["type"] == "urn:tenantry:problem:not-a-partner"
    # The customer can't reach the partner's tenant at all, let alone its settings.
    org.admin.patch(f"/tenants/{partner.org.tenant_id}", off, expect=422)
    org.admin.get(f"/tenants/{partner.org.tenant_id}", expect=404)
    # An agent of the partner, even signed in with a passkey: not partner.manage.
    key = SoftAuthenticator(relying_party(settings).origin)
    add_passkey(agent.api, key)
    with_key = sign_in_with_passkey(client, agent.upn, key)
    assert "partner.manage" in with_key.patch("/partner/settings", off, expect=403).json()["detail"]
    # A partner of this partner, with Global Administrator on behalf of it: the settings are
    # its own (never delegated), and the tenant's own fields don't take it.
    upstream = make_partner(client, sessions, settings, clock, "Upstream")
    accepted(upstream, partner.org)
    up_agent = Agent(upstream)
    up_agent.api.get(f"{partner.org.base}/users", expect=200)  # it does administer the partner
    up_agent.api.patch(f"/tenants/{partner.org.tenant_id}", off, expect=422)
    denied = up_agent.api.patch("/partner/settings", off, expect=403).json()
    assert "partner.manage" in denied["detail"]
    with sessions() as session:
        tenant = session.get(Tenant, uuid.UUID(partner.org.tenant_id))
        assert tenant is not None and tenant.require_phishing_resistant_mfa is True
        upstream_tenant = session.get(Tenant, uuid.UUID(upstream.org.tenant_id))
        assert upstream_tenant is not None and not upstream_tenant.require_phishing_resistant_mfa


def test_power_over_customers_is_handed_out_only_by_a_sign_in_that_could_use_it(
    client: TestClient, partner: Partner, org: Org, settings: Settings
) -> None:
    """A phished partner administrator's session (password only, or a relayed TOTP code where
    the partner requires passkeys) would otherwise make a new agent whose sign-in the attacker
    chooses (its password, its own passkey) and reach every customer. Making an agent, adding
    a member to an agent, access-assignment or approver group, and giving a group customer
    roles need a sign-in that could act on behalf itself; taking power away never does."""
    relationship = accepted(partner, org)
    other_admin = partner.org.create_user(roles=(Role.GLOBAL_ADMINISTRATOR,))
    weak = sign_in(partner.org.client, partner.org.users[other_admin])  # password only
    newcomer = partner.org.create_user()
    refused = weak.request("PUT", f"/partner/agents/{newcomer}", 403, json={"access": "full"})
    assert "hands out power over customers" in refused.json()["detail"]
    groups = {g["name"]: g["id"] for g in weak.get(f"{partner.org.base}/groups").json()["items"]}
    weak.post(
        f"{partner.org.base}/groups/{groups['Admin agents']}/members",
        {"user_id": newcomer},
        expect=403,
    )
    new_group = weak.post(f"{partner.org.base}/groups", {"name": "Backdoor"}, expect=201).json()
    weak.post(
        f"/partner/relationships/{relationship['id']}/access-assignments",
        {"group_id": new_group["id"], "roles": ["global_reader"]},
        expect=403,
    )
    # The partner's admin with a second factor may; taking power away needs none.
    partner.admin.request("PUT", f"/partner/agents/{newcomer}", 200, json={"access": "full"})
    weak.request("PUT", f"/partner/agents/{newcomer}", 200, json={"access": "none"})
    # Where the partner requires passkeys, a TOTP sign-in no longer makes agents; a passkey does.
    partner.admin.patch("/partner/settings", {"require_phishing_resistant_mfa": True})
    partner.admin.request("PUT", f"/partner/agents/{newcomer}", 403, json={"access": "full"})
    key = SoftAuthenticator(relying_party(settings).origin)
    add_passkey(partner.admin, key)
    with_key = sign_in_with_passkey(client, partner.org.admin_upn, key)
    with_key.request("PUT", f"/partner/agents/{newcomer}", 200, json={"access": "full"})
