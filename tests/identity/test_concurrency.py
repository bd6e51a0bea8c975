"""Identity under parallel requests: a TOTP step is spent once, the throttle counts an attempt
before its password is verified, and argon2 runs a bounded number at a time."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient

from tenantry.app import create_app
from tests.conftest import PASSWORD, Api, FakeClock, Org, enrol_mfa, make_org, settings_for

PARALLEL = 20


@contextmanager
def app_with(
    database_url: str, tmp_path: Path, clock: FakeClock, address: str = "testclient", **limits: int
) -> Iterator[TestClient]:
    app = create_app(settings_for(database_url, tmp_path, **limits), clock=clock)
    with TestClient(app, client=(address, 50000)) as client:
        yield client
    app.state.engine.dispose()


@pytest.fixture
def unthrottled(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[TestClient]:
    """An app whose throttle never trips, so that replays are refused for what they are."""
    with app_with(database_url, tmp_path, clock, throttle_account_failures=100_000) as client:
        yield client


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


def _wrong_password(api: Api, username: str) -> int:
    body = {"username": username, "password": "wrong-password-xx"}
    return int(api.post("/auth/token", body).status_code)


def test_parallel_wrong_passwords_verify_at_most_the_account_limit(
    client: TestClient, org: Org, clock: FakeClock
) -> None:
    """Each attempt is counted before its password is verified: of forty guesses at once only
    the limit's number (5) is verified (a 401), the rest are 429 without costing an argon2."""
    api = Api(client)
    for round_ in range(3):
        codes = _at_once(2 * PARALLEL, _wrong_password, api, org.admin_upn)
        assert codes.count(401) <= 5 and codes.count(401) + codes.count(429) == len(codes)
        if round_ == 0:
            assert codes.count(401) == 5, codes
        clock.advance(seconds=3600)  # past the lockout and the window
    clock.advance(seconds=3600)
    api.post("/auth/token", {"username": org.admin_upn, "password": PASSWORD}, expect=200)


def test_parallel_wrong_passwords_from_one_address_verify_at_most_its_limit(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    with app_with(
        database_url, tmp_path, clock, address="127.0.0.91", throttle_address_failures=5
    ) as near:
        names = iter([f"nobody{i}@x.test" for i in range(2 * PARALLEL)])
        codes = _at_once(2 * PARALLEL, lambda: _wrong_password(Api(near), next(names)))
        assert sorted(codes) == [401] * 5 + [429] * (2 * PARALLEL - 5)


def test_wrong_current_passwords_count_in_the_account_throttle(
    client: TestClient, org: Org, clock: FakeClock
) -> None:
    api = org.user_api()
    wrong = {"current_password": "wrong-password-xx", "new_password": "An0ther-Passw0rd!"}
    right = {"current_password": PASSWORD, "new_password": "An0ther-Passw0rd!"}
    for _ in range(5):
        api.post("/me/password", wrong, expect=422)
    locked = api.post("/me/password", right, expect=429)
    assert int(locked.headers["retry-after"]) > 0
    upn = api.get("/me").json()["user_principal_name"]
    body = {"username": upn, "password": PASSWORD}
    Api(client).post("/auth/token", body, expect=429)  # one count for both doors
    clock.advance(seconds=61)
    api.post("/me/password", right, expect=204)


def test_parallel_wrong_current_passwords_verify_at_most_the_limit(
    client: TestClient, org: Org
) -> None:
    api = org.user_api()
    wrong = {"current_password": "wrong-password-xx", "new_password": "An0ther-Passw0rd!"}
    codes = [r.status_code for r in _at_once(PARALLEL, api.post, "/me/password", wrong)]
    assert sorted(codes) == [422] * 5 + [429] * (PARALLEL - 5)
