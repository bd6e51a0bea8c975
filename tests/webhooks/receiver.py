"""A real HTTP receiver for webhook tests: a small threaded server on a free loopback port
that records every request and answers with the status codes it is told to."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]

    def verify(self, secret: str) -> Any:
        """The payload, verified with the standardwebhooks package (raises when it fails)."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    port: int
    # Status codes for the next requests, in order; 204 once they are used up.
    answers: list[int] = field(default_factory=list)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def of_type(self, event: str) -> list[Received]:
        import json

        return [r for r in self.received if json.loads(r.body)["type"] == event]

    def types(self) -> list[str]:
        import json

        return [json.loads(r.body)["type"] for r in self.received]


@contextmanager
def receiving(answers: list[int] | None = None, delay: float = 0.0) -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver = state["r"]
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            if receiver.delay:
                time.sleep(receiver.delay)
            with receiver.lock:
                receiver.received.append(
                    Received({k.lower(): v for k, v in self.headers.items()}, body)
                )
                code = receiver.answers.pop(0) if receiver.answers else 204
            self.send_response(code)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["r"] = Receiver(server.server_address[1], list(answers or []), delay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["r"]
    finally:
        server.shutdown()
        server.server_close()
