"""The process's Prometheus counters (prometheus-client), incremented where things happen and
exposed by /metrics. They live in prometheus-client's default registry, which also works in its
multi-process mode (``PROMETHEUS_MULTIPROC_DIR``, see operations/monitoring.py)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "tenantry_http_requests",
    "HTTP requests answered, by method, route template and status code",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "tenantry_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template",
    ["method", "route"],
)
REFUSALS = Counter(
    "tenantry_refusals",
    "Requests refused with 403 or 404 problems, by status and problem slug",
    ["status", "slug"],
)
SIGN_IN_FAILURES = Counter(
    "tenantry_sign_in_failures",
    "Failed proofs of identity at sign-in (password or second factor)",
)
