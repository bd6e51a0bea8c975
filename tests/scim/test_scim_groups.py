"""SCIM Groups over the directory's security groups: create with members, read, list with
filters, replace, PATCH of members (add, remove by value path, replace), delete, ETags."""

from __future__ import annotations

import pytest

from tests.conftest import Org
from tests.scim.helpers import GROUP, Scim, error_of, scim_for


@pytest.fixture
def scim(org: Org) -> Scim:
    return scim_for(org)


def _members(group: dict) -> list[str]:
    """The member ids (a multi-valued attribute has no order: RFC 7643 §2.4)."""
    return sorted(m["value"] for m in group.get("members", []))


def test_groups_and_their_members(scim: Scim, org: Org) -> None:
    ann = scim.create_user("ann")["id"]
    bob = scim.create_user("bob")["id"]
    cat = scim.create_user("cat")["id"]
    group = scim.create_group("Sales", [ann, bob], externalId="okta-g1")
    assert _members(group) == sorted([ann, bob])
    assert all(m["$ref"].endswith(f"/Users/{m['value']}") for m in group["members"])
    path = f"/Groups/{group['id']}"
    listed = org.admin.get(f"{org.base}/groups/{group['id']}/members").json()["items"]
    assert {m["id"] for m in listed} == {ann, bob}
    # The user shows its groups (read-only).
    assert scim.get(f"/Users/{ann}").json()["groups"][0]["display"] == "Sales"

    patched = scim.patch(
        path,
        [
            {"op": "add", "path": "members", "value": [{"value": cat, "display": "Cat"}]},
            {"op": "remove", "path": f'members[value eq "{ann}"]'},
        ],
    ).json()
    assert _members(patched) == sorted([bob, cat])
    # Entra ID removes members with a value rather than a filter in the path.
    patched = scim.patch(path, [{"op": "Remove", "path": "members", "value": [{"value": bob}]}])
    assert _members(patched.json()) == [cat]
    patched = scim.patch(path, [{"op": "replace", "path": "members", "value": [{"value": ann}]}])
    assert _members(patched.json()) == [ann]
    patched = scim.patch(path, [{"op": "replace", "value": {"displayName": "Sales EMEA"}}])
    assert patched.json()["displayName"] == "Sales EMEA"
    patched = scim.patch(path, [{"op": "remove", "path": "members"}]).json()
    assert "members" not in patched

    replaced = scim.put(
        path,
        {"schemas": [GROUP], "displayName": "Sales", "members": [{"value": bob}, {"value": cat}]},
    ).json()
    assert _members(replaced) == sorted([bob, cat]) and "externalId" not in replaced

    def names(text: str) -> list[str]:
        found = scim.get("/Groups", params={"filter": text}).json().get("Resources", [])
        return sorted(g["displayName"] for g in found)

    scim.create_group("Support", [], externalId="okta-g2")
    assert names('displayName eq "sales"') == ["Sales"]
    assert names('displayName sw "s"') == ["Sales", "Support"]
    assert names('externalId eq "okta-g2"') == ["Support"]
    assert names(f'members eq "{cat}"') == ["Sales"]
    assert names('externalId pr or displayName eq "Sales"') == ["Sales", "Support"]
    only = scim.get("/Groups", params={"excludedAttributes": "members"}).json()
    assert all("members" not in g for g in only["Resources"])

    scim.delete(path)
    scim.get(path, expect=404)
    org.admin.get(f"{org.base}/groups/{group['id']}", expect=404)
    assert "groups" not in scim.get(f"/Users/{bob}").json()


def test_member_refusals(scim: Scim, org: Org, other_org: Org) -> None:
    group = scim.create_group("Team", [])
    path = f"/Groups/{group['id']}"
    stranger = error_of(
        scim.patch(
            path,
            [{"op": "add", "path": "members", "value": [{"value": other_org.admin_id}]}],
            expect=400,
        )
    )
    assert stranger["scimType"] == "invalidValue"
    nested = error_of(
        scim.patch(
            path,
            [{"op": "add", "path": "members", "value": [{"value": group["id"], "type": "Group"}]}],
            expect=400,
        )
    )
    assert "group" in nested["detail"].lower()
    error_of(
        scim.patch(path, [{"op": "add", "path": "members", "value": [{"value": "x"}]}], expect=400)
    )
    taken = error_of(scim.post("/Groups", {"displayName": "Team"}, expect=409))
    assert taken["scimType"] == "uniqueness"
    error_of(scim.post("/Groups", {"members": []}, expect=400))
    version = group["meta"]["version"]
    scim.patch(
        path, [{"op": "add", "path": "externalId", "value": "e"}], headers={"If-Match": version}
    )
    error_of(
        scim.patch(
            path,
            [{"op": "add", "path": "externalId", "value": "f"}],
            headers={"If-Match": version},
            expect=412,
        )
    )
    assert scim.get(path).json()["externalId"] == "e"


def test_searching_users_and_groups_at_once(scim: Scim) -> None:
    """POST /.search: both types, users first, paged across both; a filter attribute only
    one type has leaves the other out."""
    scim.create_user("sam", displayName="Shared name")
    scim.create_group("Shared team", [])
    scim.create_group("Other", [])

    def search(body: dict) -> dict:
        return dict(scim.post("/.search", body, expect=200).json())

    found = search({"filter": 'displayName sw "shared"'})
    assert found["totalResults"] == 2
    kinds = [r["meta"]["resourceType"] for r in found["Resources"]]
    assert kinds == ["User", "Group"]
    assert search({"filter": 'userName eq "sam"'})["totalResults"] == 1
    assert search({"filter": "members pr"})["totalResults"] == 0
    everything = search({})
    assert everything["totalResults"] == 4  # the admin and sam, two groups
    pages = [
        r["id"]
        for start in (1, 3, 5)
        for r in search({"startIndex": start, "count": 2}).get("Resources", [])
    ]
    assert len(pages) == len(set(pages)) == 4
    only = search({"attributes": ["displayName"]})["Resources"]
    assert all(set(r) <= {"schemas", "id", "displayName"} for r in only)
