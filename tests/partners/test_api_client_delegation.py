"""A partner's API client administers customers on behalf, under the decision of an agent of
its groups: allowed by the access assignment, refused beyond it, never Global Administrator;
the customer's log names it "app N of partner P"; it never reaches the customers' customers,
nor the partner programme, nor the customers' own clients."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from joserfc.jwk import ECKey
from sqlalchemy.orm import Session, sessionmaker

from tenantry.access.roles import Role
from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.core.db import transaction
from tenantry.directory import tenants
from tenantry.partners import enrolment as partners
from tests.conftest import (
    Api,
    FakeClock,
    Org,
    Partner,
    accepted,
    make_org,
    make_partner,
    sign_in,
)
from tests.identity.test_client_tokens import assertion, get_token, jwt_token
from tests.partners.test_api_clients import group_ids


def app_of(partner: Partner, groups: list[str], name: str = "Ops") -> tuple[dict, Api]:
    """A client of the partner in these groups (by name), with a token."""
    by_name = group_ids(partner.org)
    made = partner.admin.post(
        "/partner/api-clients",
        {"name": name, "group_ids": [by_name[g] for g in groups]},
        expect=201,
    ).json()
    issued = get_token(partner.org.client, made["client_id"], made["client_secret"])
    assert issued.status_code == 200, issued.text
    return made, Api(partner.org.client, issued.json()["access_token"])


def partner_name(partner: Partner) -> str:
    return str(partner.admin.get(partner.org.base).json()["name"])


def test_a_helpdesk_client_does_what_the_assignment_allows_and_is_named_in_the_log(
    partner: Partner, org: Org
) -> None:
    relationship = accepted(partner, org)  # classic: Admin agents GA, Helpdesk agents PA
    made, app = app_of(partner, ["Helpdesk agents"], "Password desk")
    plain = org.create_user()
    app.post(f"{org.base}/users/{plain}/reset-password", expect=200)
    beyond = app.post(
        f"{org.base}/users",
        {"user_principal_name": f"x@{org.domain}", "display_name": "X"},
        expect=403,
    )
    assert beyond.json()["detail"].startswith("Denied: users.create")
    # Limited administration never escalates: not a Global Administrator's password.
    app.post(f"{org.base}/users/{org.admin_id}/reset-password", expect=403)

    name = f"app 'Password desk' of partner {partner_name(partner)}"
    events = org.admin.get(f"{org.base}/audit-events?actor={name}").json()["items"]
    assert [e["action"] for e in events][:3] == [
        "access.denied",
        "access.denied",
        "user.reset_password",
    ]
    done = events[2]
    assert done["actor"]["client_name"] == name and done["actor"]["client_id"] == made["id"]
    assert done["actor"]["tenant_id"] == partner.org.tenant_id
    assert done["partner_tenant_id"] == partner.org.tenant_id
    assert done["relationship_id"] == relationship["id"]
    # The partner sees what its app did, across customers.
    seen = partner.admin.get("/partner/audit-events").json()["items"]
    assert any(e["actor"]["client_id"] == made["id"] for e in seen)
    # And lists the customers it may administer, like an agent.
    listed = app.get("/partner/customers").json()["items"]
    assert [c["tenant_id"] for c in listed] == [org.tenant_id]


def test_a_client_in_the_admin_agents_group_never_acts_as_global_administrator(
    partner: Partner, org: Org
) -> None:
    accepted(partner, org)
    _, app = app_of(partner, ["Admin agents"], "Full power?")
    for method, path, body in (
        ("GET", f"{org.base}/users", None),
        (
            "POST",
            f"{org.base}/users",
            {"user_principal_name": f"y@{org.domain}", "display_name": "Y"},
        ),
        (
            "POST",
            f"{org.base}/role-assignments",
            {"role": "global_reader", "user_id": org.admin_id},
        ),
        ("PATCH", org.base, {"phone": "+1 555 0199"}),
    ):
        refused = app.request(method, path, 403, **({"json": body} if body else {}))
        assert "API clients never hold Global Administrator" in refused.json()["detail"], path
    # Also at home: its group holds nothing else there, and it can't run the programme.
    home = app.get("/partner/offers", expect=403).json()
    assert "partner.manage" in home["detail"]
    app.get("/partner/api-clients", expect=403)
    app.post("/partner/offers", {}, expect=403)
    # What it may do is explained, never hidden.
    explained = partner.admin.get(f"/partner/customers/{org.tenant_id}/access").json()
    assert explained  # the partner admin's own view is unchanged


def test_a_client_with_narrower_roles_works_where_its_assignment_gives_them(
    partner: Partner, org: Org
) -> None:
    relationship = accepted(partner, org, {"roles": ["user_administrator", "global_administrator"]})
    group = partner.admin.post(
        f"{partner.org.base}/groups", {"name": "Provisioning"}, expect=201
    ).json()
    partner.admin.post(
        f"/partner/relationships/{relationship['id']}/access-assignments",
        {"group_id": group["id"], "roles": ["user_administrator", "global_administrator"]},
        expect=201,
    )
    _, app = app_of(partner, ["Provisioning"], "Provisioner")
    app.post(
        f"{org.base}/users",
        {"user_principal_name": f"new@{org.domain}", "display_name": "New"},
        expect=201,
    )
    refused = app.post(
        f"{org.base}/role-assignments",
        {"role": "global_reader", "user_id": org.admin_id},
        expect=403,
    )
    assert "API clients never hold Global Administrator" in refused.json()["detail"]
    # The customer removes the partner: the app's next request is refused.
    org.admin.delete(f"{org.base}/partner-relationships/{relationship['id']}")
    app.get(f"{org.base}/users", expect=404)


def test_a_partner_client_never_reaches_customers_customers_nor_their_clients(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, clock: FakeClock
) -> None:
    """Fabrikam administers Litware (itself a partner, of Adatum) with Full administration
    except Global Administrator: Fabrikam's app reaches Litware only, and never Litware's
    programme, Litware's own clients or Adatum."""
    fabrikam = make_partner(client, sessions, settings, clock, "Fabrikam")
    litware = make_partner(client, sessions, settings, clock, "Litware")
    adatum = make_org(client, "Adatum")
    accepted(litware, adatum)
    link = accepted(fabrikam, litware.org, {"roles": ["user_administrator", "global_reader"]})
    helpdesk = group_ids(fabrikam.org)["Helpdesk agents"]
    fabrikam.admin.post(
        f"/partner/relationships/{link['id']}/access-assignments",
        {"group_id": helpdesk, "roles": ["user_administrator", "global_reader"]},
        expect=201,
    )
    _, app = app_of(fabrikam, ["Helpdesk agents"])
    app.get(f"{litware.org.base}/users")  # allowed: its customer
    app.get(f"{adatum.base}/users", expect=404)  # the customer's customer: does not exist
    unrelated = make_org(client, "Northwind")
    app.get(f"{unrelated.base}/users", expect=404)
    theirs = litware.admin.post(
        f"{litware.org.base}/api-clients",
        {"name": "Litware's", "roles": ["global_reader"]},
        expect=201,
    ).json()
    app.get(f"{litware.org.base}/api-clients", expect=403)
    app.post(
        f"{litware.org.base}/api-clients",
        {"name": "Implant", "roles": ["global_reader"]},
        expect=403,
    )
    app.patch(f"{litware.org.base}/api-clients/{theirs['id']}", {"name": "Pwned"}, expect=403)
    # Litware's agent groups stay closed to it (a partner's programme is never delegated).
    groups: dict[str, Any] = group_ids(litware.org)
    mole = app.post(
        f"{litware.org.base}/users",
        {"user_principal_name": f"mole@{litware.org.domain}", "display_name": "Mole"},
        expect=201,
    ).json()["id"]
    app.post(
        f"{litware.org.base}/groups/{groups['Admin agents']}/members", {"user_id": mole}, expect=403
    )


