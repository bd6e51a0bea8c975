"""Issue 12 C: passkeys (WebAuthn) as a second factor, through the API, on both databases, with
a software authenticator (tests/identity/softauthn.py) as the browser and the key. Written as
the attacks: who could register a passkey on someone else's account, skip the password, replay
a challenge, use another user's or a cloned key, or keep a factor enrolled with a temporary
password."""

from __future__ import annotations

import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tenantry.cli import app as cli_app
from tenantry.core.config import Settings
from tenantry.identity.passkeys import relying_party, relying_party_problem
from tenantry.identity.tokens import hash_token
from tenantry.models import ApiToken, AuditEvent, OutboxMessage, Passkey, WebAuthnChallenge
from tests.conftest import (
    PASSWORD,
    Api,
    FakeClock,
    Org,
    enrol_mfa,
    make_org,
    sign_in,
    sweep,
)
from tests.identity.softauthn import (
    Credential,
    SoftAuthenticator,
    add_passkey,
    b64url,
    passkey_options,
    sign_in_with_passkey,
)
from tests.identity.test_concurrency import app_with

INVALID = "urn:tenantry:problem:invalid-credentials"


@pytest.fixture
def authenticator(settings: Settings) -> SoftAuthenticator:
    """A key in a browser on this installation's origin (TENANTRY_PUBLIC_URL)."""
    return SoftAuthenticator(relying_party(settings).origin)


def _token_row(sessions: sessionmaker[Session], api: Api) -> ApiToken:
    assert api.token
    with sessions() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(api.token)))
        assert row is not None
        session.expunge(row)
        return row


def _events(sessions: sessionmaker[Session], tenant_id: str, action: str) -> list[AuditEvent]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.tenant_id == uuid.UUID(tenant_id), AuditEvent.action == action)
                .order_by(AuditEvent.seq)
            )
        )


def _mail_to(sessions: sessionmaker[Session], address: str) -> list[str]:
    with sessions() as session:
        return list(
            session.scalars(select(OutboxMessage.subject).where(OutboxMessage.recipient == address))
        )


def _token(client: TestClient, body: dict[str, Any]) -> Any:
    return Api(client).post("/auth/token", body)


def _failure_reasons(sessions: sessionmaker[Session], tenant_id: str) -> list[str]:
    return [
        str(e.details.get("reason"))
        for e in _events(sessions, tenant_id, "auth.sign_in")
        if e.outcome == "failure"
    ]


def test_the_relying_party_is_the_public_url() -> None:
    """The RP id is the host people open and the one origin accepted is the URL's own
    (a default port is not part of an origin); `tenantry check` says when browsers would refuse
    passkeys there."""
    cases = {
        "https://Admin.Example.com/": ("admin.example.com", "https://admin.example.com", None),
        "https://admin.example.com:443": ("admin.example.com", "https://admin.example.com", None),
        "https://admin.example.com:8443/x": (
            "admin.example.com",
            "https://admin.example.com:8443",
            None,
        ),
        "http://localhost:8000": ("localhost", "http://localhost:8000", None),
        "http://127.0.0.1:8000": ("127.0.0.1", "http://127.0.0.1:8000", "an IP address"),
        "http://admin.example.com": ("admin.example.com", "http://admin.example.com", "HTTPS"),
    }
    for url, (rp_id, origin, problem) in cases.items():
        settings = Settings(public_url=url)
        rp = relying_party(settings)
        assert (rp.id, rp.origin) == (rp_id, origin), url
        found = relying_party_problem(settings)
        assert (found is None) if problem is None else (problem in str(found)), url


# --- registering ------------------------------------------------------------------------------


