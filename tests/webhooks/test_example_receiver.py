"""examples/webhook_receiver.py, run as a process, receives and verifies a real delivery from
a running `tenantry serve` (its sweeper delivers every second here)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD, free_tcp_port, unique_label
from tests.operations.servers import serving, sign_up

pytestmark = pytest.mark.slow
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "webhook_receiver.py"


class Lines:
    """The receiver's stdout, read line by line in a thread."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[dict[str, Any]] = []
        self.thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self.thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(json.loads(line))

    def wait_for(self, check: Any, seconds: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for line in self.lines:
                if check(line):
                    return line
            time.sleep(0.1)
        raise AssertionError(f"not seen in {seconds} s; the receiver printed {self.lines}")


def test_the_example_receiver_verifies_a_delivery_from_a_running_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    environment = {
        "TENANTRY_JOBS_INTERVAL_SECONDS": "1",
        "TENANTRY_WEBHOOKS_ALLOW_PRIVATE_NETWORKS": "1",
        "TENANTRY_WEBHOOKS_ALLOW_HTTP": "1",
    }
    with serving(database_url, tmp_path_factory.mktemp("hooks"), 1, **environment) as servers:
        base = f"{servers[0].url}/api/v1"
        label = unique_label()
        tenant_id, token = sign_up(servers[0].url, label, "Receiver Example")
        auth = {"Authorization": f"Bearer {token}"}
        port = free_tcp_port()
        made = httpx.post(
            f"{base}/tenants/{tenant_id}/webhooks",
            json={"url": f"http://127.0.0.1:{port}/", "events": ["user.created"]},
            headers=auth,
            timeout=30,
        )
        assert made.status_code == 201, made.text
        endpoint = made.json()
        receiver = subprocess.Popen(
            [sys.executable, str(EXAMPLE), "--port", str(port)],
            env={"WEBHOOK_SECRET": endpoint["secret"], "PATH": "/usr/bin:/bin"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            lines = Lines(receiver)
            lines.wait_for(lambda line: "listening" in line)
            upn = f"ada@{label}.tenantry.test"
            created = httpx.post(
                f"{base}/tenants/{tenant_id}/users",
                json={"user_principal_name": upn, "display_name": "Ada", "password": PASSWORD},
                headers=auth,
                timeout=30,
            )
            assert created.status_code == 201, created.text
            got = lines.wait_for(lambda line: line.get("type") == "user.created")
            assert got["verified"] is True and got["duplicate"] is False
            assert got["data"]["user_principal_name"] == upn
            assert got["data"]["id"] == created.json()["id"]
            # A forged delivery is refused by the example (400) and printed as unverified.
            forged = httpx.post(
                f"http://127.0.0.1:{port}/",
                content=b'{"type":"user.created","timestamp":"x","data":{}}',
                headers={
                    "webhook-id": "msg_forged",
                    "webhook-timestamp": str(int(time.time())),
                    "webhook-signature": "v1,AAAA",
                },
                timeout=10,
            )
            assert forged.status_code == 400
            lines.wait_for(lambda line: line.get("verified") is False)
            deliveries = httpx.get(
                f"{base}/tenants/{tenant_id}/webhooks/{endpoint['id']}/deliveries",
                headers=auth,
                timeout=30,
            ).json()["items"]
            assert deliveries[0]["status"] == "delivered"
            assert deliveries[0]["message_id"] == got["webhook_id"]
        finally:
            receiver.terminate()
            receiver.wait(timeout=10)
