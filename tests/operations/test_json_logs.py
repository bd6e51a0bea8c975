"""TENANTRY_LOG_FORMAT=json: one JSON object per line with the request id, never a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tenantry.app import create_app
from tenantry.core.logs import JsonFormatter
from tests.conftest import PASSWORD, Org, settings_for


@pytest.fixture
def json_logging_app(database_url: str, tmp_path: Path) -> Iterator[Any]:
    loggers = [logging.getLogger(name) for name in ("tenantry", "uvicorn", "uvicorn.error")]
    saved = [(logger.handlers, logger.propagate, logger.level) for logger in loggers]
    app = create_app(settings_for(database_url, tmp_path, log_format="json"))
    yield app
    app.state.engine.dispose()
    for logger, (handlers, propagate, level) in zip(loggers, saved, strict=True):
        logger.handlers, logger.propagate, logger.level = handlers, propagate, level
    logging.getLogger("uvicorn.access").disabled = False


def test_json_lines_carry_the_request_id_and_no_secret(json_logging_app: Any, org: Org) -> None:
    token = str(org.admin.token)
    written = io.StringIO()
    (handler,) = [
        h for h in logging.getLogger("tenantry").handlers if isinstance(h.formatter, JsonFormatter)
    ]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(written)
    with TestClient(json_logging_app) as client:
        me = client.get(
            "/api/v1/me",
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "trace-me-1"},
            cookies={"tenantry_session": token},
        )
        signed_in = client.post(
            "/api/v1/auth/token", json={"username": org.admin_upn, "password": PASSWORD}
        )
        logging.getLogger("tenantry").info("outside any request")
    assert me.status_code == 200 and signed_in.status_code == 200
    output = written.getvalue()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "tenantry.access"]
    assert {"request_id": "trace-me-1", "route": "/api/v1/me", "status": 200}.items() <= (
        access[0].items()
    )
    assert access[1]["route"] == "/api/v1/auth/token"
    assert access[1]["request_id"] == signed_in.headers["X-Request-ID"]
    assert lines[-1]["message"] == "outside any request" and lines[-1]["request_id"] is None
    for secret in (token, PASSWORD, signed_in.json()["access_token"]):
        assert secret not in output
