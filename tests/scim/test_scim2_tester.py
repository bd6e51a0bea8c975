"""Done-when of issue 13: scim2-tester, the SCIM compliance checker, runs against a running
`tenantry serve` at /scim/v2/{tid}/ (over the network, with scim2-client's httpx2 engine) and
every check it makes for what the ServiceProviderConfig declares passes.

Its summary is printed (pytest -s) and kept in the README ("Provisioning by SCIM 2.0")."""

from __future__ import annotations

from collections import Counter
from importlib.metadata import version
from pathlib import Path

import httpx
import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from tests.conftest import unique_label
from tests.operations.servers import serving, sign_up

pytestmark = pytest.mark.slow

FAILED = {Status.ERROR, Status.CRITICAL}


def test_scim2_tester_finds_no_failure(database_url: str, tmp_path: Path) -> None:
    with serving(database_url, tmp_path, count=1) as (server,):
        tenant_id, admin = sign_up(server.url, unique_label("scim"), "Tester")
        made = httpx.post(
            f"{server.url}/api/v1/tenants/{tenant_id}/scim-tokens",
            json={"name": "scim2-tester"},
            headers={"Authorization": f"Bearer {admin}"},
            timeout=30,
        )
        assert made.status_code == 201, made.text
        base = made.json()["scim_base_url"]
        assert base == f"{server.url}/scim/v2/{tenant_id}"
        with httpx2.Client(
            base_url=base,
            headers={"Authorization": f"Bearer {made.json()['token']}"},
            timeout=30,
        ) as http:
            results = check_server(SyncSCIMClient(http))

    counts = Counter(result.status.name for result in results)
    print(f"\nscim2-tester {version('scim2-tester')}: {len(results)} checks, {dict(counts)}")
    for result in results:
        if result.status != Status.SUCCESS:
            print(
                f"  {result.status.name} {result.resource_type or ''} {result.title}: "
                f"{result.reason}"
            )
    failed = [r for r in results if r.status in FAILED]
    assert not failed, "\n".join(
        f"{r.status.name} {r.resource_type or ''} {r.title}: {r.reason} {r.data!r}"[:2000]
        for r in failed
    )
    assert counts[Status.SUCCESS.name] > 0
