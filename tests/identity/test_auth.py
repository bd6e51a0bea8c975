"""Sign-up, sign-in, tokens, throttling, TOTP and temporary passwords."""

from __future__ import annotations

from pathlib import Path

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tenantry.app import create_app
from tenantry.identity.tokens import hash_token
from tenantry.models import ApiToken
from tests.conftest import PASSWORD, Api, FakeClock, Org, settings_for, sign_in, unique_label


def test_signup_validates_and_refuses_duplicates(client: TestClient, org: Org) -> None:
    api = Api(client)
    label = org.domain.split(".")[0]
    taken = api.post(
        "/signup",
        {"organization_name": "Again", "initial_domain": label, "admin_password": PASSWORD},
        expect=409,
    )
    assert taken.json()["type"] == "urn:tenantry:problem:domain-taken"
    for body in (
        {"organization_name": "X", "initial_domain": "Not A Label!", "admin_password": PASSWORD},
        {"organization_name": "X", "initial_domain": unique_label(), "admin_password": "short"},
        {"organization_name": "X", "initial_domain": unique_label()},
        {
            "organization_name": "X",
            "initial_domain": unique_label(),
            "admin_password": PASSWORD,
            "unexpected": 1,
        },
    ):
        response = api.post("/signup", body, expect=422)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 422
    unknown = api.post(
        "/signup",
        {
            "organization_name": "X",
            "initial_domain": unique_label(),
            "admin_password": PASSWORD,
            "offer_token": "nope",
        },
    )
    assert unknown.status_code == 404


def test_signup_creates_initial_domain_and_global_admin(org: Org) -> None:
    domains = org.admin.get(f"{org.base}/domains").json()["items"]
    assert domains == [domains[0]]
    assert domains[0]["name"] == org.domain and domains[0]["is_initial"]
    assert domains[0]["status"] == "verified" and domains[0]["is_default"]
    assert org.domain.endswith(".tenantry.test")
    roles = org.admin.get(f"{org.base}/role-assignments?user_id={org.admin_id}").json()
    assert [r["role"] for r in roles["items"]] == ["global_administrator"]


def test_bad_credentials_are_401(client: TestClient, org: Org) -> None:
    api = Api(client)
    for username, password in ((org.admin_upn, "wrong-password-1"), ("nobody@x.test", PASSWORD)):
        response = api.post("/auth/token", {"username": username, "password": password}, expect=401)
        assert response.json()["type"] == "urn:tenantry:problem:invalid-credentials"
    api.post("/auth/token", {"username": org.admin_upn}, expect=422)
    assert api.get("/me", expect=401).headers["www-authenticate"] == "Bearer"
    Api(client, "tnry_not-a-real-token").get("/me", expect=401)


def test_token_is_stored_only_as_a_hash(org: Org, sessions: sessionmaker[Session]) -> None:
    token = org.admin.token
    assert token and len(token) >= 43
    with sessions() as session:
        stored = session.scalars(select(ApiToken.token_hash)).all()
    assert hash_token(token) in stored and token not in stored


def test_account_throttle_429_with_retry_after(
    client: TestClient, org: Org, clock: FakeClock
) -> None:
    api = Api(client)
    for _ in range(5):
        api.post(
            "/auth/token", {"username": org.admin_upn, "password": "wrong-pass-xx"}, expect=401
        )
    locked = api.post("/auth/token", {"username": org.admin_upn, "password": PASSWORD}, expect=429)
    assert 1 <= int(locked.headers["retry-after"]) <= 60
    assert "Try again in" in locked.json()["detail"]
    clock.advance(seconds=61)
    sign_in(client, org.admin_upn)


def test_address_throttle(database_url: str, tmp_path: Path, clock: FakeClock, org: Org) -> None:
    tight = create_app(
        settings_for(database_url, tmp_path, throttle_address_failures=3), clock=clock
    )
    with TestClient(tight, client=("127.0.0.77", 40000)) as near:
        api = Api(near)
        for i in range(3):
            api.post(
                "/auth/token", {"username": f"nobody{i}@x.test", "password": "x" * 12}, expect=401
            )
        response = api.post(
            "/auth/token", {"username": org.admin_upn, "password": PASSWORD}, expect=429
        )
        assert int(response.headers["retry-after"]) > 0
    with TestClient(tight, client=("127.0.0.78", 40000)) as elsewhere:
        sign_in(elsewhere, org.admin_upn)
    tight.state.engine.dispose()