def test_registering_a_passkey_needs_the_password_turns_two_step_on_but_not_the_session(
    client: TestClient,
    org: Org,
    authenticator: SoftAuthenticator,
    sessions: sessionmaker[Session],
    settings: Settings,
) -> None:
    options = org.admin.post(
        "/me/passkeys/register/options", {"password": PASSWORD}, expect=200
    ).json()
    rp = relying_party(settings)
    assert options["rp"] == {"id": rp.id, "name": "Tenantry"}
    assert options["attestation"] == "none"
    assert options["user"]["name"] == org.admin_upn
    added = org.admin.post(
        "/me/passkeys/register/verify",
        {"name": "Work laptop", "credential": authenticator.create(options)},
        expect=201,
    ).json()
    assert added["name"] == "Work laptop" and added["last_used_at"] is None
    listed = org.admin.get("/me/passkeys").json()
    assert [p["id"] for p in listed["items"]] == [added["id"]] and listed["next_cursor"] is None
    me = org.admin.get("/me").json()
    assert me["mfa_enabled"] is True
    # The session that registered it is what it was: password only.
    assert me["second_factor"] == "none"
    assert not _token_row(sessions, org.admin).mfa
    assert _events(sessions, org.tenant_id, "auth.passkey_added")[-1].details["name"] == (
        "Work laptop"
    )
    # The user hears of it at once (a phished session and password must not add one unseen).
    assert f"A passkey was added to {org.admin_upn}" in _mail_to(sessions, org.admin_upn)
    # Two-step verification is on: the password alone no longer signs in.
    refused = _token(client, {"username": org.admin_upn, "password": PASSWORD})
    assert refused.status_code == 401 and refused.json()["type"].endswith("mfa-required")
    # The next options exclude the registered passkey (an authenticator says it has one).
    mfa = sign_in_with_passkey(client, org.admin_upn, authenticator)
    options2 = mfa.post("/me/passkeys/register/options", {"password": PASSWORD}, expect=200).json()
    held = [b64url(cred_id) for cred_id in authenticator.credentials]
    assert [c["id"] for c in options2["excludeCredentials"]] == held
    with pytest.raises(RuntimeError, match="InvalidStateError"):
        authenticator.create(options2)


def test_registering_without_the_password_is_refused_and_guesses_count(
    client: TestClient, org: Org, sessions: sessionmaker[Session]
) -> None:
    user_id = org.create_user()
    stolen = sign_in(client, org.users[user_id])  # a session someone holds, not the password
    stolen.post("/me/passkeys/register/options", {}, expect=422)
    wrong = stolen.post("/me/passkeys/register/options", {"password": "not-the-password-1"})
    assert wrong.status_code == 403 and wrong.json()["type"] == INVALID
    assert "Adding a passkey needs your current password" in wrong.json()["detail"]
    assert _failure_reasons(sessions, org.tenant_id)[-1] == "password (adding a passkey)"
    for _ in range(4):
        stolen.post("/me/passkeys/register/options", {"password": "not-the-password-1"}, expect=403)
    stolen.post("/me/passkeys/register/options", {"password": PASSWORD}, expect=429)
    # No challenge was ever issued, so there is nothing to answer.
    with sessions() as session:
        assert not session.scalars(
            select(WebAuthnChallenge).where(WebAuthnChallenge.user_id == uuid.UUID(user_id))
        ).all()


def test_a_registration_answer_must_fit_its_challenge_origin_user_and_session(
    client: TestClient, org: Org, authenticator: SoftAuthenticator, clock: FakeClock
) -> None:
    """From a session signed in with a factor (TOTP), which may add passkeys."""
    totp = pyotp.TOTP(enrol_mfa(org.admin, clock))

    def verify(api: Api, credential: dict[str, Any]) -> Any:
        return api.post(
            "/me/passkeys/register/verify", {"name": "K", "credential": credential}, expect=422
        ).json()["detail"]

    options = org.admin.post(
        "/me/passkeys/register/options", {"password": PASSWORD}, expect=200
    ).json()
    # A look-alike site's page relays the options; the browser reports its own origin.
    assert "origin" in verify(org.admin, authenticator.create(options, origin="https://evil.test"))
    # Signed for another RP id.
    assert "RP ID" in verify(org.admin, authenticator.create(options, rp_id="evil.test"))
    # A challenge the server never issued.
    assert "challenge" in verify(
        org.admin, authenticator.create(options, challenge=secrets.token_bytes(32))
    )
    # Another session of the same user can't finish it; another user neither.
    clock.advance(seconds=60)  # a time step not used yet
    other_session = sign_in(client, org.admin_upn, totp_code=totp.at(clock()))
    assert "another session" in verify(other_session, authenticator.create(options))
    stranger = org.user_api()
    assert "challenge" in verify(stranger, authenticator.create(options))
    # Not an answer at all.
    assert "not a WebAuthn registration" in verify(org.admin, {"id": "x"})
    # The right answer still works (refusals roll back and leave the challenge), once.
    answer = authenticator.create(options)
    org.admin.post("/me/passkeys/register/verify", {"name": "K", "credential": answer}, expect=201)
    replayed = org.admin.post(
        "/me/passkeys/register/verify", {"name": "K2", "credential": answer}, expect=422
    )
    assert "used already" in replayed.json()["detail"]
    assert len(org.admin.get("/me/passkeys").json()["items"]) == 1


