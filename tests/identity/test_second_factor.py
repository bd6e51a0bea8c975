"""Issue 9: second factors (finding 2's second half and the MFA items of 9), written as the
attacks. Enrolling needs the current password and never makes the session in use
multi-factor; a factor can't be swapped by whoever holds a password and a session; a lost
factor is reset by the tenant's own administrators (never on behalf) or by the operator."""

from __future__ import annotations

import uuid
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tenantry.access.roles import Role
from tenantry.cli import app as cli_app
from tenantry.identity.tokens import hash_token
from tenantry.models import ApiToken, AuditEvent, OutboxMessage
from tests.conftest import (
    PASSWORD,
    Api,
    FakeClock,
    Org,
    Partner,
    accepted,
    enrol_mfa,
    sign_in,
)


def _token_is_mfa(sessions: sessionmaker[Session], api: Api) -> bool:
    assert api.token
    with sessions() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(api.token)))
        assert row is not None
        return bool(row.mfa)


def _mail_to(sessions: sessionmaker[Session], address: str) -> list[str]:
    with sessions() as session:
        return list(
            session.scalars(select(OutboxMessage.subject).where(OutboxMessage.recipient == address))
        )


def _events(sessions: sessionmaker[Session], tenant_id: str, action: str) -> list[AuditEvent]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.tenant_id == uuid.UUID(tenant_id), AuditEvent.action == action)
                .order_by(AuditEvent.seq)
            )
        )


# --- enrolment --------------------------------------------------------------------------


def test_enrolling_needs_the_current_password_and_wrong_ones_count_as_failed_sign_ins(
    client: TestClient, org: Org, sessions: sessionmaker[Session]
) -> None:
    user_id = org.create_user()
    upn = org.users[user_id]
    stolen = sign_in(client, upn)  # a session someone else holds, without the password
    stolen.post("/me/mfa/totp", expect=422)  # no body: the password is required
    wrong = stolen.post("/me/mfa/totp", {"password": "not-the-password-1"}, expect=403)
    assert wrong.json()["type"] == "urn:tenantry:problem:invalid-credentials"
    assert "current password" in wrong.json()["detail"]
    failures = _events(sessions, org.tenant_id, "auth.sign_in")
    assert failures[-1].outcome == "failure" and failures[-1].target == f"user:{user_id}"
    # Guessing through enrolment locks the account like guessing at sign-in does...
    for _ in range(4):
        stolen.post("/me/mfa/totp", {"password": "not-the-password-1"}, expect=403)
    stolen.post("/me/mfa/totp", {"password": PASSWORD}, expect=429)
    Api(client).post("/auth/token", {"username": upn, "password": PASSWORD}, expect=429)
    assert org.admin.get(f"{org.base}/users/{user_id}").json()["mfa_enabled"] is False


def test_enrolling_does_not_make_the_session_multi_factor(
    partner: Partner, org: Org, sessions: sessionmaker[Session], clock: FakeClock
) -> None:
    """Finding 2: the factor enrolled with a password-only token upgraded that token."""
    accepted(partner, org)
    agent = partner.agent("full", mfa=False)
    upn = agent.get("/me").json()["user_principal_name"]
    secret = agent.post("/me/mfa/totp", {"password": PASSWORD}, expect=200).json()["secret"]
    totp = pyotp.TOTP(secret)
    confirmed = agent.post("/me/mfa/totp/confirm", {"code": totp.at(clock())}, expect=200)
    assert confirmed.json() == {"mfa_enabled": True}
    assert not _token_is_mfa(sessions, agent)
    refused = agent.get(f"{org.base}/users", expect=403)
    assert "multi-factor authentication" in refused.json()["detail"]
    # A new sign-in proving both factors is what gives a multi-factor session.
    fresh = sign_in(agent.client, upn, totp_code=totp.at(clock(), counter_offset=1))
    assert _token_is_mfa(sessions, fresh)
    fresh.get(f"{org.base}/users", expect=200)


