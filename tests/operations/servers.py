"""Real `tenantry serve` processes for the multi-process and fault tests, and a PostgreSQL
server of the test's own that it may stop, crash and start again."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import PASSWORD, TEST_SECRET_KEY, free_tcp_port, wait_until_up

# Cheap argon2 so that a load of user creations measures the database, not the hash.
FAST_HASHES = {
    "TENANTRY_ARGON2_TIME_COST": "1",
    "TENANTRY_ARGON2_MEMORY_KIB": "1024",
    "TENANTRY_ARGON2_PARALLELISM": "1",
}


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, whatever was in flight is cut off."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serving(
    database_url: str, data_dir: Path, count: int = 2, **environment: str
) -> Iterator[list[Server]]:
    """``count`` servers on one database. Their output goes to files (a pipe nobody reads
    would fill up under load and stall the server)."""
    env = {
        **os.environ,
        "TENANTRY_DATABASE_URL": database_url,
        "TENANTRY_DATA_DIR": str(data_dir),
        "TENANTRY_SECRET_KEY": TEST_SECRET_KEY,
        "TENANTRY_SIGNUP_PER_ADDRESS_PER_HOUR": "100000",
        **FAST_HASHES,
        **environment,
    }
    cli = str(Path(sys.executable).with_name("tenantry"))
    servers = []
    try:
        for number in range(count):
            port = free_tcp_port()
            log = data_dir / f"serve-{number}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [cli, "serve", "--port", str(port)],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            servers.append(Server(f"http://127.0.0.1:{port}", process, log))
        for server in servers:
            wait_until_up(server.url, server.process)
        yield servers
    finally:
        for server in servers:
            if server.process.poll() is None:
                server.process.terminate()
        for server in servers:
            try:
                server.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


def sign_up(base: str, label: str, name: str = "Faults") -> tuple[str, str]:
    """A new organisation through the public API: (tenant id, its admin's bearer token)."""
    response = httpx.post(
        f"{base}/api/v1/signup",
        json={"organization_name": name, "initial_domain": label, "admin_password": PASSWORD},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    token = httpx.post(
        f"{base}/api/v1/auth/token",
        json={"username": body["admin_user_principal_name"], "password": PASSWORD},
        timeout=30,
    )
    assert token.status_code == 200, token.text
    return str(body["tenant_id"]), str(token.json()["access_token"])


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb in a temporary directory, its own port),
    so the test can restart or crash the server without touching the shared one."""

    def __init__(self) -> None:
        bindir = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=True
        ).stdout.strip()
        self.bin = Path(bindir)
        # Not under pytest's temporary directory: that one is private to the user running
        # the tests, and the server may run as another user.
        self.directory = Path(tempfile.mkdtemp(prefix="tenantry-pg-"))
        self.data = self.directory / "data"
        self.port = free_tcp_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        # PostgreSQL refuses to run as root: as root, the cluster belongs to "postgres".
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.directory, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    @staticmethod
    def available() -> bool:
        return shutil.which("pg_config") is not None and (
            os.geteuid() != 0 or shutil.which("runuser") is not None
        )

    def _run(self, program: str, *arguments: str) -> None:
        done = subprocess.run(
            [*self.as_user, str(self.bin / program), *arguments], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast`` ends every session (clients see 57P01), ``immediate`` is a crash: the next
        start replays the write-ahead log."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Stop the server if it runs and delete the cluster."""
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    @property
    def log(self) -> Path:
        return self.directory / "postgres.log"
