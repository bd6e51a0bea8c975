"""Against running `tenantry serve` processes: a token revoked on one server is refused at its
very next request on the other; examples/scim_provision.py provisions a CSV file into an
organisation (and a second run changes only what changed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import unique_label
from tests.operations.servers import serving, sign_up

pytestmark = pytest.mark.slow
EXAMPLE = Path(__file__).parents[2] / "examples" / "scim_provision.py"


def _token(base: str, tenant_id: str, admin: str, name: str) -> dict:
    made = httpx.post(
        f"{base}/api/v1/tenants/{tenant_id}/scim-tokens",
        json={"name": name},
        headers={"Authorization": f"Bearer {admin}"},
        timeout=30,
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_revoked_on_one_server_refused_on_the_other(database_url: str, tmp_path: Path) -> None:
    with serving(database_url, tmp_path, count=2) as (one, two):
        tenant_id, admin = sign_up(one.url, unique_label("scim"), "Revoker")
        made = _token(one.url, tenant_id, admin, "IdP")
        bearer = {"Authorization": f"Bearer {made['token']}"}
        for server in (one, two):
            assert httpx.get(f"{server.url}/scim/v2/{tenant_id}/Users", headers=bearer).is_success
        revoked = httpx.delete(
            f"{two.url}/api/v1/tenants/{tenant_id}/scim-tokens/{made['id']}",
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert revoked.status_code == 204
        for server in (one, two):
            refused = httpx.get(f"{server.url}/scim/v2/{tenant_id}/Users", headers=bearer)
            assert refused.status_code == 401
            assert refused.headers["content-type"].startswith("application/scim+json")


def test_the_example_provisions_a_csv_file(database_url: str, tmp_path: Path) -> None:
    with serving(database_url, tmp_path, count=1) as (server,):
        label = unique_label("csv")
        tenant_id, admin = sign_up(server.url, label, "Provisioned")
        made = _token(server.url, tenant_id, admin, "HR system")
        people = tmp_path / "people.csv"
        people.write_text(
            "userName,displayName,email,externalId,groups\n"
            "alice,Alice Archer,alice@example.com,hr-1,Sales;Support\n"
            "bob,Bob Baker,bob@example.com,hr-2,Sales\n"
            f"admin@{label}.tenantry.test,Not The Admin,,hr-0,\n",
            encoding="utf-8",
        )

        def provision() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, str(EXAMPLE), str(people), "--url", made["scim_base_url"]],
                env={"TENANTRY_SCIM_TOKEN": made["token"], "PATH": ""},
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )

        first = provision()
        # The organisation's Global Administrator is privileged: refused, so exit code 1.
        assert first.returncode == 1, first.stdout + first.stderr
        assert "created user alice" in first.stdout and "created user bob" in first.stdout
        assert "created group Sales" in first.stdout and "created group Support" in first.stdout
        assert f"refused admin@{label}.tenantry.test: 403" in first.stdout, first.stdout

        api = {"Authorization": f"Bearer {admin}"}
        users = httpx.get(f"{server.url}/api/v1/tenants/{tenant_id}/users", headers=api).json()
        upns = {u["user_principal_name"]: u for u in users["items"]}
        assert {f"alice@{label}.tenantry.test", f"bob@{label}.tenantry.test"} <= set(upns)
        assert upns[f"admin@{label}.tenantry.test"]["display_name"] != "Not The Admin"
        groups = httpx.get(f"{server.url}/api/v1/tenants/{tenant_id}/groups", headers=api).json()
        sales = next(g for g in groups["items"] if g["name"] == "Sales")
        members = httpx.get(
            f"{server.url}/api/v1/tenants/{tenant_id}/groups/{sales['id']}/members", headers=api
        ).json()["items"]
        assert len(members) == 2

        people.write_text(
            "userName,displayName,email,externalId,groups\n"
            "alice,Alice Archer-Smith,alice@example.com,hr-1,Sales\n"
            "carol,Carol Cooper,,hr-3,Sales\n",
            encoding="utf-8",
        )
        second = provision()
        assert second.returncode == 0, second.stdout + second.stderr
        assert "updated user alice" in second.stdout and "created user carol" in second.stdout
        assert "added 1 members to group Sales" in second.stdout
        assert "bob" not in second.stdout
