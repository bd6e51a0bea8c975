"""The operator's commands for services (both databases): register, list, rotate-secret,
disable, and rotating the provider's signing keys; bad input is one readable line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tenantry.cli import app
from tests.conftest import TEST_SECRET_KEY, Org, unique_label
from tests.services.oidc_helpers import BASE, REDIRECT, Service, code_for, redeem

runner = CliRunner()


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENANTRY_DATABASE_URL", database_url)
    monkeypatch.setenv("TENANTRY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TENANTRY_SECRET_KEY", TEST_SECRET_KEY)


def run(*args: str) -> object:
    return runner.invoke(app, list(args), catch_exceptions=False)


def printed(output: str, name: str) -> str:
    found = re.search(rf"^{name}: (\S+)$", output, re.MULTILINE)
    assert found, output
    return found.group(1)


def test_register_list_rotate_disable_and_rotate_keys(
    cli_env: None, client: TestClient, org: Org
) -> None:
    name = unique_label("Files ")
    made = run("service", "register", name, "--redirect-uri", REDIRECT)
    assert made.exit_code == 0, made.output  # type: ignore[attr-defined]
    client_id = printed(made.output, "client_id")  # type: ignore[attr-defined]
    old_secret = printed(made.output, "client_secret")  # type: ignore[attr-defined]
    listed = run("service", "list")
    assert client_id in listed.output and name in listed.output  # type: ignore[attr-defined]
    again = run("service", "register", name, "--redirect-uri", REDIRECT)
    assert again.exit_code == 1 and "registered already" in again.output  # type: ignore[attr-defined]
    bad = run("service", "register", unique_label("X"), "--redirect-uri", "http://evil.example/")
    assert bad.exit_code == 1 and "https" in bad.output  # type: ignore[attr-defined]
    unknown = run(
        "service",
        "register",
        unique_label("Y"),
        "--redirect-uri",
        REDIRECT,
        "--require-license",
        "no_such_sku",
    )
    assert unknown.exit_code == 1 and "SKU" in unknown.output  # type: ignore[attr-defined]

    rotated = run("service", "rotate-secret", client_id)
    new_secret = printed(rotated.output, "client_secret")  # type: ignore[attr-defined]
    code, verifier = code_for(client, org.admin.token, Service(client_id, old_secret, name, None))
    assert (
        redeem(client, Service(client_id, old_secret, name, None), code, verifier).status_code
        == 401
    )
    code, verifier = code_for(client, org.admin.token, Service(client_id, new_secret, name, None))
    assert (
        redeem(client, Service(client_id, new_secret, name, None), code, verifier).status_code
        == 200
    )

    kids = {k["kid"] for k in client.get(BASE + "/oauth2/jwks").json()["keys"]}
    keys = run("oidc", "rotate-keys")
    assert keys.exit_code == 0, keys.output  # type: ignore[attr-defined]
    new_kid = printed(keys.output, "signing key")  # type: ignore[attr-defined]
    published = {k["kid"] for k in client.get(BASE + "/oauth2/jwks").json()["keys"]}
    assert new_kid in published and new_kid not in kids

    assert run("service", "disable", name).exit_code == 0
    assert "enabled=no" in run("service", "list").output  # type: ignore[attr-defined]
    refused = client.get(
        BASE + "/oauth2/authorize",
        params={"client_id": client_id, "response_type": "code", "redirect_uri": REDIRECT},
        headers={"Cookie": f"tenantry_session={org.admin.token}"},
        follow_redirects=False,
    )
    assert refused.status_code == 400 and "location" not in refused.headers