def test_a_credential_registered_by_someone_else_is_refused(
    client: TestClient, org: Org, settings: Settings
) -> None:
    """Two accounts can't share one credential id: the second registration is a conflict, and
    the first owner's passkey is unchanged."""
    first = SoftAuthenticator(relying_party(settings).origin)
    add_passkey(org.admin, first)
    cred_id = next(iter(first.credentials))
    copycat = SoftAuthenticator(relying_party(settings).origin)
    other = org.user_api()
    options = other.post("/me/passkeys/register/options", {"password": PASSWORD}, expect=200)
    clash = other.post(
        "/me/passkeys/register/verify",
        {"name": "Mine", "credential": copycat.create(options.json(), credential_id=cred_id)},
        expect=409,
    )
    assert clash.json()["type"].endswith("passkey-registered")
    sign_in_with_passkey(client, org.admin_upn, first)


def test_a_temporary_password_registers_no_passkey(
    client: TestClient, org: Org, authenticator: SoftAuthenticator
) -> None:
    """Whoever set a temporary password (an administrator's reset) knows it: a passkey added
    with it would stay theirs. A registration begun before the reset is not finished after it,
    from the new session either."""
    user_id = org.create_user()
    upn = org.users[user_id]
    user = sign_in(client, upn)
    begun = user.post("/me/passkeys/register/options", {"password": PASSWORD}, expect=200).json()
    temporary = org.admin.post(f"{org.base}/users/{user_id}/reset-password", expect=200).json()[
        "temporary_password"
    ]
    user.post(
        "/me/passkeys/register/verify",
        {"name": "K", "credential": authenticator.create(begun)},
        expect=401,
    )  # its session ended with the reset
    holder = sign_in(client, upn, temporary)
    refused = holder.post("/me/passkeys/register/options", {"password": temporary}, expect=403)
    assert refused.json()["type"] == "urn:tenantry:problem:password-change-required"
    holder.post(
        "/me/passkeys/register/verify",
        {"name": "K", "credential": authenticator.create(begun)},
        expect=403,
    )
    own = "Own-Password-Chosen-8"
    holder.post("/me/password", {"current_password": temporary, "new_password": own}, expect=204)
    late = holder.post(
        "/me/passkeys/register/verify",
        {"name": "K", "credential": authenticator.create(begun)},
        expect=422,
    )
    assert "challenge" in late.json()["detail"]
    assert holder.get("/me").json()["mfa_enabled"] is False
    add_passkey(holder, SoftAuthenticator(authenticator.origin), password=own)
    assert holder.get("/me").json()["mfa_enabled"] is True


def test_a_password_only_session_adds_no_factor_to_an_account_that_has_one(
    client: TestClient, org: Org, authenticator: SoftAuthenticator, clock: FakeClock
) -> None:
    """A session begun before two-step verification was turned on, plus the password (a thief
    with both), can't add a key of its own; a session signed in with the factor can."""
    old_session = sign_in(client, org.admin_upn)
    secret = enrol_mfa(org.admin, clock)  # org.admin now holds a TOTP-proven session
    refused = old_session.post("/me/passkeys/register/options", {"password": PASSWORD})
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:tenantry:problem:mfa-session-required"
    add_passkey(org.admin, authenticator)
    # Both factors now work for signing in.
    sign_in_with_passkey(client, org.admin_upn, authenticator)
    clock.advance(seconds=60)
    sign_in(client, org.admin_upn, totp_code=pyotp.TOTP(secret).at(clock()))


def test_an_account_holds_a_bounded_number_of_passkeys(
    client: TestClient, org: Org, authenticator: SoftAuthenticator
) -> None:
    add_passkey(org.admin, authenticator, "first")
    mfa = sign_in_with_passkey(client, org.admin_upn, authenticator)
    for n in range(9):
        add_passkey(mfa, SoftAuthenticator(authenticator.origin), f"key {n}")
    full = mfa.post("/me/passkeys/register/options", {"password": PASSWORD}, expect=409)
    assert full.json()["type"].endswith("too-many-passkeys")


# --- signing in ------------------------------------------------------------------------------


