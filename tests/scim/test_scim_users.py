"""SCIM Users over the directory: create, read, list with filters and paging, replace, patch,
delete, ETags, SCIM errors (never a 500), the audit trail naming the provisioning token."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, Api, Org, sign_in
from tests.scim.helpers import MEDIA, USER, Scim, error_of, scim_for


@pytest.fixture
def scim(org: Org) -> Scim:
    return scim_for(org)


def test_create_read_replace_delete(scim: Scim, org: Org) -> None:
    created = scim.post(
        "/Users",
        {
            "schemas": [USER],
            "userName": "Alice.Smith",
            "displayName": "Alice Smith",
            "externalId": "okta-00u1",
            "emails": [{"value": "alice@example.com", "type": "work", "primary": True}],
            "name": {"givenName": "Alice"},  # not kept: ignored, not refused
        },
    )
    assert created.headers["content-type"].startswith(MEDIA)
    user = created.json()
    assert created.headers["location"] == user["meta"]["location"]
    assert created.headers["etag"] == user["meta"]["version"]
    assert user["userName"] == "Alice.Smith"  # as sent
    assert user["active"] is True and "password" not in user
    # The UPN: the bare name completed with the default domain, lower-cased.
    upn = f"alice.smith@{org.domain}"
    found = org.admin.get(f"{org.base}/users/{user['id']}").json()
    assert found["user_principal_name"] == upn and found["display_name"] == "Alice Smith"
    assert scim.get(f"/Users/{user['id']}").json() == user

    replaced = scim.put(
        f"/Users/{user['id']}",
        {
            "schemas": [USER],
            "userName": "Alice.Smith",
            "displayName": "Alice Jones",
            "active": False,
            "externalId": "okta-00u1",
        },
        headers={"If-Match": user["meta"]["version"]},
    ).json()
    assert replaced["displayName"] == "Alice Jones" and replaced["active"] is False
    assert "emails" not in replaced  # a replace takes what is not sent away
    assert replaced["meta"]["version"] != user["meta"]["version"]
    assert org.admin.get(f"{org.base}/users/{user['id']}").json()["enabled"] is False

    scim.delete(f"/Users/{user['id']}")
    error_of(scim.get(f"/Users/{user['id']}", expect=404))
    org.admin.get(f"{org.base}/users/{user['id']}", expect=404)


def test_a_user_name_at_a_verified_domain_is_the_upn(scim: Scim, org: Org) -> None:
    user = scim.create_user(f"Bob@{org.domain.upper()}", displayName="Bob")
    assert user["userName"] == f"Bob@{org.domain.upper()}"
    assert org.admin.get(f"{org.base}/users/{user['id']}").json()["user_principal_name"] == (
        f"bob@{org.domain}"
    )
    # The same name in another case is the same user: uniqueness.
    taken = error_of(scim.post("/Users", {"userName": f"bob@{org.domain}"}, expect=409))
    assert taken["scimType"] == "uniqueness"
    # A domain the organisation has not verified is refused.
    refused = error_of(scim.post("/Users", {"userName": "eve@example.com"}, expect=400))
    assert refused["scimType"] == "invalidValue"
    # Renaming moves the UPN along.
    renamed = scim.patch(
        f"/Users/{user['id']}", [{"op": "replace", "path": "userName", "value": "robert"}]
    ).json()
    assert renamed["userName"] == "robert"
    assert org.admin.get(f"{org.base}/users/{user['id']}").json()["user_principal_name"] == (
        f"robert@{org.domain}"
    )


def test_a_password_is_set_for_the_user_and_never_returned(scim: Scim, org: Org) -> None:
    user = scim.create_user("carol", password=PASSWORD)
    assert "password" not in user
    signed_in = sign_in(org.client, f"carol@{org.domain}")
    assert signed_in.get("/me").json()["user_principal_name"] == f"carol@{org.domain}"
    new = "Another-Horse-Battery-7"
    patched = scim.patch(
        f"/Users/{user['id']}", [{"op": "replace", "path": "password", "value": new}]
    )
    assert "password" not in patched.json()
    signed_in.get("/me", expect=401)  # its sessions ended with the old password
    again = sign_in(org.client, f"carol@{org.domain}", new)
    # The same password again (identity systems send it with every replace): no change.
    scim.put(f"/Users/{user['id']}", {"userName": "carol", "password": new})
    again.get("/me")
    weak = error_of(
        scim.patch(
            f"/Users/{user['id']}",
            [{"op": "replace", "path": "password", "value": "short"}],
            expect=400,
        )
    )
    assert weak["scimType"] == "invalidValue"
    # Without a password the user gets one nobody knows, to be changed first.
    quiet = scim.create_user("dave")
    Api(org.client).post(
        "/auth/token", {"username": f"dave@{org.domain}", "password": PASSWORD}, expect=401
    )
    assert quiet["active"] is True


def _names(response: object) -> list[str]:
    body = response.json()  # type: ignore[attr-defined]
    return sorted(r["userName"] for r in body["Resources"]) if body.get("Resources") else []


def test_filters(scim: Scim, org: Org) -> None:
    a = scim.create_user(
        "ann",
        displayName="Ann Archer",
        externalId="ext-A",
        emails=[{"value": "ann@home.example", "type": "home"}],
    )
    scim.create_user(
        "andy",
        displayName="Andy Archer",
        externalId="ext-b",
        emails=[{"value": "andy@work.example", "type": "work"}],
        active=False,
    )
    scim.create_user("zoe", displayName="Zoe Zed")

    def names(text: str) -> list[str]:
        return _names(scim.get("/Users", params={"filter": text}))

    assert names('userName eq "ANN"') == ["ann"]
    assert names('userName sw "an"') == ["andy", "ann"]
    assert names('displayName co "archer"') == ["andy", "ann"]
    assert names('displayName ew "zed"') == ["zoe"]
    assert names('externalId eq "ext-A"') == ["ann"]
    assert names('externalId eq "EXT-A"') == []  # externalId is case-exact
    assert names('externalId pr and userName sw "an"') == ["andy", "ann"]
    assert names('emails.value eq "ANDY@work.example"') == ["andy"]
    assert names('emails co "home"') == ["ann"]
    assert names('emails[type eq "work" and value ew ".example"]') == ["andy"]
    assert names("emails pr and not (active eq false)") == ["ann"]
    assert names("active eq false") == ["andy"]
    assert names('userName eq "ann" or userName eq "zoe"') == ["ann", "zoe"]
    assert names(f'id eq "{a["id"]}"') == ["ann"]
    assert names('id eq "not-an-id"') == []
    assert names(f'meta.created ge "{a["meta"]["created"]}" and userName sw "z"') == ["zoe"]
    assert names('userName eq "x\\" or userName pr"') == []  # a quote can't break out
    for bad, keyword in (
        ("userName eq", "invalidFilter"),
        ('nickName eq "x"', "invalidFilter"),
        ("active gt true", "invalidFilter"),
        ("userName eq 3", "invalidFilter"),
    ):
        refused = error_of(scim.get("/Users", params={"filter": bad}, expect=400))
        assert refused["scimType"] == keyword, (bad, refused)
    # POST /Users/.search takes the same.
    searched = scim.post(
        "/Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'displayName co "archer"',
            "attributes": ["userName"],
        },
        expect=200,
    ).json()
    assert sorted(r["userName"] for r in searched["Resources"]) == ["andy", "ann"]
    assert all(set(r) == {"schemas", "id", "userName"} for r in searched["Resources"])


def test_paging(scim: Scim) -> None:
    made = [scim.create_user(f"p{n}-{scim.org.tenant_id[:4]}")["id"] for n in range(5)]
    everyone = scim.get("/Users", params={"count": 200}).json()
    assert everyone["totalResults"] == 6  # and the admin
    pages = []
    for start in (1, 3, 5):
        page = scim.get("/Users", params={"startIndex": start, "count": 2}).json()
        assert page["startIndex"] == start and page["totalResults"] == 6
        assert page["itemsPerPage"] == len(page["Resources"]) == 2
        pages += [r["id"] for r in page["Resources"]]
    assert set(made) <= set(pages) and len(set(pages)) == 6
    only_total = scim.get("/Users", params={"count": 0}).json()
    assert only_total["totalResults"] == 6 and not only_total.get("Resources")
    beyond = scim.get("/Users", params={"startIndex": 50}).json()
    assert beyond["totalResults"] == 6 and not beyond.get("Resources")
    assert scim.get("/Users", params={"startIndex": -3, "count": 1}).json()["startIndex"] == 1
    error_of(scim.get("/Users", params={"count": "many"}, expect=400))


def test_attributes_and_excluded_attributes(scim: Scim) -> None:
    user = scim.create_user("erin", externalId="e-1", emails=[{"value": "e@x.example"}])
    only = scim.get(f"/Users/{user['id']}", params={"attributes": "externalId"}).json()
    assert set(only) == {"schemas", "id", "externalId"}
    without = scim.get(f"/Users/{user['id']}", params={"excludedAttributes": "emails"}).json()
    assert "emails" not in without and without["userName"] == "erin"


def test_patch_operations(scim: Scim) -> None:
    user = scim.create_user("fay", emails=[{"value": "fay@a.example", "type": "work"}])
    path = f"/Users/{user['id']}"
    patched = scim.patch(
        path,
        [
            {"op": "add", "path": "emails", "value": [{"value": "fay@b.example", "type": "home"}]},
            {"op": "replace", "path": "displayName", "value": "Fay F."},
            {"op": "add", "path": "externalId", "value": "x-9"},
        ],
    ).json()
    assert [e["value"] for e in patched["emails"]] == ["fay@a.example", "fay@b.example"]
    assert patched["displayName"] == "Fay F." and patched["externalId"] == "x-9"
    patched = scim.patch(path, [{"op": "remove", "path": 'emails[type eq "work"]'}]).json()
    assert [e["value"] for e in patched["emails"]] == ["fay@b.example"]
    # Entra ID's style: capitalised op, a value object without a path, a string boolean.
    patched = scim.patch(path, [{"op": "Replace", "value": {"active": "False"}}]).json()
    assert patched["active"] is False
    patched = scim.patch(path, [{"op": "remove", "path": "externalId"}]).json()
    assert "externalId" not in patched
    for bad, keyword in (
        ({"op": "remove", "path": "displayName"}, "mutability"),  # required
        ({"op": "replace", "path": "nickName", "value": "x"}, "invalidPath"),
        ({"op": "remove"}, "noTarget"),
        ({"op": "jump", "path": "active", "value": True}, None),
        ({"op": "replace", "path": "groups", "value": []}, "mutability"),  # read-only
    ):
        refused = error_of(scim.patch(path, [bad], expect=400))
        if keyword:
            assert refused["scimType"] == keyword, (bad, refused)
    assert scim.get(path).json()["displayName"] == "Fay F."


def test_etags(scim: Scim) -> None:
    user = scim.create_user("gil")
    path = f"/Users/{user['id']}"
    version = user["meta"]["version"]
    assert version.startswith('W/"')
    stale = scim.patch(
        path,
        [{"op": "replace", "path": "displayName", "value": "G"}],
        headers={"If-Match": version},
    ).json()
    refused = error_of(
        scim.patch(
            path,
            [{"op": "replace", "path": "displayName", "value": "H"}],
            headers={"If-Match": version},
            expect=412,
        )
    )
    assert "changed" in refused["detail"]
    scim.put(path, {"userName": "gil"}, headers={"If-Match": version}, expect=412)
    scim.delete(path, headers={"If-Match": version}, expect=412)
    scim.patch(
        path,
        [{"op": "replace", "path": "displayName", "value": "H"}],
        headers={"If-Match": stale["meta"]["version"]},
    )
    scim.patch(
        path, [{"op": "replace", "path": "displayName", "value": "I"}], headers={"If-Match": "*"}
    )
    # A change made elsewhere (by a person) changes the version too.
    before = scim.get(path).json()["meta"]["version"]
    scim.org.admin.patch(f"{scim.org.base}/users/{user['id']}", {"display_name": "Gil G."})
    assert scim.get(path).json()["meta"]["version"] != before
    scim.delete(path, headers={"If-Match": scim.get(path).headers["etag"]})


def test_refusals_are_scim_errors_never_500(scim: Scim) -> None:
    cases = [
        ("POST", "/Users", {"content": b"{not json", "headers": {"Content-Type": MEDIA}}, 400),
        ("POST", "/Users", {"json": []}, 400),
        ("POST", "/Users", {"json": {"displayName": "No name"}}, 400),
        ("POST", "/Users", {"json": {"userName": "a b c"}}, 400),
        ("POST", "/Users", {"json": {"userName": "x", "active": "maybe"}}, 400),
        ("POST", "/Users", {"json": {"userName": "x", "emails": [{"value": "no-at"}]}}, 400),
        ("POST", "/Users", {"json": {"userName": "x", "externalId": 7}}, 400),
        ("POST", "/Users", {"json": {"userName": "x", "externalId": "e" * 513}}, 400),
        (
            "POST",
            "/Users",
            {"json": {"userName": "x", "emails": [{"value": "a@b.example"}] * 21}},
            400,
        ),
        ("POST", "/Groups", {"json": {"displayName": "x", "externalId": "e" * 513}}, 400),
        ("PATCH", "/Users/nope", {"json": {"Operations": []}}, 404),
        ("PATCH", f"/Users/{scim.org.admin_id}", {"json": {"Operations": "x"}}, 400),
        ("PUT", "/Users/nope", {"json": {"userName": "x"}}, 404),
        ("GET", "/Users", {"params": {"filter": "(" * 500}}, 400),
        ("POST", "/Users/.search", {"json": {"count": "x"}}, 400),
        ("POST", "/.search", {"json": {"filter": "nickName pr"}}, 400),
        ("GET", "/.search", {}, 405),
        ("DELETE", "/ServiceProviderConfig", {}, 405),
        ("GET", "/Nothing/here", {}, 404),
        ("GET", "/Schemas/urn:nothing", {}, 404),
        ("GET", "/ResourceTypes/Device", {}, 404),
    ]
    user = scim.create_user("odd")["id"]
    text = {"Content-Type": "text/plain"}
    cases += [
        ("POST", "/Users", {"content": b'{"userName": "t"}', "headers": text}, 400),
        ("POST", "/Users", {"content": b"", "headers": {"Content-Type": MEDIA}}, 400),
        ("POST", "/Users", {"json": {"userName": "x" * 5000}}, 400),
        ("POST", "/Users", {"json": {"userName": "z\u0000z"}}, 400),
        ("POST", "/Users", {"json": {"userName": "ok2", "displayName": "a\u0000"}}, 400),
        ("POST", "/Users", {"json": {"userName": "ok3", "displayName": "d" * 300}}, 400),
        ("POST", "/Groups", {"json": {"displayName": "g\u0007"}}, 400),
        ("POST", "/Groups", {"json": {"displayName": "g", "members": "x"}}, 400),
        ("GET", "/Users", {"params": {"filter": 'meta.created gt "yesterday"'}}, 400),
        ("GET", "/Users", {"params": {"attributes": "no such!"}}, 400),
    ]
    for operation in (
        {"op": "add", "path": 'emails[type eq "x"].value', "value": "a@b.example"},
        {"op": "replace", "path": "meta.version", "value": "x"},
        {"op": "replace", "path": "id", "value": "x"},
        {"op": "replace", "value": {"userName": None}},
    ):
        cases.append(("PATCH", f"/Users/{user}", {"json": {"Operations": [operation]}}, 400))
    for method, path, kwargs, status in cases:
        response = scim.request(method, path, status, **kwargs)
        error_of(response)
    huge = scim.get("/Users", params={"startIndex": "9" * 20, "count": 5}).json()
    assert huge["totalResults"] == 2 and not huge.get("Resources")  # the admin and odd


def test_discovery(scim: Scim) -> None:
    config = scim.get("/ServiceProviderConfig").json()
    assert config["patch"]["supported"] and config["etag"]["supported"]
    assert config["filter"] == {"supported": True, "maxResults": 200}
    assert not config["bulk"]["supported"] and not config["sort"]["supported"]
    types = {t["name"]: t for t in scim.get("/ResourceTypes").json()["Resources"]}
    assert types["User"]["endpoint"] == "/Users" and types["Group"]["endpoint"] == "/Groups"
    schemas = {s["id"]: s for s in scim.get("/Schemas").json()["Resources"]}
    user_schema = schemas[USER]
    attributes = {a["name"]: a for a in user_schema["attributes"]}
    assert "roles" not in attributes  # admin roles are not provisioned
    assert attributes["password"]["mutability"] == "writeOnly"
    assert attributes["password"]["returned"] == "never"
    assert attributes["groups"]["mutability"] == "readOnly"
    assert scim.get(f"/Schemas/{USER}").json()["name"] == "User"


def test_every_change_is_audited_as_the_provisioning_token(scim: Scim, org: Org) -> None:
    user = scim.create_user("hal", externalId="h")
    scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "active", "value": False}])
    scim.delete(f"/Users/{user['id']}")
    events = org.admin.get(f"{org.base}/audit-events").json()["items"]
    by_token = [
        e
        for e in events
        if (e["actor"]["client_name"] or "").startswith("provisioning token 'Okta'")
    ]
    actions = {e["action"] for e in by_token}
    assert {"user.create", "user.update", "user.disable", "user.delete"} <= actions
    assert all(e["actor"]["user_id"] is None for e in by_token)
    assert all(e["actor"]["tenant_id"] == org.tenant_id for e in by_token)