def test_a_factor_cannot_be_replaced_by_whoever_holds_the_password_and_a_session(
    client: TestClient, org: Org, clock: FakeClock
) -> None:
    """Chosen: while a factor is on, self-service re-enrolment is refused outright (not even
    with the password and a current code); an administrator or the operator resets it."""
    secret = enrol_mfa(org.admin, clock)
    org.admin.post("/me/mfa/totp", expect=422)
    org.admin.post("/me/mfa/totp", {"password": "not-the-password-1"}, expect=403)
    again = org.admin.post("/me/mfa/totp", {"password": PASSWORD}, expect=409)
    assert again.json()["type"] == "urn:tenantry:problem:mfa-enabled"
    assert "administrator" in again.json()["detail"]
    org.admin.post("/me/mfa/totp/confirm", {"code": "123456"}, expect=409)
    # The factor is the one it was.
    clock.advance(seconds=90)
    sign_in(client, org.admin_upn, totp_code=pyotp.TOTP(secret).at(clock()))


def test_password_administrator_of_a_partner_takes_over_nobody_with_a_factor_of_its_own(
    partner: Partner, org: Org, sessions: sessionmaker[Session], clock: FakeClock
) -> None:
    """Finding 2 end to end: the partner's Password Administrator (at home) resets a Full
    agent's password to enrol a factor of its own and reach the partner's customers."""
    accepted(partner, org)
    attacker = partner.org.user_api((Role.PASSWORD_ADMINISTRATOR,))
    for full in (partner.agent("full", mfa=False), partner.agent("full")):
        full_id = full.get("/me").json()["id"]
        refused = attacker.post(f"{partner.org.base}/users/{full_id}/reset-password", expect=403)
        assert "administers the partner's customers" in refused.json()["detail"]
        attacker.post(f"{partner.org.base}/users/{full_id}/reset-mfa", expect=403)
    # An unprivileged user's password it may reset; the factor it then enrols with that
    # password does not make the session multi-factor.
    victim = partner.org.create_user()
    victim_upn = partner.org.users[victim]
    temporary = attacker.post(
        f"{partner.org.base}/users/{victim}/reset-password", expect=200
    ).json()["temporary_password"]
    taken = sign_in(partner.org.client, victim_upn, temporary)
    own = "Attacker-Chosen-Password-7"
    taken.post("/me/password", {"current_password": temporary, "new_password": own}, expect=204)
    secret = taken.post("/me/mfa/totp", {"password": own}, expect=200).json()["secret"]
    taken.post("/me/mfa/totp/confirm", {"code": pyotp.TOTP(secret).at(clock())}, expect=200)
    assert taken.get("/me").json()["mfa_enabled"] is True
    assert not _token_is_mfa(sessions, taken)
    assert taken.get("/me").json()["is_partner_agent"] is False
    taken.get(f"{org.base}/users", expect=404)


def test_a_temporary_password_enrols_no_factor(
    client: TestClient, org: Org, clock: FakeClock
) -> None:
    """Whoever set a temporary password (an administrator's reset) knows it: a factor enrolled
    with it would stay theirs once the user took the account back. An enrolment the user had
    begun before the reset is not finished after it."""
    user_id = org.create_user()
    upn = org.users[user_id]
    user = sign_in(client, upn)
    begun = user.post("/me/mfa/totp", {"password": PASSWORD}, expect=200).json()["secret"]
    temporary = org.admin.post(f"{org.base}/users/{user_id}/reset-password", expect=200).json()[
        "temporary_password"
    ]
    holder = sign_in(client, upn, temporary)
    refused = holder.post("/me/mfa/totp", {"password": temporary}, expect=403).json()
    assert refused["type"] == "urn:tenantry:problem:password-change-required"
    holder.post("/me/mfa/totp/confirm", {"code": pyotp.TOTP(begun).at(clock())}, expect=409)
    assert holder.get("/me").json()["mfa_enabled"] is False
    # With a password of its own the user enrols as usual.
    own = "Own-Password-Chosen-8"
    holder.post("/me/password", {"current_password": temporary, "new_password": own}, expect=204)
    enrol_mfa(holder, clock, password=own)
    assert holder.get("/me").json()["mfa_enabled"] is True


# --- resetting a lost factor ------------------------------------------------------------