def test_signing_in_with_a_passkey_gives_a_token_proven_by_it(
    client: TestClient,
    org: Org,
    authenticator: SoftAuthenticator,
    sessions: sessionmaker[Session],
) -> None:
    add_passkey(org.admin, authenticator)
    api = sign_in_with_passkey(client, org.admin_upn, authenticator)
    row = _token_row(sessions, api)
    assert row.mfa and row.second_factor == "passkey"
    assert api.get("/me").json()["second_factor"] == "passkey"
    event = _events(sessions, org.tenant_id, "auth.sign_in")[-1]
    assert event.outcome == "success" and event.details["second_factor"] == "passkey"
    used = api.get("/me/passkeys").json()["items"][0]
    assert used["last_used_at"] is not None
    # A passkey's answer without the password (or with a wrong one) proves nothing.
    assertion = authenticator.get(passkey_options(client, org.admin_upn))
    for password in ("not-the-password-1", ""):
        body = {"username": org.admin_upn, "password": password, "passkey": assertion}
        assert _token(client, body).status_code in (401, 422)
    # The password is checked first: the options are the wrong password's 401 too.
    wrong = Api(client).post(
        "/auth/passkey/options", {"username": org.admin_upn, "password": "not-it-at-all"}
    )
    assert wrong.status_code == 401 and wrong.json()["type"] == INVALID


def test_passkey_options_never_tell_whether_a_user_exists(
    client: TestClient, org: Org, sessions: sessionmaker[Session]
) -> None:
    unknown = Api(client).post(
        "/auth/passkey/options",
        {"username": f"nobody@{org.domain}", "password": "not-the-password-1"},
    )
    known = Api(client).post(
        "/auth/passkey/options", {"username": org.admin_upn, "password": "not-the-password-1"}
    )
    assert unknown.status_code == known.status_code == 401

    def shape(response: Any) -> dict[str, Any]:
        return {k: v for k, v in response.json().items() if k != "instance"}

    assert shape(unknown) == shape(known)
    token = _token(client, {"username": org.admin_upn, "password": "not-the-password-1"})
    assert shape(token) == shape(known)
    # With the right password, an account without a passkey is told so (it proved itself).
    none = Api(client).post(
        "/auth/passkey/options", {"username": org.admin_upn, "password": PASSWORD}
    )
    assert none.status_code == 409 and none.json()["type"].endswith("no-passkey")


def test_guesses_through_passkey_options_count_in_the_throttle(
    client: TestClient, org: Org
) -> None:
    upn = org.users[org.create_user()]
    for _ in range(5):
        Api(client).post(
            "/auth/passkey/options", {"username": upn, "password": "not-the-password-1"}, expect=401
        )
    Api(client).post("/auth/passkey/options", {"username": upn, "password": PASSWORD}, expect=429)
    assert _token(client, {"username": upn, "password": PASSWORD}).status_code == 429