def test_unenrolling_a_partner_disables_its_clients_and_ends_their_tokens(
    partner: Partner, org: Org, sessions: sessionmaker[Session], settings: Settings
) -> None:
    """A former partner has no Partner center to manage its apps in: they are disabled with
    their tokens (even at home, where their groups may hold roles)."""
    accepted(partner, org)
    made, app = app_of(partner, ["Helpdesk agents"])
    app.get("/partner/customers")
    with transaction(sessions) as session:
        ctx = Context(session=session, settings=settings)
        partners.unenroll(ctx, tenants.find_tenant(ctx, partner.org.tenant_id))
    app.get("/partner/customers", expect=401)
    app.get(f"{partner.org.base}", expect=401)
    again = get_token(partner.org.client, made["client_id"], made["client_secret"])
    assert again.status_code == 401 and "disabled" in again.json()["error_description"]
    event = partner.admin.get(f"{partner.org.base}/audit-events?action=partner.unenroll").json()
    assert event["items"][0]["details"]["api_clients_disabled"] == 1


def test_a_partner_requiring_phishing_resistance_takes_keys_not_secrets_and_apps_never_activate(
    partner: Partner, org: Org, clock: FakeClock
) -> None:
    """Where the partner requires phishing-resistant sign-ins of its agents, an app proving
    itself with a secret (which can be copied) is held back on behalf, with the reason; one
    with a registered key (private_key_jwt) acts. Activations are a person's: an app can't
    ask for one, whatever its groups."""
    relationship = accepted(partner, org)
    _, with_secret = app_of(partner, ["Helpdesk agents"], "Secret desk")
    key = ECKey.generate_key("P-256")
    by_name = group_ids(partner.org)
    keyed = partner.admin.post(
        "/partner/api-clients",
        {
            "name": "Key desk",
            "group_ids": [by_name["Helpdesk agents"]],
            "public_jwk": key.as_dict(private=False),
        },
        expect=201,
    ).json()
    issued = jwt_token(partner.org.client, assertion(key, keyed["client_id"], clock))
    assert issued.status_code == 200, issued.text
    with_key = Api(partner.org.client, issued.json()["access_token"])
    plain = org.create_user()
    partner.admin.request(
        "PATCH", "/partner/settings", 200, json={"require_phishing_resistant_mfa": True}
    )
    held = with_secret.post(f"{org.base}/users/{plain}/reset-password", expect=403).json()
    assert "proves itself with a secret" in held["detail"]
    with_key.post(f"{org.base}/users/{plain}/reset-password", expect=200)
    body = {
        "relationship_id": relationship["id"],
        "role": "global_reader",
        "minutes": 60,
        "justification": "nightly job",
    }
    refused = with_key.post("/partner/activations", body, expect=403).json()
    assert refused["type"] == "urn:tenantry:problem:user-required"


