"""Findings of the security review of issue 13 (SCIM), each a regression test."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tenantry.access.roles import Role
from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.directory import role_assignments
from tenantry.identity import tokens
from tests.conftest import FakeClock, Org
from tests.scim.helpers import USER, error_of, scim_for

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.mark.parametrize(
    "text",
    [
        'meta.created gt "0001-01-01T00:00:00+01:00"',
        'meta.lastModified lt "9999-12-31T23:59:59-01:00"',
    ],
)
def test_a_datetime_out_of_range_in_utc_is_an_invalid_filter_not_a_500(org: Org, text: str) -> None:
    """A time whose offset carries it past year 1 or 9999 in UTC can't be compared."""
    scim = scim_for(org)
    for response in (
        scim.get("/Users", expect=400, params={"filter": text}),
        scim.get("/Groups", expect=400, params={"filter": text}),
        scim.post("/.search", {"schemas": [SEARCH], "filter": text}, expect=400),
    ):
        assert error_of(response)["scimType"] == "invalidFilter"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/Users", '{"userName": "bob", "displayName": "\\udfff"}'),
        ("/Users", '{"userName": "bob", "password": "Correct-horse-9\\ud800"}'),
        ("/Users", '{"userName": "bob", "emails": [{"value": "\\ud800@x.example"}]}'),
        ("/Groups", '{"displayName": "\\ud800"}'),
    ],
)
def test_a_lone_surrogate_is_an_invalid_value_not_a_500(org: Org, path: str, body: str) -> None:
    """A JSON escape of half a character parses, but no database stores it and no password
    hash encodes it."""
    scim = scim_for(org)
    response = scim.request(
        "POST", path, 400, content=body.encode(), headers={"Content-Type": "application/scim+json"}
    )
    assert error_of(response)["scimType"] == "invalidValue"


@pytest.mark.parametrize(
    "roles",
    [
        {"urn:ietf:params:scim:schemas:core:2.0:User:roles": [{"value": "global_administrator"}]},
        {
            "urn:ietf:params:scim:schemas:core:2.0:User": {
                "roles": [{"value": "global_administrator"}]
            }
        },
    ],
)
def test_roles_named_by_the_schemas_urn_are_refused_too_never_dropped(
    org: Org, roles: dict
) -> None:
    """README: a write of an admin role is 400 mutability, never silently dropped: the
    identity system should learn that admins are not made this way."""
    scim = scim_for(org)
    body = {"schemas": [USER], "userName": "erin", **roles}
    assert error_of(scim.post("/Users", body, expect=400))["scimType"] == "mutability"
    user = scim.create_user("frank")
    body = {"schemas": [USER], "userName": "frank", **roles}
    assert error_of(scim.put(f"/Users/{user['id']}", body, expect=400))["scimType"] == "mutability"


def _while_a_role_is_given(
    org: Org,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
    give: Callable[[Context], object],
    provision: Callable[[], Any],
) -> Any:
    """``provision`` sent while the Global Administrator's ``give`` is written but not yet
    committed (PostgreSQL, read committed: the provisioning request's check runs meanwhile)."""
    session = sessions()
    try:
        principal = tokens.principal_for_token(session, str(org.admin.token), clock())
        ctx = Context(session=session, settings=settings, principal=principal, now=clock())
        give(ctx)
        session.flush()
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(provision)
            time.sleep(0.5)  # the provisioning request is under way
            session.commit()
            return pending.result(timeout=30)
    finally:
        session.close()


@pytest.fixture
def postgresql_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers: two transactions never interleave")


@pytest.mark.usefixtures("postgresql_only")
def test_a_password_is_not_set_on_a_user_made_an_admin_at_that_moment(
    org: Org, sessions: sessionmaker[Session], settings: Settings, clock: FakeClock
) -> None:
    """Check then write: the provisioning token's 'not privileged' check must not pass on a
    user being made an administrator at the same moment (its password then the attacker's)."""
    scim = scim_for(org)
    user = scim.create_user("soon-admin")
    response = _while_a_role_is_given(
        org,
        sessions,
        settings,
        clock,
        lambda ctx: role_assignments.assign_role(
            ctx,
            uuid.UUID(org.tenant_id),
            Role.USER_ADMINISTRATOR,
            user_id=uuid.UUID(user["id"]),
            group_id=None,
        ),
        lambda: scim.patch(
            f"/Users/{user['id']}",
            [{"op": "replace", "path": "password", "value": "Correct-Horse-Battery-9"}],
            expect=None,
        ),
    )
    assert response.status_code == 403, response.text


@pytest.mark.usefixtures("postgresql_only")
def test_no_member_joins_a_group_given_a_role_at_that_moment(
    org: Org, sessions: sessionmaker[Session], settings: Settings, clock: FakeClock
) -> None:
    scim = scim_for(org)
    group = scim.create_group("Soon admins")
    user = scim.create_user("joiner")
    response = _while_a_role_is_given(
        org,
        sessions,
        settings,
        clock,
        lambda ctx: role_assignments.assign_role(
            ctx,
            uuid.UUID(org.tenant_id),
            Role.GLOBAL_ADMINISTRATOR,
            user_id=None,
            group_id=uuid.UUID(group["id"]),
        ),
        lambda: scim.patch(
            f"/Groups/{group['id']}",
            [{"op": "add", "path": "members", "value": [{"value": user["id"]}]}],
            expect=None,
        ),
    )
    assert response.status_code == 403, response.text
    members = org.admin.get(f"{org.base}/groups/{group['id']}/members").json()["items"]
    assert members == []


@pytest.mark.usefixtures("postgresql_only")
def test_a_user_administrator_does_not_reset_a_user_made_an_admin_at_that_moment(
    org: Org, sessions: sessionmaker[Session], settings: Settings, clock: FakeClock
) -> None:
    """The same check then write through the API: a User Administrator's reset (its
    temporary password shown to it) of a user made Global Administrator meanwhile."""
    helpdesk = org.user_api(roles=(Role.USER_ADMINISTRATOR,))
    target = org.create_user()
    response = _while_a_role_is_given(
        org,
        sessions,
        settings,
        clock,
        lambda ctx: role_assignments.assign_role(
            ctx,
            uuid.UUID(org.tenant_id),
            Role.GLOBAL_ADMINISTRATOR,
            user_id=uuid.UUID(target),
            group_id=None,
        ),
        lambda: helpdesk.post(f"{org.base}/users/{target}/reset-password"),
    )
    assert response.status_code == 403, response.text


@pytest.mark.usefixtures("postgresql_only")
def test_a_user_administrator_adds_no_member_to_a_group_given_a_role_at_that_moment(
    org: Org, sessions: sessionmaker[Session], settings: Settings, clock: FakeClock
) -> None:
    """The group's check then write through the API: the member would hold the role."""
    helpdesk = org.user_api(roles=(Role.USER_ADMINISTRATOR,))
    group = org.admin.post(f"{org.base}/groups", {"name": "Soon admins 2"}, expect=201).json()
    joiner = org.create_user()
    response = _while_a_role_is_given(
        org,
        sessions,
        settings,
        clock,
        lambda ctx: role_assignments.assign_role(
            ctx,
            uuid.UUID(org.tenant_id),
            Role.GLOBAL_ADMINISTRATOR,
            user_id=None,
            group_id=uuid.UUID(group["id"]),
        ),
        lambda: helpdesk.post(f"{org.base}/groups/{group['id']}/members", {"user_id": joiner}),
    )
    assert response.status_code == 403, response.text
