"""Findings of the security review of issue 13 (OpenID Connect), each a regression test."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tenantry.core.config import Settings
from tests.conftest import Org, sign_in
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
