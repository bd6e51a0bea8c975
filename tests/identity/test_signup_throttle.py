"""Sign-up is throttled per client address (TENANTRY_SIGNUP_PER_ADDRESS_PER_HOUR): 429 with
Retry-After on the API, the reason on the offer page; the allowance comes back after an hour."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tenantry.app import create_app
from tests.conftest import PASSWORD, FakeClock, Partner, settings_for, unique_label


def an_address() -> str:
    """A client address no other test signs up from (the counts live in the database)."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


@pytest.fixture
def strict_app(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Any]:
    app = create_app(settings_for(database_url, tmp_path, signup_per_address_per_hour=2), clock)
    yield app
    app.state.engine.dispose()


def signup_body() -> dict[str, str]:
    label = unique_label()
    return {
        "organization_name": f"Signup {label}",
        "initial_domain": label,
        "admin_password": PASSWORD,
    }


def test_the_api_refuses_sign_ups_past_the_hourly_limit(strict_app: Any, clock: FakeClock) -> None:
    address = an_address()
    with TestClient(strict_app, client=(address, 50000)) as client:
        for _ in range(2):
            assert client.post("/api/v1/signup", json=signup_body()).status_code == 201
        refused = client.post("/api/v1/signup", json=signup_body())
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert 0 < int(refused.headers["Retry-After"]) <= 3600
        assert "Too many sign-ups" in refused.json()["detail"]
        clock.advance(seconds=3601)
        assert client.post("/api/v1/signup", json=signup_body()).status_code == 201
    with TestClient(strict_app, client=(an_address(), 50000)) as elsewhere:
        assert elsewhere.post("/api/v1/signup", json=signup_body()).status_code == 201


def test_a_refused_or_failed_sign_up_uses_up_nothing(strict_app: Any) -> None:
    with TestClient(strict_app, client=(an_address(), 50000)) as client:
        invalid = {**signup_body(), "admin_password": "short"}
        for _ in range(3):
            assert client.post("/api/v1/signup", json=invalid).status_code == 422
        for _ in range(2):
            assert client.post("/api/v1/signup", json=signup_body()).status_code == 201


def offer_page_sign_up(app: Any, address: str, token: str) -> str:
    """Create an account from the offer page, as a new visitor; the page it ends on."""
    with TestClient(app, client=(address, 50000)) as visitor:
        page = visitor.get(f"/offers/{token}")
        found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text)
        assert found is not None, page.text
        form = {
            "csrf_token": found.group(1),
            **signup_body(),
            "confirm_password": PASSWORD,
            "authorize": "yes",
        }
        return str(visitor.post(f"/offers/{token}/signup", data=form).text)


def test_the_offer_page_says_why_it_refuses(strict_app: Any, partner: Partner) -> None:
    token = partner.offer({"roles": ["user_administrator"], "duration": "P180D"})["token"]
    address = an_address()
    for _ in range(2):
        assert "Welcome" in offer_page_sign_up(strict_app, address, token)
    refused = offer_page_sign_up(strict_app, address, token)
    assert "Too many sign-ups from your address" in refused
