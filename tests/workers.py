"""What keeps parallel test workers (pytest-xdist, `make test`) apart: each has its own
databases (named after it), temporary directories (pytest's, per worker) and its own block of
loopback ports, so two workers never hand the same port to two servers (and a worker hands
out each port once before it comes round again)."""

from __future__ import annotations

import itertools
import os
import random
import socket

# Ports handed to served processes come from below Linux's ephemeral range (32768-60999), so
# neither another worker nor an outgoing connection the kernel numbers can take one meanwhile.
FIRST_PORT, LAST_PORT = 20_000, 32_000


def worker_id() -> str:
    """gw0, gw1… under xdist; "main" in a plain run."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _block() -> range:
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    worker = worker_id()
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    size = (LAST_PORT - FIRST_PORT) // max(count, 1)
    start = FIRST_PORT + (index % max(count, 1)) * size
    return range(start, start + size)


# From a random place in the block: another test run on the machine (another checkout, CI)
# has workers of the same names, and should not walk the same ports in the same order.
_start = random.randrange(len(_block()))
_next = itertools.cycle([*_block()[_start:], *_block()[:_start]])


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    """A loopback port of this worker's block that nothing is bound to now."""
    for _ in range(len(_block())):
        port = next(_next)
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port in this worker's block")
