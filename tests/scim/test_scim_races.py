"""Races an identity system's parallel requests run, on both databases: creates of one
userName (one 201, the others 409 uniqueness: the UPN's unique constraint, not only the
check before it) and PATCHes with one If-Match (one 200, the others 412: the row is locked
before its version is compared)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.conftest import Org
from tests.scim.helpers import Scim, error_of, scim_for

PARALLEL = 8


def test_parallel_creates_of_one_user_name_make_one_user(org: Org) -> None:
    scims = [scim_for(org, f"IdP {n}") for n in range(PARALLEL)]  # a token each: no shared row
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        responses = list(
            pool.map(lambda s: s.post("/Users", {"userName": "twin"}, expect=None), scims)
        )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * (PARALLEL - 1), [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert error_of(response)["scimType"] == "uniqueness"
    found = scims[0].get("/Users", params={"filter": 'userName eq "twin"'}).json()
    assert found["totalResults"] == 1


def test_parallel_patches_with_one_version_one_wins(org: Org) -> None:
    scim = scim_for(org)
    user = scim.create_user("racer")
    version = user["meta"]["version"]
    path = f"/Users/{user['id']}"

    def rename(n: int) -> object:
        return Scim(org, scim.token).patch(
            path,
            [{"op": "replace", "path": "displayName", "value": f"Racer {n}"}],
            headers={"If-Match": version},
            expect=None,
        )

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        responses = list(pool.map(rename, range(PARALLEL)))
    codes = sorted(r.status_code for r in responses)  # type: ignore[attr-defined]
    assert codes == [200] + [412] * (PARALLEL - 1), codes
    (winner,) = [r for r in responses if r.status_code == 200]  # type: ignore[attr-defined]
    assert scim.get(path).json()["displayName"] == winner.json()["displayName"]  # type: ignore[attr-defined]

    group = scim.create_group("Racers", [])
    gversion = group["meta"]["version"]
    members = [scim.create_user(f"m{n}")["id"] for n in range(PARALLEL)]

    def join(n: int) -> object:
        return Scim(org, scim.token).patch(
            f"/Groups/{group['id']}",
            [{"op": "add", "path": "members", "value": [{"value": members[n]}]}],
            headers={"If-Match": gversion},
            expect=None,
        )

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        responses = list(pool.map(join, range(PARALLEL)))
    codes = sorted(r.status_code for r in responses)  # type: ignore[attr-defined]
    assert codes == [200] + [412] * (PARALLEL - 1), codes
    assert len(scim.get(f"/Groups/{group['id']}").json()["members"]) == 1
