"""Findings of the security review of issue 13 (webhooks), each a regression test."""

from __future__ import annotations

import pytest

from tenantry.operations import webhooks
from tests.conftest import Org


@pytest.mark.parametrize(
    "address",
    [
        # Local-use IPv4/IPv6 translation (RFC 8215): a NAT64 of the operator's own network
        # reaches its private IPv4 side (here 10.0.0.1).
        "64:ff9b:1::a00:1",
        "64:ff9b:1:ffff::a9fe:a9fe",
        # IPv4-compatible (deprecated, RFC 4291 §2.5.5.1) and IPv4-translated (SIIT, RFC
        # 2765) addresses: an IPv4 address inside, which a translator or tunnel reaches.
        "::127.0.0.1",
        "::a9fe:a9fe",
        "::ffff:0:a00:1",
        "::ffff:0:7f00:1",
    ],
)
def test_ipv4_inside_ipv6_in_every_form_is_refused(address: str) -> None:
    assert webhooks.refused_address(address)


def test_registration_refuses_ipv4_compatible_literals(
    app, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.state.settings, "webhooks_allow_private_networks", False)
    for url in ("https://[::127.0.0.1]/x", "https://[64:ff9b:1::a00:1]/x"):
        org.admin.post(f"{org.base}/webhooks", {"url": url, "events": ["*"]}, expect=422)