def test_a_sign_in_that_may_not_act_on_behalf_mints_no_app_that_does(
    partner: Partner, org: Org, clock: FakeClock
) -> None:
    """An app counts as multi-factor (and, with a key, as phishing-resistant), so making or
    arming a partner's app is acting on behalf at one remove: it needs a sign-in that could
    act on behalf itself. Otherwise a partner admin's password alone (no second factor), or a
    TOTP session relayed by a look-alike page where the partner requires passkeys, mints an
    app that administers every customer the agents do."""
    accepted(partner, org)  # classic: Helpdesk agents hold Password Administrator
    plain = org.create_user()
    helpdesk = group_ids(partner.org)["Helpdesk agents"]
    # A Global Administrator of the partner signed in with its password only: as an agent it
    # acts nowhere (no second factor), so it mints no app that does.
    admin_id = partner.org.create_user(roles=(Role.GLOBAL_ADMINISTRATOR,))
    password_only = sign_in(partner.org.client, partner.org.users[admin_id])
    refused = password_only.post(
        "/partner/api-clients", {"name": "Side door", "group_ids": [helpdesk]}, expect=403
    ).json()
    assert "second factor" in refused["detail"] or "multi-factor" in refused["detail"]
    # Nor arms one made by someone else: a new secret, new groups, a re-enabled app.
    made, app = app_of(partner, ["Helpdesk agents"], "Desk")
    app.post(f"{org.base}/users/{plain}/reset-password", expect=200)
    password_only.post(f"/partner/api-clients/{made['id']}/secret", {}, expect=403)
    password_only.patch(f"/partner/api-clients/{made['id']}", {"group_ids": [helpdesk]}, 403)
    # Taking power away needs no second factor: renaming, disabling, deleting.
    password_only.patch(f"/partner/api-clients/{made['id']}", {"enabled": False}, 200)
    password_only.patch(f"/partner/api-clients/{made['id']}", {"enabled": True}, 403)

    # Where the partner requires passkeys, a TOTP session neither makes a key-based app (which
    # would act, phishing-resistant) nor puts its own key on an existing one.
    key = ECKey.generate_key("P-256")
    keyed = partner.admin.post(
        "/partner/api-clients",
        {"name": "Key desk", "group_ids": [helpdesk], "public_jwk": key.as_dict(private=False)},
        expect=201,
    ).json()
    partner.admin.request(
        "PATCH", "/partner/settings", 200, json={"require_phishing_resistant_mfa": True}
    )
    phished = ECKey.generate_key("P-256")
    totp_session = partner.admin  # signed in with a TOTP code
    refused = totp_session.post(
        "/partner/api-clients",
        {"name": "Phished", "group_ids": [helpdesk], "public_jwk": phished.as_dict(private=False)},
        expect=403,
    ).json()
    assert "passkey" in refused["detail"]
    totp_session.patch(
        f"/partner/api-clients/{keyed['id']}", {"public_jwk": phished.as_dict(private=False)}, 403
    )
    issued = jwt_token(partner.org.client, assertion(phished, keyed["client_id"], clock))
    assert issued.status_code == 401
