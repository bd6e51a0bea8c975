"""Two `tenantry serve` processes on one database behave as one system."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pyotp
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.directory import tenants
from tenantry.partners import enrolment as partners
from tests.conftest import PASSWORD, unique_label
from tests.operations.servers import serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_servers(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    with serving(database_url, tmp_path_factory.mktemp("serve")) as (a, b):
        yield a.url, b.url


def token(base: str, username: str, password: str = PASSWORD) -> str:
    response = httpx.post(
        f"{base}/api/v1/auth/token", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def call(method: str, base: str, path: str, bearer: str, **kwargs: object) -> httpx.Response:
    return httpx.request(
        method, f"{base}/api/v1{path}", headers={"Authorization": f"Bearer {bearer}"}, **kwargs
    )  # type: ignore[arg-type]


def test_disable_and_revoke_on_one_are_denied_on_the_other(two_servers: tuple[str, str]) -> None:
    a, b = two_servers
    label = unique_label()
    signup = httpx.post(
        f"{a}/api/v1/signup",
        json={"organization_name": "Two", "initial_domain": label, "admin_password": PASSWORD},
    )
    assert signup.status_code == 201, signup.text
    tid, admin_upn = signup.json()["tenant_id"], signup.json()["admin_user_principal_name"]
    admin_on_a = token(a, admin_upn)
    user = call(
        "POST",
        a,
        f"/tenants/{tid}/users",
        admin_on_a,
        json={
            "user_principal_name": f"amy@{label}.tenantry.test",
            "display_name": "Amy",
            "password": PASSWORD,
            "must_change_password": False,
        },
    ).json()

    user_on_b = token(b, f"amy@{label}.tenantry.test")
    assert call("GET", b, "/me", user_on_b).status_code == 200
    disabled = call(
        "PATCH", a, f"/tenants/{tid}/users/{user['id']}", admin_on_a, json={"enabled": False}
    )
    assert disabled.status_code == 200
    assert call("GET", b, "/me", user_on_b).status_code == 401

    admin_on_b = token(b, admin_upn)
    assert call("GET", a, f"/tenants/{tid}", admin_on_b).status_code == 200
    assert call("POST", b, "/auth/logout", admin_on_b).status_code == 204
    assert call("GET", a, f"/tenants/{tid}", admin_on_b).status_code == 401
    assert call("GET", a, f"/tenants/{tid}", admin_on_a).status_code == 200


def test_a_removed_partner_is_denied_on_the_other_process(
    two_servers: tuple[str, str], sessions: sessionmaker[Session], settings: Settings
) -> None:
    a, b = two_servers

    def signup(name: str) -> tuple[str, str, str]:
        label = unique_label()
        body = httpx.post(
            f"{a}/api/v1/signup",
            json={"organization_name": name, "initial_domain": label, "admin_password": PASSWORD},
        ).json()
        return body["tenant_id"], body["admin_user_principal_name"], label

    partner_id, partner_upn, _ = signup("Partner")
    customer_id, customer_upn, _ = signup("Customer")
    with sessions.begin() as session:
        ctx = Context(session=session, settings=settings)
        partners.enroll(ctx, tenants.find_tenant(ctx, partner_id))
    partner_on_a = token(a, partner_upn)
    secret = call("POST", a, "/me/mfa/totp", partner_on_a, json={"password": PASSWORD}).json()[
        "secret"
    ]
    totp = pyotp.TOTP(secret)
    confirmed = call("POST", a, "/me/mfa/totp/confirm", partner_on_a, json={"code": totp.now()})
    assert confirmed.status_code == 200
    # Enrolling leaves the token password-only: sign in again with the next code.
    signed_in = httpx.post(
        f"{a}/api/v1/auth/token",
        json={
            "username": partner_upn,
            "password": PASSWORD,
            "totp_code": totp.at(time.time(), counter_offset=1),
        },
    )
    assert signed_in.status_code == 200, signed_in.text
    partner_on_a = signed_in.json()["access_token"]
    offer = call("POST", a, "/partner/offers", partner_on_a, json={}).json()
    customer_on_a = token(a, customer_upn)
    relationship = call("POST", a, f"/offers/{offer['token']}/accept", customer_on_a).json()

    # The partner admin (an Admin agent, MFA on) works in the customer through server B...
    assert call("GET", b, f"/tenants/{customer_id}/users", partner_on_a).status_code == 200
    removed = call(
        "DELETE",
        a,
        f"/tenants/{customer_id}/partner-relationships/{relationship['id']}",
        customer_on_a,
    )
    assert removed.status_code == 204
    # ...and is refused there at the very next request once the customer removed it on A.
    assert call("GET", b, f"/tenants/{customer_id}/users", partner_on_a).status_code == 404


def test_an_api_clients_token_dies_on_the_other_process_when_it_is_disabled_or_deleted(
    two_servers: tuple[str, str],
) -> None:
    """An app gets its token from server B; its organisation disables, then deletes it on
    server A: B refuses the token at the very next request (tokens are looked up with their
    client on every request, never cached)."""
    a, b = two_servers
    label = unique_label()
    signup = httpx.post(
        f"{a}/api/v1/signup",
        json={"organization_name": "Apps", "initial_domain": label, "admin_password": PASSWORD},
    ).json()
    tid, admin = signup["tenant_id"], token(a, signup["admin_user_principal_name"])
    made = call(
        "POST",
        a,
        f"/tenants/{tid}/api-clients",
        admin,
        json={"name": "Sync", "roles": ["global_reader"]},
    ).json()

    def app_token() -> str:
        # Loopback: plain HTTP is accepted (Authlib's rule for the token endpoint).
        issued = httpx.post(
            f"{b}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(made["client_id"], made["client_secret"]),
        )
        assert issued.status_code == 200, issued.text
        return str(issued.json()["access_token"])

    app = app_token()
    assert call("GET", b, f"/tenants/{tid}/users", app).status_code == 200
    assert (
        call(
            "PATCH", a, f"/tenants/{tid}/api-clients/{made['id']}", admin, json={"enabled": False}
        ).status_code
        == 200
    )
    assert call("GET", b, f"/tenants/{tid}/users", app).status_code == 401
    call("PATCH", a, f"/tenants/{tid}/api-clients/{made['id']}", admin, json={"enabled": True})
    app = app_token()
    assert call("GET", b, f"/tenants/{tid}/users", app).status_code == 200
    assert call("DELETE", a, f"/tenants/{tid}/api-clients/{made['id']}", admin).status_code == 204
    assert call("GET", b, f"/tenants/{tid}/users", app).status_code == 401


def signed_in_with_code(base: str, upn: str, totp: pyotp.TOTP, step: int) -> str:
    """A sign-in proving a TOTP code (``step``: time steps ahead, as each code is single-use)."""
    response = httpx.post(
        f"{base}/api/v1/auth/token",
        json={
            "username": upn,
            "password": PASSWORD,
            "totp_code": totp.at(time.time(), counter_offset=step),
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def enrolled(base: str, upn: str) -> str:
    """A bearer token of ``upn`` signed in with a second factor it just enrolled."""
    password_only = token(base, upn)
    secret = call("POST", base, "/me/mfa/totp", password_only, json={"password": PASSWORD})
    totp = pyotp.TOTP(secret.json()["secret"])
    confirmed = call("POST", base, "/me/mfa/totp/confirm", password_only, json={"code": totp.now()})
    assert confirmed.status_code == 200, confirmed.text
    return signed_in_with_code(base, upn, totp, 1)


def test_an_activation_ended_on_one_process_is_refused_at_the_next_request_on_the_other(
    two_servers: tuple[str, str], sessions: sessionmaker[Session], settings: Settings
) -> None:
    """An agent's just-in-time User Administrator, live through server B; the customer ends
    it on server A; B refuses the agent's very next request (no cache, no sweeper)."""
    a, b = two_servers

    def signup(name: str) -> tuple[str, str, str]:
        label = unique_label()
        body = httpx.post(
            f"{a}/api/v1/signup",
            json={"organization_name": name, "initial_domain": label, "admin_password": PASSWORD},
        ).json()
        return body["tenant_id"], body["admin_user_principal_name"], label

    partner_id, partner_upn, partner_label = signup(f"On-call partner {unique_label()}")
    customer_id, customer_upn, customer_label = signup("Customer")
    with sessions.begin() as session:
        ctx = Context(session=session, settings=settings)
        partners.enroll(ctx, tenants.find_tenant(ctx, partner_id))
    admin = enrolled(a, partner_upn)
    roles = ["global_reader", "user_administrator"]
    offer = call("POST", a, "/partner/offers", admin, json={"roles": roles}).json()
    customer = token(a, customer_upn)
    relationship = call("POST", a, f"/offers/{offer['token']}/accept", customer).json()
    agent_upn = f"oncall@{partner_label}.tenantry.test"
    agent_user = call(
        "POST",
        a,
        f"/tenants/{partner_id}/users",
        admin,
        json={
            "user_principal_name": agent_upn,
            "display_name": "On call",
            "password": PASSWORD,
            "must_change_password": False,
        },
    ).json()
    group = call("POST", a, f"/tenants/{partner_id}/groups", admin, json={"name": "On call"})
    gid = group.json()["id"]
    added = call(
        "POST",
        a,
        f"/tenants/{partner_id}/groups/{gid}/members",
        admin,
        json={"user_id": agent_user["id"]},
    )
    assert added.status_code == 201, added.text
    assigned = call(
        "POST",
        a,
        f"/partner/relationships/{relationship['id']}/access-assignments",
        admin,
        json={
            "group_id": gid,
            "roles": ["global_reader"],
            "eligible_roles": ["user_administrator"],
        },
    )
    assert assigned.status_code == 201, assigned.text
    agent = enrolled(b, agent_upn)

    def new_user(number: int) -> httpx.Response:
        return call(
            "POST",
            b,
            f"/tenants/{customer_id}/users",
            agent,
            json={
                "user_principal_name": f"starter{number}@{customer_label}.tenantry.test",
                "display_name": f"Starter {number}",
            },
        )

    assert new_user(1).status_code == 403  # eligible, not active
    activation = call(
        "POST",
        b,
        "/partner/activations",
        agent,
        json={
            "relationship_id": relationship["id"],
            "role": "user_administrator",
            "minutes": 60,
            "justification": "New starters today",
        },
    )
    assert activation.status_code == 201, activation.text
    assert activation.json()["status"] == "active"
    assert new_user(2).status_code == 201
    ended = call(
        "POST",
        a,
        f"/tenants/{customer_id}/partner-activations/{activation.json()['id']}/end",
        customer,
    )
    assert ended.status_code == 200, ended.text
    refused = new_user(3)
    assert refused.status_code == 403
    assert "users.create" in refused.json()["detail"]
