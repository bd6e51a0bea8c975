"""Every list endpoint of the API, fed arbitrary cursors, limits and filters, answers
below 500 on both databases: a malformed cursor is a 422 "invalid cursor", a bad filter a
validation error, never a server error.

The endpoints come from the OpenAPI document (GET operations whose answer has a
``next_cursor``), so a new list endpoint is covered without touching this file.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.conftest import Api, accepted, make_org, make_partner

EDGE_MOMENTS = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59.999999",
]
INT_LIMITS = [2**31, 2**63, 2**64, -(2**63) - 1, 10**40]
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(INT_LIMITS)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(["\x00", "a" * 2000, *EDGE_MOMENTS])
    | st.uuids().map(str)
    | st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner)
)


def _b64(raw: bytes, padded: bool) -> str:
    encoded = base64.urlsafe_b64encode(raw).decode()
    return encoded if padded else encoded.rstrip("=")


looks_valid = st.builds(
    _b64,
    st.lists(json_scalars, min_size=1, max_size=4).map(lambda v: json.dumps(v).encode()),
    st.booleans(),
)
any_json = st.builds(_b64, json_values.map(lambda v: json.dumps(v).encode()), st.booleans())
any_bytes = st.builds(_b64, st.binary(max_size=60), st.booleans())
parameter_values = (
    looks_valid
    | any_json
    | any_bytes
    | st.text(max_size=80)
    | st.integers().map(str)
    | st.sampled_from([str(n) for n in INT_LIMITS] + ["", "-1", "0", "1e9", "null", "%00"])
    | st.sampled_from(EDGE_MOMENTS)
    | st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat())
)


def list_operations(doc: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(path, query parameter names) of every GET answering with a page of items."""
    schemas = doc["components"]["schemas"]
    found = []
    for path, operations in doc["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        schema = get["responses"]["200"]["content"].get("application/json", {}).get("schema", {})
        shape = schemas.get(schema.get("$ref", "").rsplit("/", 1)[-1], {})
        query = [p["name"] for p in get.get("parameters", []) if p["in"] == "query"]
        if "next_cursor" in shape.get("properties", {}) and "cursor" in query:
            found.append((path, query))
    return found


def test_list_endpoints_refuse_bad_parameters_without_a_server_error(
    client: Any, sessions: Any, settings: Any, clock: Any
) -> None:
    partner = make_partner(client, sessions, settings, clock, "Lister")
    accepted(partner, make_org(client, "Listed customer"))
    org = partner.org
    admin: Api = org.admin
    group = admin.post(f"{org.base}/groups", {"name": "Listed"}, expect=201).json()
    subscription = admin.post(
        f"{org.base}/subscriptions", {"sku_id": "business_standard", "seats": 1}, expect=201
    ).json()
    hook = admin.post(
        f"{org.base}/webhooks", {"url": "https://hooks.example.com/x", "events": ["*"]}, expect=201
    ).json()
    path_ids = {
        "tid": org.tenant_id,
        "gid": group["id"],
        "sid": subscription["id"],
        "wid": hook["id"],
        "jid": admin.post(
            "/partner/jobs",
            {
                "action": "raise_service_request",
                "params": {"title": "t", "description": "d"},
                "selection": {},
            },
            expect=202,
        ).json()["id"],
    }
    operations = list_operations(client.get("/api/v1/openapi.json").json())
    assert len(operations) >= 12

    for path, query in operations:
        fuzz(admin, path.removeprefix("/api/v1").format(**path_ids), query)


def fuzz(admin: Api, url: str, query: list[str]) -> None:
    """Arbitrary values for any subset of ``url``'s query parameters: never a 5xx."""

    @given(values=st.fixed_dictionaries({}, optional=dict.fromkeys(query, parameter_values)))
    @hypothesis_settings(
        max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def exercise(values: dict[str, str]) -> None:
        response = admin.request("GET", url, params=values)
        assert response.status_code < 500, (url, values, response.text)
        if response.status_code == 422 and set(values) == {"cursor"}:
            assert response.json()["type"].endswith(("invalid-cursor", "invalid-input"))

    exercise()


@pytest.mark.parametrize(
    "cursor",
    [
        _b64(json.dumps([10**30]).encode(), False),  # a huge integer
        _b64(json.dumps([2**63]).encode(), False),  # just past bigint
        _b64(json.dumps([12345, 1]).encode(), False),  # an integer where an id belongs
        _b64(json.dumps(["2026-01-01T00:00:00", "\x00"]).encode(), False),
        _b64(json.dumps({"a": 1}).encode(), False),  # JSON of the wrong shape
        "not base64 at all!",
    ],
)
def test_a_malformed_cursor_is_an_invalid_cursor_problem(cursor: str, org: Any) -> None:
    for path in (f"{org.base}/audit-events", f"{org.base}/role-assignments", f"{org.base}/users"):
        problem = org.admin.request("GET", path, params={"cursor": cursor}).json()
        assert problem["status"] == 422 and problem["title"] == "Invalid cursor", problem
        assert problem["type"] == "urn:tenantry:problem:invalid-cursor"


def test_audit_filters_out_of_range_are_refused(org: Any) -> None:
    for moment in EDGE_MOMENTS:
        for name in ("since", "until"):
            response = org.admin.request("GET", f"{org.base}/audit-events", params={name: moment})
            assert response.status_code in (200, 422), (name, moment, response.text)