def test_an_admin_resets_a_lost_factor_ends_the_sessions_and_the_user_is_told(
    client: TestClient, org: Org, sessions: sessionmaker[Session], clock: FakeClock
) -> None:
    user_id = org.create_user()
    upn = org.users[user_id]
    user = sign_in(client, upn)
    enrol_mfa(user, clock)
    reset = org.admin.post(f"{org.base}/users/{user_id}/reset-mfa", expect=200).json()
    assert reset["mfa_enabled"] is False and reset["id"] == user_id
    user.get("/me", expect=401)  # every session of the account ended
    again = sign_in(client, upn)  # the password alone now, then it enrols again
    enrol_mfa(again, clock)
    assert _token_is_mfa(sessions, again)
    event = _events(sessions, org.tenant_id, "user.reset_mfa")[-1]
    assert event.actor_user_principal_name == org.admin_upn and event.details["upn"] == upn
    assert "Your two-step verification was reset" in _mail_to(sessions, upn)
    # Nothing to reset: said so.
    plain = org.create_user()
    nothing = org.admin.post(f"{org.base}/users/{plain}/reset-mfa", expect=409)
    assert nothing.json()["type"] == "urn:tenantry:problem:no-second-factor"


def test_resetting_an_admins_factor_needs_manage_privileged(
    client: TestClient, org: Org, other_org: Org, clock: FakeClock
) -> None:
    user_admin = org.user_api((Role.USER_ADMINISTRATOR,))
    password_admin = org.user_api((Role.PASSWORD_ADMINISTRATOR,))
    enrol_mfa(org.admin, clock)
    refused = user_admin.post(f"{org.base}/users/{org.admin_id}/reset-mfa", expect=403)
    assert "only a Global Administrator may do this" in refused.json()["detail"]
    plain = org.create_user()
    enrol_mfa(sign_in(client, org.users[plain]), clock)
    # A Password Administrator resets passwords, never factors: both would be the account.
    denied = password_admin.post(f"{org.base}/users/{plain}/reset-mfa", expect=403)
    assert "users.update" in denied.json()["detail"]
    user_admin.post(f"{org.base}/users/{plain}/reset-mfa", expect=200)
    other_org.admin.post(f"{org.base}/users/{plain}/reset-mfa", expect=404)


def test_a_factor_is_never_reset_on_behalf(
    partner: Partner, org: Org, sessions: sessionmaker[Session], clock: FakeClock
) -> None:
    accepted(partner, org)
    full = partner.agent("full")
    victim = org.create_user()
    enrol_mfa(sign_in(org.client, org.users[victim]), clock)
    for target in (victim, org.admin_id):
        refused = full.post(f"{org.base}/users/{target}/reset-mfa", expect=403)
        assert "never reset on behalf" in refused.json()["detail"]
    assert org.admin.get(f"{org.base}/users/{victim}").json()["mfa_enabled"] is True
    denied = [
        e
        for e in _events(sessions, org.tenant_id, "access.denied")
        if "never reset on behalf" in e.details["reason"]
    ]
    assert denied and denied[-1].partner_tenant_id == uuid.UUID(partner.org.tenant_id)


# --- the operator ----------------------------------------------------------------------


@pytest.fixture
def cli_env(database_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENANTRY_DATABASE_URL", database_url)
    monkeypatch.setenv("TENANTRY_DATA_DIR", str(tmp_path))


def test_the_operator_resets_a_factor_by_cli(
    cli_env: None, client: TestClient, org: Org, sessions: sessionmaker[Session], clock: FakeClock
) -> None:
    enrol_mfa(org.admin, clock)  # the last Global Administrator lost its phone
    runner = CliRunner()
    done = runner.invoke(cli_app, ["user", "reset-mfa", org.admin_upn.upper()])
    assert done.exit_code == 0, done.output
    assert "Second factor of" in done.output
    org.admin.get("/me", expect=401)
    assert sign_in(client, org.admin_upn).get("/me").json()["mfa_enabled"] is False
    event = _events(sessions, org.tenant_id, "user.reset_mfa")[-1]
    assert event.actor_user_id is None and event.details["by"] == "operator"
    assert event.request_id == "cli"
    again = runner.invoke(cli_app, ["user", "reset-mfa", org.admin_upn])
    assert again.exit_code == 1 and "has no second factor" in again.output
    missing = runner.invoke(cli_app, ["user", "reset-mfa", "nobody@nowhere.test"])
    assert missing.exit_code == 1 and "There is no user" in missing.output
