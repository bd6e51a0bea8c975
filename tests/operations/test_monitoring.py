"""/readyz (database answers, schema at head), /metrics (Prometheus text format)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tenantry.app import create_app
from tenantry.core.config import Settings
from tenantry.migrations import alembic_config
from tests.conftest import PASSWORD, Org, free_tcp_port, settings_for
from tests.databases import fresh_database


def readiness_of(settings: Settings) -> tuple[int, dict[str, str]]:
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            response = client.get("/readyz")
    finally:
        app.state.engine.dispose()
    return response.status_code, response.json()


def test_ready_on_a_migrated_database(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert client.get("/healthz").json() == {"status": "ok"}


def test_not_ready_while_the_schema_is_behind(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        command.upgrade(alembic_config(url), "0003")
        status, body = readiness_of(settings_for(url, tmp_path))
    assert status == 503
    assert body["status"] == "unavailable"
    assert "not at head" in body["reason"]


def test_not_ready_when_the_database_is_unreachable(backend: str, tmp_path: Path) -> None:
    unreachable = (
        f"postgresql+psycopg://postgres@127.0.0.1:{free_tcp_port()}/nothing"
        if backend == "postgresql"
        else f"sqlite:///{tmp_path}"  # a directory: SQLite cannot open it
    )
    status, body = readiness_of(settings_for(unreachable, tmp_path))
    assert (status, body["reason"]) == (503, "database unreachable")


def scrape(
    client: TestClient, **headers: str
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_count_requests_by_route_template_refusals_and_failed_sign_ins(
    client: TestClient, org: Org, other_org: Org
) -> None:
    before = scrape(client)
    org.admin.get(f"{org.base}/users")
    other_org.admin.get(f"{org.base}/users", expect=404)
    client.post(
        "/api/v1/auth/token", json={"username": org.admin_upn, "password": "wrong" + PASSWORD}
    )
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    route = "/api/v1/tenants/{tid}/users"
    assert moved("tenantry_http_requests_total", method="GET", route=route, status="200") >= 1
    assert moved("tenantry_http_requests_total", method="GET", route=route, status="404") >= 1
    assert moved("tenantry_http_request_duration_seconds_count", method="GET", route=route) >= 2
    assert moved("tenantry_refusals_total", status="404", slug="not-found") >= 1
    assert moved("tenantry_sign_in_failures_total") >= 1
    assert not any(org.tenant_id in str(labels) for _, labels in after)
    assert ("tenantry_outbox_backlog", ()) in after
    assert ("tenantry_sweep_lag_seconds", ()) in after


def test_metrics_token_makes_the_scrape_bearer_only(database_url: str, tmp_path: Path) -> None:
    app = create_app(settings_for(database_url, tmp_path, metrics_token="scrape-" + "m" * 32))
    try:
        with TestClient(app) as client:
            assert client.get("/metrics").status_code == 401
            wrong = {"Authorization": "Bearer nope"}
            assert client.get("/metrics", headers=wrong).status_code == 401
            assert scrape(client, Authorization="Bearer scrape-" + "m" * 32)
    finally:
        app.state.engine.dispose()