def test_totp_enrolment_then_required_and_not_replayable(
    client: TestClient, org: Org, clock: FakeClock
) -> None:
    enrolment = org.admin.post("/me/mfa/totp", {"password": PASSWORD}, expect=200).json()
    assert enrolment["otpauth_uri"].startswith("otpauth://totp/Tenantry:")
    totp = pyotp.TOTP(enrolment["secret"])
    org.admin.post("/me/mfa/totp/confirm", {"code": "000000"}, expect=422)
    code = totp.at(clock())
    assert org.admin.post("/me/mfa/totp/confirm", {"code": code}, expect=200).json() == {
        "mfa_enabled": True
    }
    org.admin.post("/me/mfa/totp", {"password": PASSWORD}, expect=409)
    api = Api(client)
    needs = api.post("/auth/token", {"username": org.admin_upn, "password": PASSWORD}, expect=401)
    assert needs.json()["type"] == "urn:tenantry:problem:mfa-required"
    replay = api.post(
        "/auth/token",
        {"username": org.admin_upn, "password": PASSWORD, "totp_code": code},
        expect=401,
    )
    assert replay.json()["type"] == "urn:tenantry:problem:invalid-credentials"
    clock.advance(seconds=31)
    fresh = sign_in(client, org.admin_upn, totp_code=totp.at(clock()))
    assert fresh.get("/me").json()["mfa_enabled"] is True


def test_disabling_a_user_ends_its_tokens_at_once(client: TestClient, org: Org) -> None:
    user_id = org.create_user()
    user = sign_in(client, org.users[user_id])
    user.get("/me", expect=200)
    org.admin.patch(f"{org.base}/users/{user_id}", {"enabled": False}, expect=200)
    user.get("/me", expect=401)
    Api(client).post(
        "/auth/token", {"username": org.users[user_id], "password": PASSWORD}, expect=401
    )
    org.admin.patch(f"{org.base}/users/{user_id}", {"enabled": True}, expect=200)
    user.get("/me", expect=401)  # old tokens stay revoked
    sign_in(client, org.users[user_id]).get("/me", expect=200)


def test_logout_revokes_the_token(client: TestClient, org: Org) -> None:
    api = sign_in(client, org.admin_upn)
    api.post("/auth/logout", expect=204)
    api.get("/me", expect=401)
    org.admin.get("/me", expect=200)  # other sessions are untouched


def test_tokens_expire(client: TestClient, org: Org, clock: FakeClock) -> None:
    clock.advance(hours=8, seconds=1)
    org.admin.get("/me", expect=401)


def test_reset_password_is_temporary_until_changed(client: TestClient, org: Org) -> None:
    user_id = org.create_user()
    upn = org.users[user_id]
    before = sign_in(client, upn)
    temporary = org.admin.post(f"{org.base}/users/{user_id}/reset-password", expect=200).json()[
        "temporary_password"
    ]
    before.get("/me", expect=401)
    Api(client).post("/auth/token", {"username": upn, "password": PASSWORD}, expect=401)
    token = (
        Api(client).post("/auth/token", {"username": upn, "password": temporary}, expect=200).json()
    )
    assert token["must_change_password"] is True
    user = Api(client, token["access_token"])
    assert user.get("/me").json()["must_change_password"] is True
    blocked = user.get(f"{org.base}", expect=403)
    assert blocked.json()["type"] == "urn:tenantry:problem:password-change-required"
    user.post(
        "/me/password", {"current_password": "wrong-one-123", "new_password": "N" * 3}, expect=422
    )
    user.post(
        "/me/password", {"current_password": temporary, "new_password": temporary}, expect=422
    )
    user.post(
        "/me/password",
        {"current_password": temporary, "new_password": "A-new-long-password-7"},
        expect=204,
    )
    assert user.get("/me").json()["must_change_password"] is False
    sign_in(client, upn, "A-new-long-password-7")


def test_closed_signup_is_refused(database_url: str, tmp_path: Path, clock: FakeClock) -> None:
    closed = create_app(settings_for(database_url, tmp_path, open_signup=False), clock=clock)
    with TestClient(closed) as client:
        refused = Api(client).post(
            "/signup",
            {
                "organization_name": "X",
                "initial_domain": unique_label(),
                "admin_password": PASSWORD,
            },
            expect=403,
        )
    closed.state.engine.dispose()
    assert refused.json()["type"] == "urn:tenantry:problem:signup-closed"
