"""A load generator for the fault tests: worker threads send writes (new users and groups,
each with a name no other request uses) and reads to several servers in turn, and record
every answer, so a test can check afterwards that every acknowledged write is stored."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from tests.conftest import PASSWORD


@dataclass(frozen=True)
class Answer:
    at: float  # time.monotonic() when the answer (or the failure) came
    server: int
    kind: str  # "user", "group" (writes) or "read"
    key: str  # the user's name or the group's name; "" for reads
    status: int | None  # None: no HTTP answer at all (connection refused, reset, timed out)
    retry_after: str | None = None
    content_type: str = ""
    body: str = ""  # kept for answers that are neither 2xx nor 503

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Load:
    urls: list[str]
    tenant_id: str
    bearer: str
    domain: str  # the tenant's initial domain, for new users' names
    workers: int = 6
    answers: list[Answer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> Load:
        for _ in range(self.workers):
            thread = threading.Thread(target=self._work, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> list[Answer]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
        with self._lock:
            return sorted(self.answers, key=lambda answer: answer.at)

    def _work(self) -> None:
        headers = {"Authorization": f"Bearer {self.bearer}"}
        clients = [httpx.Client(base_url=url, headers=headers, timeout=20) for url in self.urls]
        try:
            while not self._stop.is_set():
                number = next(self._numbers)
                answer = self._send(clients, number)
                with self._lock:
                    self.answers.append(answer)
                if answer.status is None or answer.status == 503:
                    time.sleep(0.1)  # down: don't spin, but keep probing
        finally:
            for client in clients:
                client.close()

    def _send(self, clients: list[httpx.Client], number: int) -> Answer:
        server = number % len(clients)
        client = clients[server]
        base = f"/api/v1/tenants/{self.tenant_id}"
        kind = ("user", "group", "user", "read")[number % 4]
        key = f"load{number}" if kind != "read" else ""
        try:
            if kind == "user":
                response = client.post(
                    f"{base}/users",
                    json={
                        "user_principal_name": f"{key}@{self.domain}",
                        "display_name": key,
                        "password": PASSWORD,
                        "must_change_password": False,
                    },
                )
            elif kind == "group":
                response = client.post(f"{base}/groups", json={"name": key})
            else:
                response = client.get(f"{base}/users", params={"limit": 5})
        except httpx.TransportError:
            return Answer(time.monotonic(), server, kind, key, None)
        status = response.status_code
        ok = 200 <= status < 300 or status == 503
        return Answer(
            time.monotonic(),
            server,
            kind,
            key,
            status,
            response.headers.get("retry-after"),
            response.headers.get("content-type", ""),
            "" if ok else response.text[:500],
        )


def figures(answers: list[Answer]) -> dict[str, int]:
    """What the README reports of a fault run."""
    writes = [answer for answer in answers if answer.kind != "read"]
    statuses = Counter(answer.status for answer in answers)
    return {
        "requests": len(answers),
        "writes": len(writes),
        "writes acknowledged": sum(answer.acknowledged for answer in writes),
        "503 answers": statuses[503],
        "no answer": statuses[None],
        "500 answers": sum(
            1 for answer in answers if answer.status is not None and answer.status >= 500
        )
        - statuses[503],
    }
