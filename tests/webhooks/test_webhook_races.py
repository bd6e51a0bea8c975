"""The endpoint limit under parallel requests, on both databases: never more than
MAX_ENDPOINTS, however many creations race for the last places."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tenantry.operations.webhook_endpoints import MAX_ENDPOINTS
from tests.conftest import Org

PARALLEL = 8


def test_parallel_creations_never_pass_the_limit(org: Org) -> None:
    body = {"url": "https://hooks.example.com/x", "events": ["user.created"]}
    path = f"{org.base}/webhooks"
    for _ in range(MAX_ENDPOINTS - 2):
        org.admin.post(path, body, expect=201)
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        codes = list(pool.map(lambda _: org.admin.post(path, body).status_code, range(PARALLEL)))
    assert sorted(codes) == [201, 201] + [409] * (PARALLEL - 2)
    listed = org.admin.get(f"{path}?limit=200").json()["items"]
    assert len(listed) == MAX_ENDPOINTS
