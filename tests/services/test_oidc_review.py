"""Findings of the security review of issue 13 (OpenID Connect), each a regression test."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tenantry.core.config import Settings
from tests.conftest import Agent, FakeClock, Org, accepted, make_org, make_partner, sign_in
from tests.services.oidc_helpers import code_for, redeem, refresh, register


def test_a_password_reset_ends_the_services_refresh_tokens_like_every_other_token(
    client: TestClient, org: Org, sessions: sessionmaker[Session], settings: Settings
) -> None:
    """README Security: tokens are "all revoked when a user is disabled or its password is
    reset". A refresh token rotates into a new one (a day from each use), so one that
    survived the reset would let whoever stole the sign-in go on for ever."""
    service = register(sessions, settings)
    user_id = org.create_user()
    person = sign_in(client, org.users[user_id])
    code, verifier = code_for(client, person.token, service)
    body = redeem(client, service, code, verifier).json()
    org.admin.post(f"{org.base}/users/{user_id}/reset-password", {})
    again = refresh(client, service, body["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_an_on_behalf_sign_in_ends_with_its_relationship_even_when_a_new_one_follows(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    """The customer removes the partner (revocation is immediate) and later accepts a new
    offer: a refresh token of a sign-in made under the old relationship is worth nothing; the
    agent signs in again under the new consent."""
    partner = make_partner(client, sessions, settings, clock)
    customer = make_org(client, "Contoso")
    first = accepted(partner, customer)
    agent = Agent(partner)
    service = register(sessions, settings)
    code, verifier = code_for(client, agent.api.token, service, tenant_id=customer.tenant_id)
    body = redeem(client, service, code, verifier).json()
    customer.admin.delete(f"{customer.base}/partner-relationships/{first['id']}")
    accepted(partner, customer)
    again = refresh(client, service, body["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    code, verifier = code_for(client, agent.api.token, service, tenant_id=customer.tenant_id)
    assert redeem(client, service, code, verifier).status_code == 200
