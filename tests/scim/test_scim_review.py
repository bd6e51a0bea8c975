"""Findings of the security review of issue 13 (SCIM), each a regression test."""

from __future__ import annotations

import pytest

from tests.conftest import Org
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
