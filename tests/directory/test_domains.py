"""Domains: the TXT record to publish, verification by a real DNS query, ownership rules."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tenantry.app import create_app
from tests.conftest import FakeClock, Org, settings_for, unique_label
from tests.dns_server import LoopbackDns, free_udp_port


def _add(org: Org, name: str, expect: int = 201) -> dict:
    return org.admin.post(f"{org.base}/domains", {"name": name}, expect=expect).json()


def test_add_verify_default_remove(org: Org, dns: LoopbackDns) -> None:
    name = f"{unique_label('d')}.example"
    added = _add(org, name.upper() + ".")
    assert added["name"] == name and added["status"] == "unverified"
    record = added["verification"]
    assert record["type"] == "TXT" and record["name"] == name
    assert record["value"].startswith("tenantry-verification=")
    assert org.admin.get(f"{org.base}/domains/{name}").json()["verification"] == record
    org.admin.post(f"{org.base}/domains/{name}/default", expect=409)
    missing = org.admin.post(f"{org.base}/domains/{name}/verify", expect=409)
    assert missing.json()["type"] == "urn:tenantry:problem:verification-failed"
    dns.publish(name, "v=spf1 -all")
    dns.publish(name, record["value"])
    verified = org.admin.post(f"{org.base}/domains/{name}/verify", expect=200).json()
    assert verified["status"] == "verified" and verified["verification"] is None
    assert verified["capabilities"] == ["email"]
    user = org.admin.post(
        f"{org.base}/users",
        {"user_principal_name": f"ann@{name}", "display_name": "Ann"},
        expect=201,
    ).json()
    org.admin.post(f"{org.base}/domains/{name}/default", expect=200)
    assert org.admin.get(org.base).json()["default_domain"] == name
    org.admin.delete(f"{org.base}/domains/{name}", expect=409)  # default
    org.admin.post(f"{org.base}/domains/{org.domain}/default", expect=200)
    in_use = org.admin.delete(f"{org.base}/domains/{name}", expect=409)
    assert in_use.json()["type"] == "urn:tenantry:problem:domain-in-use"
    org.admin.delete(f"{org.base}/users/{user['id']}")
    org.admin.delete(f"{org.base}/domains/{name}")
    org.admin.get(f"{org.base}/domains/{name}", expect=404)
    initial = org.admin.delete(f"{org.base}/domains/{org.domain}", expect=409)
    assert initial.json()["type"] == "urn:tenantry:problem:initial-domain"


def test_a_verified_name_belongs_to_one_tenant(org: Org, other_org: Org, dns: LoopbackDns) -> None:
    name = f"{unique_label('d')}.example"
    mine, theirs = _add(org, name), _add(other_org, name)
    _add(org, name, expect=409)
    dns.publish(name, mine["verification"]["value"])
    dns.publish(name, theirs["verification"]["value"])
    org.admin.post(f"{org.base}/domains/{name}/verify", expect=200)
    taken = other_org.admin.post(f"{other_org.base}/domains/{name}/verify", expect=409)
    assert taken.json()["type"] == "urn:tenantry:problem:domain-taken"
    assert _add(other_org, f"{name}", expect=409)["type"].endswith("duplicate-domain")
    third = f"{unique_label('d')}.example"
    _add(org, third)
    _add(org, org.domain, expect=409)


def test_invalid_and_reserved_names(org: Org) -> None:
    for bad in ("nodot", "-bad-.example", "a" * 64 + ".example", "spaces in.example", ""):
        _add(org, bad, expect=422)
    reserved = _add(org, f"other.{org.domain.split('.', 1)[1]}", expect=422)
    assert reserved["type"] == "urn:tenantry:problem:reserved-domain"


def test_resolver_down_is_503_not_500(
    database_url: str, tmp_path: Path, clock: FakeClock, org: Org
) -> None:
    silent = settings_for(
        database_url, tmp_path, dns_resolver=f"127.0.0.1:{free_udp_port()}", dns_timeout_seconds=0.5
    )
    app = create_app(silent, clock=clock)
    name = f"{unique_label('d')}.example"
    _add(org, name)
    with TestClient(app) as client:
        response = client.post(
            f"/api/v1{org.base}/domains/{name}/verify",
            headers={"Authorization": f"Bearer {org.admin.token}"},
        )
    app.state.engine.dispose()
    assert response.status_code == 503
    assert "did not answer" in response.json()["detail"]
