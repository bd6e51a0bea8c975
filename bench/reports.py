"""The users report across every customer (issue 14: 500,000 rows at 10,000 x 50), through the
whole ASGI app in-process: time to the first byte, time to the first data row, total time,
and the process's memory growth while it streams.

The app is called as an ASGI server would call it, with a ``send`` that counts the body and
throws it away (httpx's ASGI transport would buffer the whole body, which is neither
streaming nor what a client holds). Memory: the resident set size (RSS, /proc/self/statm) read
at every piece of the body, the highest minus the RSS just before the request.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from rich.table import Table

REPORT_PATH = "/api/v1/partner/reports/users"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """The process's resident set size now (Linux); 0 where /proc is missing."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_SIZE
    except OSError:
        return 0


async def _stream(app: Any, token: str, accept: str) -> dict[str, float]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": REPORT_PATH,
        "raw_path": REPORT_PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"accept", accept.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
    }
    done = asyncio.Event()
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    figures = {"status": 0.0, "first_byte": 0.0, "first_row": 0.0, "bytes": 0.0, "lines": 0.0}
    baseline = rss_bytes()
    peak = baseline
    began = time.perf_counter()

    async def send(message: dict[str, Any]) -> None:
        nonlocal peak
        if message["type"] == "http.response.start":
            figures["status"] = message["status"]
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            now = time.perf_counter() - began
            if body and not figures["first_byte"]:
                figures["first_byte"] = now
            lines = body.count(b"\n")
            if lines and figures["lines"] + lines > 1 and not figures["first_row"]:
                figures["first_row"] = now  # a data row (past the CSV header)
            figures["lines"] += lines
            figures["bytes"] += len(body)
            peak = max(peak, rss_bytes())
            if not message.get("more_body", False):
                done.set()

    await app(scope, receive, send)
    figures["total"] = time.perf_counter() - began
    figures["rss_growth_mb"] = (peak - baseline) / 1e6
    return figures


def users_report(app: Any, agent_token: str, table: Table, label: str) -> None:
    """Run the users report once as CSV (after a small warm-up of the app, not of the data)
    and add its figures to the table; targets: first byte <= 1 s, total <= 20 s, memory
    growth <= 100 MB."""

    async def run() -> dict[str, float]:
        async with app.router.lifespan_context(app):
            return await _stream(app, agent_token, "text/csv")

    figures = asyncio.run(run())
    assert figures["status"] == 200, figures
    rows = int(figures["lines"]) - 1  # less the header row
    table.add_row(
        label,
        f"users report CSV, {rows:,} rows: first byte / first row",
        f"{figures['first_byte'] * 1000:.0f}",
        f"{figures['first_row'] * 1000:.0f}",
        "(ms)",
    )
    table.add_row(
        label,
        f"users report CSV, {figures['bytes'] / 1e6:.0f} MB: total, RSS growth",
        "",
        "",
        f"{figures['total']:.1f} s, {figures['rss_growth_mb']:.0f} MB",
    )
