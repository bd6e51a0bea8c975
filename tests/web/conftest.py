"""Browser tests: a real `tenantry serve` on a fresh database with the demo seed, driven by
Playwright in Debian's Chromium (headless). `make test` installs Chromium when it is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_tcp_port, wait_until_up
from tests.databases import fresh_database
from tests.dns_server import LoopbackDns
from tests.operations.servers import FAST_HASHES

CHROMIUM = os.environ.get("TENANTRY_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@contextmanager
def demo_server(
    backend: str, dns: LoopbackDns, tmp: Path, host: str = "127.0.0.1"
) -> Iterator[str]:
    """The demo platform, as `make run` serves it, on this backend, asking the loopback DNS
    server (the suite's ``dns`` fixture) for TXT records, at http://``host``:port (also its
    TENANTRY_PUBLIC_URL: WebAuthn wants a host name, ``localhost``, not an address)."""
    with fresh_database(backend, tmp) as url:
        env = {
            **os.environ,
            "TENANTRY_DATABASE_URL": url,
            "TENANTRY_DATA_DIR": str(tmp),
            "TENANTRY_SECRET_KEY": "w" * 48,
            "TENANTRY_SIGNUP_PER_ADDRESS_PER_HOUR": "100000",
            "TENANTRY_DNS_RESOLVER": dns.address,
            "TENANTRY_DNS_TIMEOUT_SECONDS": "2",
            # Cheap hashing, as everywhere in the suite: seeding and each sign-in cost less.
            **FAST_HASHES,
        }
        port = free_tcp_port()
        base = f"http://{host}:{port}"
        env["TENANTRY_PUBLIC_URL"] = base
        cli = str(Path(sys.executable).with_name("tenantry"))
        for args in (["db", "upgrade"], ["demo"]):
            subprocess.run([cli, *args], env=env, check=True, capture_output=True)
        process = subprocess.Popen(
            [cli, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(base, process)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(
    backend: str, dns: LoopbackDns, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The demo platform at http://127.0.0.1:port."""
    with demo_server(backend, dns, tmp_path_factory.mktemp("web")) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `make test` (installs it).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A desktop-sized tab, closed after the test."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    yield page
    page.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest, backend: str) -> object:
    """Save a screenshot, always (so taking one is exercised on every run): under
    docs/screenshots on the SQLite run of `make screenshots` (TENANTRY_SCREENSHOTS=1; they are
    committed and shown in the README), in the test's temporary directory otherwise, so a
    plain test run leaves the working tree as it was."""
    keep = backend == "sqlite" and os.environ.get("TENANTRY_SCREENSHOTS") == "1"
    folder = SCREENSHOTS if keep else request.getfixturevalue("tmp_path")

    def take(page: object, name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]

    return take
