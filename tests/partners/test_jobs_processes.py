"""Bulk jobs across processes: a `tenantry serve` killed (SIGKILL) in the middle of a job and
another one resuming it with no item done twice (checked through each item's audit event and
its effect), and `tenantry jobs watch` following a job to its end."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tenantry.cli import app as cli
from tenantry.core.config import Settings
from tenantry.models import AuditEvent, Job, JobStatus, Tenant, User
from tenantry.partners import job_runner
from tests import factories
from tests.conftest import TEST_SECRET_KEY, Api, Org, Partner, accepted
from tests.operations.servers import serving

ITEMS = 300


def _users(sessions: sessionmaker[Session], org: Org, count: int) -> list[str]:
    """Many users at once, written directly (the API would hash a password for each)."""
    now = datetime.now(UTC)
    with sessions.begin() as session:
        tenant = session.get(Tenant, uuid.UUID(org.tenant_id))
        assert tenant is not None
        label = uuid.uuid4().hex[:8]
        made = [
            factories.user(session, tenant, f"bulk{n}.{label}@{org.domain}", now)
            for n in range(count)
        ]
        return [str(u.id) for u in made]


def _job(sessions: sessionmaker[Session], job_id: str) -> Job:
    with sessions() as session:
        job = session.get(Job, uuid.UUID(job_id))
        assert job is not None
        return job


def _wait(sessions: sessionmaker[Session], job_id: str, done: bool, timeout: float) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(sessions, job_id)
        if (job.status == JobStatus.COMPLETED) if done else job.done > 0:
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not get there: {_job(sessions, job_id).done} done")


def test_a_job_killed_mid_run_is_resumed_with_no_item_done_twice(
    partner: Partner,
    org: Org,
    sessions: sessionmaker[Session],
    database_url: str,
    tmp_path: Path,
) -> None:
    accepted(partner, org)
    agent = partner.agent("full")
    users = _users(sessions, org, ITEMS)
    # Progress is read without taking SQLite's write lock (the app's sessions begin
    # IMMEDIATE, and a busy runner would keep such a reader waiting until it is done).
    engine = create_engine(database_url)
    reader = sessionmaker(engine)
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
    runner_env = {"TENANTRY_JOB_POLL_SECONDS": "0.1", "TENANTRY_JOB_BATCH_SIZE": "5"}
    with serving(database_url, tmp_path / "first", count=1, **runner_env) as [first]:
        job = agent.post(
            "/partner/jobs",
            {
                "action": "require_password_change",
                "targets": [{"tenant_id": org.tenant_id, "user_id": u} for u in users],
            },
            expect=202,
        ).json()
        _wait(reader, job["id"], done=False, timeout=120)
        first.kill()
    killed_at = _job(reader, job["id"])
    assert 0 < killed_at.done < ITEMS, "the kill came too late to test a resume"
    with serving(database_url, tmp_path / "second", count=1, **runner_env):
        finished = _wait(reader, job["id"], done=True, timeout=180)
    engine.dispose()
    assert (finished.done, finished.failed, finished.refused) == (ITEMS, 0, 0)
    with sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.request_id == f"job:{job['id']}")
        ).all()
        flagged = session.scalars(
            select(User.id).where(
                User.id.in_([uuid.UUID(u) for u in users]), User.must_change_password.is_(True)
            )
        ).all()
    per_user = Counter(e.target for e in events)
    assert set(per_user) == {f"user:{u}" for u in users}
    assert max(per_user.values()) == 1  # each item's effect happened once
    assert {e.action for e in events} == {"user.require_password_change"}
    assert len(flagged) == ITEMS


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENANTRY_DATABASE_URL", database_url)
    monkeypatch.setenv("TENANTRY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TENANTRY_SECRET_KEY", TEST_SECRET_KEY)


def test_jobs_watch_follows_a_job_and_fails_when_items_did(
    cli_env: None,
    partner: Partner,
    org: Org,
    sessions: sessionmaker[Session],
    settings: Settings,
) -> None:
    accepted(partner, org)
    agent = partner.agent("full")
    users = _users(sessions, org, 6)

    def make(action: str, who: Api) -> str:
        body = {
            "action": action,
            "targets": [{"tenant_id": org.tenant_id, "user_id": u} for u in users],
        }
        return str(who.post("/partner/jobs", body, expect=202).json()["id"])

    ok = make("block_sign_in", agent)
    slow = settings.model_copy(update={"job_batch_size": 1})

    def run_later() -> None:
        time.sleep(0.3)
        while job_runner.run_batch(sessions, slow):
            time.sleep(0.05)

    thread = threading.Thread(target=run_later)
    thread.start()
    watched = CliRunner().invoke(cli, ["jobs", "watch", ok, "--interval", "0.05"])
    thread.join()
    assert watched.exit_code == 0, watched.output
    assert "completed: 6 succeeded, 0 failed, 0 refused" in watched.output
    listed = CliRunner().invoke(cli, ["jobs", "list", "--partner", partner.org.tenant_id])
    assert ok.split("-")[0] in listed.output

    refused = make("block_sign_in", partner.agent("limited"))
    job_runner.run_pending(sessions, settings)
    failing = CliRunner().invoke(cli, ["jobs", "watch", refused])
    assert failing.exit_code == 1
    assert "6 refused" in failing.output
    assert CliRunner().invoke(cli, ["jobs", "watch", str(uuid.uuid4())]).exit_code == 1