def test_wrong_origin_rp_challenge_and_replays_are_refused(
    client: TestClient,
    org: Org,
    authenticator: SoftAuthenticator,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    add_passkey(org.admin, authenticator)
    upn = org.admin_upn

    def refused(assertion: dict[str, Any], reason: str) -> None:
        body = {"username": upn, "password": PASSWORD, "passkey": assertion}
        response = _token(client, body)
        assert response.status_code == 401 and response.json()["type"] == INVALID, response.text
        assert reason in _failure_reasons(sessions, org.tenant_id)[-1]

    options = passkey_options(client, upn)
    # A phishing page relays the sign-in: the browser signs its own origin, which never counts.
    refused(authenticator.get(options, origin="https://tenantry.evil.test"), "origin")
    refused(authenticator.get(options, rp_id="evil.test"), "RP ID")
    # A challenge the server never issued (or one issued to nobody).
    refused(authenticator.get(options, challenge=secrets.token_bytes(32)), "challenge")
    # A signature by another key, under this passkey's id, over the right challenge.
    genuine = next(iter(authenticator.credentials.values()))
    impostor = Credential(genuine.id, ec.generate_private_key(ec.SECP256R1()), genuine.rp_id, b"")
    impostor.user_handle = genuine.user_handle
    refused(authenticator.get(options, credential=impostor, sign_count=99), "signature")
    # The same options answered properly: accepted once (refusals left the challenge unspent).
    good = authenticator.get(options)
    _token(client, {"username": upn, "password": PASSWORD, "passkey": good}).raise_for_status()
    # Replayed: the same answer, and a fresh signature over the spent challenge.
    refused(good, "challenge")
    refused(authenticator.get(options), "challenge")
    # An expired challenge.
    late = passkey_options(client, upn)
    with sessions.begin() as session:
        for row in session.scalars(select(WebAuthnChallenge)):
            row.expires_at = row.created_at
    refused(authenticator.get(late), "challenge")
    # The sweeper forgets expired challenges (a user's own are forgotten when it asks again).
    sweep(sessions, settings, clock)
    with sessions() as session:
        assert not session.scalars(
            select(WebAuthnChallenge).where(WebAuthnChallenge.expires_at <= clock())
        ).all()


def test_a_counter_going_backwards_is_a_clone_refused_and_audited(
    client: TestClient,
    org: Org,
    authenticator: SoftAuthenticator,
    sessions: sessionmaker[Session],
) -> None:
    add_passkey(org.admin, authenticator)
    upn = org.admin_upn
    sign_in_with_passkey(client, upn, authenticator, sign_count=5)
    for count in (3, 5):  # lower, then equal: a second copy of the key signed
        body = {
            "username": upn,
            "password": PASSWORD,
            "passkey": authenticator.get(passkey_options(client, upn), sign_count=count),
        }
        assert _token(client, body).status_code == 401
        clone = _events(sessions, org.tenant_id, "auth.passkey_clone_suspected")[-1]
        assert clone.outcome == "failure"
        assert clone.details["sign_count"] == count and clone.details["stored_sign_count"] == 5
    assert "counter went backwards" in _failure_reasons(sessions, org.tenant_id)[-1]
    sign_in_with_passkey(client, upn, authenticator, sign_count=6)
    # A key that keeps no counter (0 every time) is fine while it stays 0.
    other = org.user_api()
    other_upn = other.get("/me").json()["user_principal_name"]
    synced = SoftAuthenticator(authenticator.origin, counts=False)
    add_passkey(other, synced)
    for _ in range(2):
        sign_in_with_passkey(client, other_upn, synced)


def test_another_users_passkey_does_not_sign_in(
    client: TestClient, org: Org, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """Mallory has a passkey of her own and Alice's password: her key answers Alice's options,
    and her answer to her own options is sent as Alice's. Both refused."""
    origin = relying_party(settings).origin
    alice = org.user_api()
    alice_upn = alice.get("/me").json()["user_principal_name"]
    add_passkey(alice, SoftAuthenticator(origin))
    mallory = org.user_api()
    mallory_upn = mallory.get("/me").json()["user_principal_name"]
    mallorys_key = SoftAuthenticator(origin)
    add_passkey(mallory, mallorys_key)
    own = next(iter(mallorys_key.credentials.values()))
    for options in (passkey_options(client, alice_upn), passkey_options(client, mallory_upn)):
        answer = mallorys_key.get(options, credential=own)
        body = {"username": alice_upn, "password": PASSWORD, "passkey": answer}
        assert _token(client, body).status_code == 401
    assert "not one of this user's" in _failure_reasons(sessions, org.tenant_id)[-1]


@pytest.fixture
def unthrottled(database_url: str, tmp_path: Any, clock: FakeClock) -> Any:
    """An app whose throttle never trips, so that replays are refused for what they are."""
    with app_with(database_url, tmp_path, clock, throttle_account_failures=100_000) as client:
        yield client


def test_parallel_answers_with_one_challenge_sign_in_once(
    unthrottled: TestClient, authenticator: SoftAuthenticator
) -> None:
    client = unthrottled
    org = make_org(client)
    add_passkey(org.admin, authenticator)
    upn = org.admin_upn
    options = passkey_options(client, upn)
    # Ten different good answers (the counter rising) to one challenge, sent at once.
    answers = [authenticator.get(options) for _ in range(10)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = sorted(
            pool.map(
                lambda a: (
                    _token(
                        client, {"username": upn, "password": PASSWORD, "passkey": a}
                    ).status_code
                ),
                answers,
            )
        )
    assert codes == [200] + [401] * 9, codes


def test_totp_sign_in_is_unchanged_and_recorded_as_totp(
    client: TestClient, org: Org, clock: FakeClock, sessions: sessionmaker[Session]
) -> None:
    secret = enrol_mfa(org.admin, clock)
    row = _token_row(sessions, org.admin)
    assert row.mfa and row.second_factor == "totp"
    clock.advance(seconds=60)
    api = sign_in(client, org.admin_upn, totp_code=pyotp.TOTP(secret).at(clock()))
    assert api.get("/me").json()["second_factor"] == "totp"
    # A TOTP account has no passkey to answer with.
    none = Api(client).post(
        "/auth/passkey/options", {"username": org.admin_upn, "password": PASSWORD}
    )
    assert none.status_code == 409


# --- removing ---------------------------------------------------------------------------------


def test_removing_a_passkey_needs_a_multi_factor_session_and_the_password(
    client: TestClient,
    org: Org,
    authenticator: SoftAuthenticator,
    other_org: Org,
    sessions: sessionmaker[Session],
) -> None:
    added = add_passkey(org.admin, authenticator)
    path = f"/me/passkeys/{added['id']}"
    # The session that added it is password-only: it can't take the factor away again.
    refused = org.admin.delete(path, json={"password": PASSWORD}, expect=403)
    assert refused.json()["type"] == "urn:tenantry:problem:mfa-session-required"
    mfa = sign_in_with_passkey(client, org.admin_upn, authenticator)
    mfa.delete(path, expect=422)
    wrong = mfa.delete(path, json={"password": "not-the-password-1"}, expect=403)
    assert wrong.json()["type"] == INVALID
    # Someone else's passkey does not exist for you, whoever you are.
    stranger = other_org.admin
    other_key = SoftAuthenticator(authenticator.origin)
    add_passkey(stranger, other_key)
    stranger_mfa = sign_in_with_passkey(client, other_org.admin_upn, other_key)
    stranger_mfa.delete(path, json={"password": PASSWORD}, expect=404)
    stranger_mfa.delete(f"/me/passkeys/{uuid.uuid4()}", json={"password": PASSWORD}, expect=404)
    assert len(mfa.get("/me/passkeys").json()["items"]) == 1
    # The owner, with both: gone, and with it (the only factor) two-step verification.
    mfa.delete(path, json={"password": PASSWORD}, expect=204)
    assert mfa.get("/me/passkeys").json()["items"] == []
    assert mfa.get("/me").json()["mfa_enabled"] is False
    assert f"A passkey was removed from {org.admin_upn}" in _mail_to(sessions, org.admin_upn)
    removed = _events(sessions, org.tenant_id, "auth.passkey_removed")[-1]
    assert removed.details["passkey_id"] == added["id"]
    assert removed.details["mfa_enabled"] is False
    sign_in(client, org.admin_upn)


# --- recovery ---------------------------------------------------------------------------------


def test_an_admins_reset_removes_passkeys_audited(
    client: TestClient,
    org: Org,
    authenticator: SoftAuthenticator,
    sessions: sessionmaker[Session],
) -> None:
    user_id = org.create_user()
    upn = org.users[user_id]
    user = sign_in(client, upn)
    add_passkey(user, authenticator)
    add_passkey(
        sign_in_with_passkey(client, upn, authenticator),
        SoftAuthenticator(authenticator.origin),
        "b",
    )
    reset = org.admin.post(f"{org.base}/users/{user_id}/reset-mfa", expect=200).json()
    assert reset["mfa_enabled"] is False
    user.get("/me", expect=401)
    event = _events(sessions, org.tenant_id, "user.reset_mfa")[-1]
    assert event.details["passkeys_removed"] == 2
    with sessions() as session:
        assert not session.scalars(
            select(Passkey).where(Passkey.user_id == uuid.UUID(user_id))
        ).all()
    fresh = sign_in(client, upn)  # the password alone again, then enrol anew
    assert fresh.get("/me/passkeys").json()["items"] == []


@pytest.fixture
def cli_env(database_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENANTRY_DATABASE_URL", database_url)
    monkeypatch.setenv("TENANTRY_DATA_DIR", str(tmp_path))


def test_the_operator_resets_passkeys_by_cli(
    cli_env: None,
    client: TestClient,
    org: Org,
    authenticator: SoftAuthenticator,
    sessions: sessionmaker[Session],
) -> None:
    add_passkey(org.admin, authenticator)
    done = CliRunner().invoke(cli_app, ["user", "reset-mfa", org.admin_upn])
    assert done.exit_code == 0, done.output
    assert sign_in(client, org.admin_upn).get("/me/passkeys").json()["items"] == []
    event = _events(sessions, org.tenant_id, "user.reset_mfa")[-1]
    assert event.details == {"upn": org.admin_upn, "by": "operator", "passkeys_removed": 1}
