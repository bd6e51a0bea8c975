"""argon2 runs in a bounded number of slots per process: a burst queues, and a wait beyond
the timeout is a 503 with Retry-After rather than a pile-up of memory."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tenantry.core.errors import Unavailable
from tenantry.identity import passwords
from tests.conftest import settings_for


class CountingHasher:
    """Stands in for argon2: takes a while and records how many ran at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.running, self.most = seconds, 0, 0
        self.lock = threading.Lock()

    def _work(self) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(self.seconds)
        with self.lock:
            self.running -= 1

    def hash(self, _password: str) -> str:
        self._work()
        return "hashed"

    def verify(self, _hash: str, _password: str) -> bool:
        self._work()
        return False


def _with_hasher(monkeypatch: pytest.MonkeyPatch, seconds: float) -> CountingHasher:
    fake = CountingHasher(seconds)
    monkeypatch.setattr(passwords, "hasher", lambda _settings: fake)
    return fake


def test_twenty_threads_hash_at_most_the_configured_number_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = _with_hasher(monkeypatch, 0.02)
    settings = settings_for("sqlite://", tmp_path, password_hash_concurrency=3)

    def one(i: int) -> Any:
        if i % 2:
            return passwords.verify_password(settings, "stored", "guess")
        return passwords.hash_password(settings, "a password")

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(one, range(60)))
    assert fake.most == 3


def test_a_wait_beyond_the_timeout_is_a_503_with_retry_after(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _with_hasher(monkeypatch, 0.5)
    settings = settings_for(
        "sqlite://", tmp_path, password_hash_concurrency=1, password_hash_wait_seconds=0.05
    )
    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = pool.submit(passwords.hash_password, settings, "a password")
        time.sleep(0.1)
        with pytest.raises(Unavailable) as refused:
            passwords.verify_password(settings, None, "guess")
        assert slow.result() == "hashed"
    assert refused.value.status == 503 and refused.value.retry_after == 1
