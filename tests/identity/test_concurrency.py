"""Identity under parallel requests: a TOTP step is spent once, the throttle counts an attempt
before its password is verified, and argon2 runs a bounded number at a time."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient

from tenantry.app import create_app
from tests.conftest import PASSWORD, Api, FakeClock, Org, enrol_mfa, make_org, settings_for

PARALLEL = 20


@pytest.fixture
def unthrottled(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[TestClient]:
    """An app whose throttle never trips, so that replays are refused for what they are."""
    settings = settings_for(database_url, tmp_path, throttle_account_failures=100_000)
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def _at_once(count: int, request: Any, *args: Any) -> list[Any]:
    """``count`` calls of ``request(*args)`` at the same time."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: request(*args), range(count)))


def test_parallel_sign_ins_spend_a_totp_step_once(
    unthrottled: TestClient, clock: FakeClock
) -> None:
    org = make_org(unthrottled)
    totp = pyotp.TOTP(enrol_mfa(org.admin, clock))
    api = Api(unthrottled)
    for round_ in range(3):
        clock.advance(seconds=90)  # a step no round has used yet
        body = {"username": org.admin_upn, "password": PASSWORD, "totp_code": totp.at(clock())}
        responses = _at_once(PARALLEL, api.post, "/auth/token", body)
        codes = sorted(r.status_code for r in responses)
        assert codes == [200] + [401] * (PARALLEL - 1), (round_, codes)
        refused = [r.json() for r in responses if r.status_code == 401]
        assert {p["type"] for p in refused} == {"urn:tenantry:problem:invalid-credentials"}


def test_parallel_confirmations_of_a_new_factor_turn_it_on_once(
    client: TestClient, org: Org, clock: FakeClock
) -> None:
    secret = org.admin.post("/me/mfa/totp", {"password": PASSWORD}, expect=200).json()["secret"]
    code = pyotp.TOTP(secret).at(clock())
    responses = _at_once(PARALLEL, lambda: org.admin.post("/me/mfa/totp/confirm", {"code": code}))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) == 1 and 500 not in codes, codes
    # The step is spent: the first sign-in with the same code is refused.
    Api(client).post(
        "/auth/token",
        {"username": org.admin_upn, "password": PASSWORD, "totp_code": code},
        expect=401,
    )
