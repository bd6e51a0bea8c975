"""`tenantry serve --forwarded-allow-ips`: behind a load balancer each client keeps its own
address (audit events, sign-in throttle), and only a trusted peer may say so."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import PASSWORD, free_tcp_port, unique_label, wait_until_up

pytestmark = pytest.mark.slow
CLIENT_BEHIND_THE_PROXY = "203.0.113.7"


@contextmanager
def served(
    database_url: str, data_dir: Path, *options: str, trusted_setting: str | None = None
) -> Iterator[str]:
    env = {
        **os.environ,
        "TENANTRY_DATABASE_URL": database_url,
        "TENANTRY_DATA_DIR": str(data_dir),
        "TENANTRY_SECRET_KEY": "behind-a-proxy-test-key-" + "p" * 32,
        "TENANTRY_SIGNUP_PER_ADDRESS_PER_HOUR": "100000",
        "TENANTRY_ARGON2_TIME_COST": "1",
        "TENANTRY_ARGON2_MEMORY_KIB": "1024",
        "TENANTRY_ARGON2_PARALLELISM": "1",
        "TENANTRY_JOBS_INTERVAL_SECONDS": "0",
    }
    env.pop("TENANTRY_FORWARDED_ALLOW_IPS", None)
    env.pop("FORWARDED_ALLOW_IPS", None)
    if trusted_setting is not None:
        env["TENANTRY_FORWARDED_ALLOW_IPS"] = trusted_setting
    port = free_tcp_port()
    cli = str(Path(sys.executable).with_name("tenantry"))
    process = subprocess.Popen(
        [cli, "serve", "--port", str(port), *options],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def recorded_address(url: str) -> str | None:
    """Sign up through the "proxy" and read back the address the tenant's audit log kept."""
    forwarded = {"X-Forwarded-For": CLIENT_BEHIND_THE_PROXY}
    label = unique_label()
    with httpx.Client(base_url=f"{url}/api/v1", headers=forwarded, timeout=10) as http:
        created = http.post(
            "/signup",
            json={
                "organization_name": f"Proxied {label}",
                "initial_domain": label,
                "admin_password": PASSWORD,
            },
        )
        assert created.status_code == 201, created.text
        upn = created.json()["admin_user_principal_name"]
        token = http.post("/auth/token", json={"username": upn, "password": PASSWORD})
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        events = http.get(f"/tenants/{created.json()['tenant_id']}/audit-events").json()
    addresses = {event["client_address"] for event in events["items"]}
    assert len(addresses) == 1, addresses
    return addresses.pop()  # type: ignore[no-any-return]


def test_a_trusted_proxy_passes_on_the_client_address(database_url: str, tmp_path: Path) -> None:
    with served(database_url, tmp_path, "--forwarded-allow-ips", "127.0.0.1") as url:
        assert recorded_address(url) == CLIENT_BEHIND_THE_PROXY


def test_an_untrusted_peer_cannot_claim_another_address(database_url: str, tmp_path: Path) -> None:
    """The option overrides the setting: here only 192.0.2.10 is trusted, not loopback."""
    with served(
        database_url, tmp_path, "--forwarded-allow-ips", "192.0.2.10", trusted_setting="127.0.0.1"
    ) as url:
        assert recorded_address(url) == "127.0.0.1"


def test_the_setting_names_the_trusted_proxy(database_url: str, tmp_path: Path) -> None:
    with served(database_url, tmp_path, trusted_setting="127.0.0.0/8") as url:
        assert recorded_address(url) == CLIENT_BEHIND_THE_PROXY
