"""Findings of the security review of issue 13 (SCIM), each a regression test."""

from __future__ import annotations

import pytest

from tests.conftest import Org
from tests.scim.helpers import error_of, scim_for

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.mark.parametrize(
    "text",
    [
        'meta.created gt "0001-01-01T00:00:00+01:00"',
        'meta.lastModified lt "9999-12-31T23:59:59-01:00"',
    ],
)
def test_a_datetime_out_of_range_in_utc_is_an_invalid_filter_not_a_500(
    org: Org, text: str
) -> None:
    """A time whose offset carries it past year 1 or 9999 in UTC can't be compared."""
    scim = scim_for(org)
    for response in (
        scim.get("/Users", expect=400, params={"filter": text}),
        scim.get("/Groups", expect=400, params={"filter": text}),
        scim.post("/.search", {"schemas": [SEARCH], "filter": text}, expect=400),
    ):
        assert error_of(response)["scimType"] == "invalidFilter"
