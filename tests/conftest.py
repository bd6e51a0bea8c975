"""Fixtures shared by every test: a migrated database per backend, the app, and factories.

Every database test runs on SQLite and on PostgreSQL (``backend`` is parametrized). Tests
never clean up: each creates its own uniquely named organisations.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from tenantry.access.roles import Role
from tenantry.app import create_app
from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.core.db import make_engine, make_sessionmaker
from tenantry.directory import tenants
from tenantry.migrations import alembic_config
from tenantry.models import AuditEvent, Tenant
from tenantry.operations import sweeper as jobs
from tenantry.partners import enrolment as partners
from tests.databases import fresh_database, postgres_base_url
from tests.dns_server import LoopbackDns
from tests.workers import free_port

BACKENDS = ["sqlite", "postgresql"]
PASSWORD = "Correct-Horse-Battery-9"
# One secret key for the app, the CLI and served processes: the audit chain is keyed from it.
TEST_SECRET_KEY = "test-secret-key-" + "x" * 32


class FakeClock:
    """Real time plus an offset the test can move (tests move time, they never sleep)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **kwargs: float) -> None:
        self.offset += timedelta(**kwargs)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (`make test`): a worker per CPU this process may use, logical ones counted
    (xdist would count physical cores where psutil is installed)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


def settings_for(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "secret_key": TEST_SECRET_KEY,
        # Cheap hashing keeps the suite fast; production uses argon2-cffi's defaults.
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        "argon2_parallelism": 1,
        "throttle_address_failures": 100_000,
        "signup_per_address_per_hour": 100_000,
        "dns_timeout_seconds": 2.0,
        "jobs_interval_seconds": 0,  # tests run the sweeper themselves, with a moved clock
        "job_poll_seconds": 0,  # and bulk jobs (partners/job_runner.run_pending)
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and not postgres_base_url():
        pytest.skip("TENANTRY_TEST_POSTGRES_URL is not set (CI sets it)")
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(backend, tmp_path_factory.mktemp(backend)) as url:
        command.upgrade(alembic_config(url), "head")
        yield url


@pytest.fixture(scope="session")
def dns() -> Iterator[LoopbackDns]:
    server = LoopbackDns()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def settings(
    database_url: str, dns: LoopbackDns, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return settings_for(database_url, tmp_path_factory.mktemp("data"), dns_resolver=dns.address)


@pytest.fixture(scope="session", autouse=True)
def _own_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Settings made without a data dir (``Settings(...)`` in a test) use this worker's own
    temporary one, never the checkout's var/ that parallel workers would share."""
    before = os.environ.get("TENANTRY_DATA_DIR")
    os.environ["TENANTRY_DATA_DIR"] = str(tmp_path_factory.mktemp("default-data"))
    yield
    if before is None:
        os.environ.pop("TENANTRY_DATA_DIR", None)
    else:
        os.environ["TENANTRY_DATA_DIR"] = before


@pytest.fixture(scope="session")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def _reset_clock(clock: FakeClock) -> None:
    clock.offset = timedelta()


@pytest.fixture(scope="session")
def app(settings: Settings, clock: FakeClock) -> Any:
    application = create_app(settings, clock=clock)
    yield application
    application.state.engine.dispose()


@pytest.fixture(scope="session")
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def sessions(app: Any) -> sessionmaker[Session]:
    return make_sessionmaker(app.state.engine)


@pytest.fixture(scope="session")
def engine_for(database_url: str) -> Any:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


# --- API helpers ----------------------------------------------------------------------------


class Api:
    """The HTTP API as one signed-in caller sees it (prefix and token filled in)."""

    def __init__(self, client: TestClient, token: str | None = None) -> None:
        self.client = client
        self.token = token

    def request(self, method: str, path: str, expect: int | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        response = self.client.request(method, "/api/v1" + path, headers=headers, **kwargs)
        if expect is not None:
            assert response.status_code == expect, (
                f"{method} {path}: expected {expect}, got {response.status_code}: {response.text}"
            )
        return response

    def get(self, path: str, expect: int | None = 200, **kw: Any) -> Any:
        return self.request("GET", path, expect, **kw)

    def post(self, path: str, json: Any = None, expect: int | None = None, **kw: Any) -> Any:
        return self.request("POST", path, expect, json=json, **kw)

    def patch(self, path: str, json: Any = None, expect: int | None = 200, **kw: Any) -> Any:
        return self.request("PATCH", path, expect, json=json, **kw)

    def delete(self, path: str, expect: int | None = 204, **kw: Any) -> Any:
        return self.request("DELETE", path, expect, **kw)


def sign_in(
    client: TestClient, username: str, password: str = PASSWORD, totp_code: str | None = None
) -> Api:
    body = {"username": username, "password": password}
    if totp_code:
        body["totp_code"] = totp_code
    response = Api(client).post("/auth/token", body, expect=200)
    return Api(client, response.json()["access_token"])


def unique_label(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@dataclass
class Org:
    """A tenant made through sign-up, with its Global Administrator signed in."""

    client: TestClient
    tenant_id: str
    domain: str
    admin_upn: str
    admin: Api
    admin_id: str = ""
    users: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"/tenants/{self.tenant_id}"

    def create_user(
        self, name: str | None = None, roles: tuple[Role, ...] = (), password: str = PASSWORD
    ) -> str:
        name = name or unique_label("u")
        body = {
            "user_principal_name": f"{name}@{self.domain}",
            "display_name": name.title(),
            "password": password,
            "must_change_password": False,
        }
        user_id = self.admin.post(f"{self.base}/users", body, expect=201).json()["id"]
        for role in roles:
            self.admin.post(
                f"{self.base}/role-assignments",
                {"role": role.value, "user_id": user_id},
                expect=201,
            )
        self.users[user_id] = f"{name}@{self.domain}"
        return str(user_id)

    def user_api(self, roles: tuple[Role, ...] = (), name: str | None = None) -> Api:
        user_id = self.create_user(name, roles)
        return sign_in(self.client, self.users[user_id])


def make_org(client: TestClient, name: str = "Contoso") -> Org:
    label = unique_label()
    response = (
        Api(client)
        .post(
            "/signup",
            {
                "organization_name": f"{name} {label}",
                "initial_domain": label,
                "admin_password": PASSWORD,
            },
            expect=201,
        )
        .json()
    )
    admin = sign_in(client, response["admin_user_principal_name"])
    org = Org(
        client,
        response["tenant_id"],
        response["admin_user_principal_name"].split("@")[1],
        response["admin_user_principal_name"],
        admin,
    )
    org.admin_id = admin.get("/me").json()["id"]
    return org


@pytest.fixture
def org(client: TestClient) -> Org:
    return make_org(client)


@pytest.fixture
def other_org(client: TestClient) -> Org:
    return make_org(client, "Northwind")


# --- partners -----------------------------------------------------------------------------


def enrol_mfa(api: Api, clock: FakeClock, password: str = PASSWORD) -> str:
    """Turn on TOTP for the caller (with its password), then sign in again with a code and
    put that multi-factor token in ``api``: enrolling never upgrades the token in use."""
    upn = api.get("/me").json()["user_principal_name"]
    secret = str(api.post("/me/mfa/totp", {"password": password}, expect=200).json()["secret"])
    totp = pyotp.TOTP(secret)
    api.post("/me/mfa/totp/confirm", {"code": totp.at(clock())}, expect=200)
    # The next time step: the one just used is spent (codes are never accepted twice).
    fresh = sign_in(api.client, upn, password, totp.at(clock(), counter_offset=1))
    api.token = fresh.token
    return secret


@dataclass
class Partner:
    org: Org
    clock: FakeClock

    @property
    def admin(self) -> Api:
        return self.org.admin

    def offer(self, body: dict | None = None, expect: int = 201) -> Any:
        return self.admin.post("/partner/offers", body or {}, expect=expect).json()

    def agent(self, access: str = "full", mfa: bool = True) -> Api:
        """A user of the partner with Full/Limited/no administration of customers."""
        user_id = self.org.create_user()
        self.admin.request("PUT", f"/partner/agents/{user_id}", 200, json={"access": access})
        api = sign_in(self.org.client, self.org.users[user_id])
        if mfa:
            enrol_mfa(api, self.clock)
        return api


def make_partner(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
    name: str = "Fabrikam",
) -> Partner:
    """A tenant enrolled in the partner program; its admin has MFA on."""
    org = make_org(client, name)
    with sessions.begin() as session:
        ctx = Context(session=session, settings=settings)
        partners.enroll(ctx, tenants.find_tenant(ctx, org.tenant_id))
    enrol_mfa(org.admin, clock)
    return Partner(org, clock)


@pytest.fixture
def partner(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, clock: FakeClock
) -> Partner:
    return make_partner(client, sessions, settings, clock)


def sweep(
    sessions: sessionmaker[Session], settings: Settings, clock: FakeClock
) -> jobs.SweepReport:
    """One run of the lifecycle sweeper at the test's clock, as `serve` runs it."""
    report, _ = jobs.run_once(sessions, settings, clock())
    return report


class Agent:
    """A Full agent that can sign in again after the clock moves (tokens expire)."""

    def __init__(self, partner: Partner) -> None:
        self.partner = partner
        user_id = partner.org.create_user()
        partner.admin.request("PUT", f"/partner/agents/{user_id}", 200, json={"access": "full"})
        self.upn = partner.org.users[user_id]
        self.api = sign_in(partner.org.client, self.upn)
        self.secret = enrol_mfa(self.api, partner.clock)

    def fresh(self) -> Api:
        code = pyotp.TOTP(self.secret).at(self.partner.clock())
        return sign_in(self.partner.org.client, self.upn, totp_code=code)


def accepted(partner: Partner, customer: Org, body: dict | None = None) -> dict:
    """The customer's Global Administrator accepts a fresh offer of the partner."""
    offer = partner.offer(body)
    return dict(customer.admin.post(f"/offers/{offer['token']}/accept", expect=201).json())


# --- a real SMTP server on loopback -------------------------------------------------------


class Inbox(Message):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.received: list = []

    def handle_message(self, message) -> None:  # type: ignore[no-untyped-def]
        self.received.append(message)


def free_tcp_port() -> int:
    return free_port(socket.SOCK_STREAM)


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    # Generous: a loaded machine (CI beside other work) can take long to import and migrate.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stdout.read().decode()}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_tcp_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def cut_off_newest_events(sessions: sessionmaker[Session], tenant_id: str, keep: int) -> None:
    """Tamper as someone with database access would: delete a tenant's newest audit events and
    move its head back, so the chain that is left still verifies by itself."""
    tid = uuid.UUID(tenant_id)
    with sessions.begin() as session:
        session.execute(
            delete(AuditEvent).where(AuditEvent.tenant_id == tid, AuditEvent.seq > keep)
        )
        head = session.scalars(select(AuditEvent.hash).filter_by(tenant_id=tid, seq=keep)).one()
        session.execute(
            update(Tenant).where(Tenant.id == tid).values(audit_seq=keep, audit_head_hash=head)
        )
