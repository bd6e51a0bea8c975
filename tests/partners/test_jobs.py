"""Bulk jobs (issue 14): each action through the same services as the API, refusals per item
explained, exactly once per item (a batch is one transaction; two runners at once), cancel,
schedule, passwords downloaded once, who may see a job, CSV targets, the cap."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tenantry.core.config import Settings
from tenantry.models import AuditEvent, Job, JobItem
from tenantry.operations import sweeper
from tenantry.partners import job_runner
from tenantry.partners import jobs as job_service
from tests.conftest import (
    PASSWORD,
    Api,
    FakeClock,
    Org,
    Partner,
    accepted,
    make_org,
    make_partner,
    sign_in,
)
from tests.partners.test_api_client_delegation import app_of


def run(sessions: sessionmaker[Session], settings: Settings, clock: FakeClock, **kw: Any) -> int:
    """The runner, as `serve` runs it, at the test's clock."""
    return job_runner.run_pending(sessions, settings, clock(), **kw)


def make_job(agent: Api, body: dict[str, Any], expect: int = 202) -> dict[str, Any]:
    return dict(agent.post("/partner/jobs", body, expect=expect).json())


def items_of(agent: Api, job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(agent.get(f"/partner/jobs/{job['id']}/items?limit=200").json()["items"])


def job_events(sessions: sessionmaker[Session], job_id: str) -> list[AuditEvent]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.request_id == f"job:{job_id}")
                .order_by(AuditEvent.occurred_at, AuditEvent.seq)
            )
        )


@pytest.fixture
def world(partner: Partner, org: Org) -> tuple[Partner, Org, Api]:
    accepted(partner, org)
    return partner, org, partner.agent("full")


def test_user_actions_use_the_services_and_are_audited_with_the_job(
    world: tuple[Partner, Org, Api],
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    partner, org, agent = world
    a, b = org.create_user(), org.create_user()
    targets = [{"tenant_id": org.tenant_id, "user_id": uid} for uid in (a, b)]
    group = org.admin.post(f"{org.base}/groups", {"name": "Sales"}, expect=201).json()
    sub = org.admin.post(
        f"{org.base}/subscriptions", {"sku_id": "business_standard", "seats": 5}, expect=201
    ).json()

    def do(action: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        job = make_job(agent, {"action": action, "params": params or {}, "targets": targets})
        assert (job["status"], job["total"], job["done"], job["failed"]) == ("queued", 2, 0, 0)
        run(sessions, settings, clock)
        done = agent.get(f"/partner/jobs/{job['id']}").json()
        assert (done["status"], done["done"], done["succeeded"]) == ("completed", 2, 2), items_of(
            agent, job
        )
        return done

    job = do("require_password_change")
    for uid in (a, b):
        assert org.admin.get(f"{org.base}/users/{uid}").json()["must_change_password"]
    events = job_events(sessions, job["id"])
    assert [e.action for e in events] == ["user.require_password_change"] * 2
    assert {e.tenant_id for e in events} == {uuid.UUID(org.tenant_id)}
    assert all(e.partner_tenant_id == uuid.UUID(partner.org.tenant_id) for e in events)

    do("block_sign_in")
    assert not org.admin.get(f"{org.base}/users/{a}").json()["enabled"]
    do("unblock_sign_in")
    assert org.admin.get(f"{org.base}/users/{a}").json()["enabled"]

    do("assign_license", {"sku_id": "business_standard"})
    assert org.admin.get(f"{org.base}/subscriptions/{sub['id']}").json()["assigned"] == 2
    do("unassign_license", {"sku_id": "business_standard"})
    assert org.admin.get(f"{org.base}/subscriptions/{sub['id']}").json()["assigned"] == 0

    do("add_to_group", {"group": "Sales"})
    members = org.admin.get(f"{org.base}/groups/{group['id']}/members").json()["items"]
    assert {m["id"] for m in members} == {a, b}
    do("remove_from_group", {"group": "Sales"})
    assert org.admin.get(f"{org.base}/groups/{group['id']}/members").json()["items"] == []

    # Offboard: blocked, sessions ended, licences and memberships gone, in one item.
    org.admin.post(f"{org.base}/groups/{group['id']}/members", {"user_id": a}, expect=201)
    org.admin.post(f"{org.base}/subscriptions/{sub['id']}/licenses", {"user_id": a}, expect=201)
    session_of_a = sign_in(org.client, org.users[a])
    session_of_a.get("/me", expect=200)  # a live session (its password still to change)
    do("offboard")
    assert not org.admin.get(f"{org.base}/users/{a}").json()["enabled"]
    assert org.admin.get(f"{org.base}/subscriptions/{sub['id']}").json()["assigned"] == 0
    assert org.admin.get(f"{org.base}/groups/{group['id']}/members").json()["items"] == []
    session_of_a.get("/me", expect=401)


def test_service_requests_over_customers_and_refusals_explained(
    world: tuple[Partner, Org, Api],
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    partner, org, agent = world
    # A customer offered a relationship that it never accepted: refused, never done.
    pending = make_org(client, "Pending")
    partner.offer({"roles": ["user_administrator"], "customer_tenant_id": pending.tenant_id})
    job = make_job(
        agent,
        {
            "action": "raise_service_request",
            "params": {"title": "Patch Tuesday", "description": "Reboot tonight."},
            "selection": {"customers": {"customers": [org.tenant_id, pending.tenant_id]}},
        },
    )
    assert job["total"] == 2
    run(sessions, settings, clock)
    by_tenant = {i["tenant_id"]: i for i in items_of(agent, job)}
    assert by_tenant[org.tenant_id]["status"] == "succeeded"
    refused = by_tenant[pending.tenant_id]
    assert refused["status"] == "refused"
    assert refused["message"] == "Organisation not found."
    assert refused["customer_name"].startswith("Pending")
    requests = pending.admin.get(f"{pending.base}/service-requests").json()["items"]
    assert requests == []
    titles = [r["title"] for r in org.admin.get(f"{org.base}/service-requests").json()["items"]]
    assert "Patch Tuesday" in titles
    final = agent.get(f"/partner/jobs/{job['id']}").json()
    assert (final["done"], final["refused"], final["succeeded"]) == (2, 1, 1)
    # The refusal is audited in the customer probed... it exists, so there.
    denied = [e for e in job_events(sessions, job["id"]) if e.action == "access.denied"]
    assert [e.tenant_id for e in denied] == [uuid.UUID(pending.tenant_id)]


def test_an_agent_without_the_role_gets_each_item_refused_with_the_reason(
    world: tuple[Partner, Org, Api],
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    partner, org, _ = world
    limited = partner.agent("limited")  # Password Administrator: may not block sign-in
    plain = org.create_user()
    job = make_job(
        limited,
        {
            "action": "block_sign_in",
            "targets": [
                {"tenant_id": org.tenant_id, "user_id": plain},
                {"tenant_id": org.tenant_id, "user_id": org.admin_id},
            ],
        },
    )
    run(sessions, settings, clock)
    items = items_of(limited, job)
    assert [i["status"] for i in items] == ["refused", "refused"]
    assert items[0]["message"].startswith("Denied: users.update")
    assert org.admin.get(f"{org.base}/users/{plain}").json()["enabled"]
    # The same agent may reset the plain user's password, not the Global Administrator's.
    reset = make_job(
        limited,
        {
            "action": "reset_password",
            "targets": [
                {"tenant_id": org.tenant_id, "user_id": plain},
                {"tenant_id": org.tenant_id, "user_id": org.admin_id},
            ],
        },
    )
    run(sessions, settings, clock)
    items = items_of(limited, reset)
    assert [i["status"] for i in items] == ["succeeded", "refused"]
    assert "only a Global Administrator may do this" in items[1]["message"]


def test_missing_things_fail_the_item_and_not_the_job(
    world: tuple[Partner, Org, Api],
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    _, org, agent = world
    uid = org.create_user()
    job = make_job(
        agent,
        {
            "action": "add_to_group",
            "params": {"group": "Nope"},
            "targets": [{"tenant_id": org.tenant_id, "user_id": uid}],
        },
    )
    run(sessions, settings, clock)
    [item] = items_of(agent, job)
    assert (item["status"], item["message"]) == (
        "failed",
        "This organisation has no group named 'Nope'.",
    )
    assert agent.get(f"/partner/jobs/{job['id']}").json()["status"] == "completed"


def test_bad_jobs_are_clear_422s(world: tuple[Partner, Org, Api]) -> None:
    _, org, agent = world
    target = {"tenant_id": org.tenant_id, "user_id": org.admin_id}
    for body, words in [
        ({"action": "assign_license", "targets": [target]}, "needs params.sku_id"),
        (
            {"action": "assign_license", "params": {"sku_id": "nope"}, "targets": [target]},
            "There is no SKU nope",
        ),
        ({"action": "block_sign_in", "params": {"x": "1"}, "targets": [target]}, "not x"),
        ({"action": "block_sign_in", "targets": [{"tenant_id": org.tenant_id}]}, "needs a user_id"),
        ({"action": "block_sign_in", "targets": []}, "no items"),
        ({"action": "block_sign_in"}, "either targets or selection"),
        ({"action": "explode", "targets": [target]}, "action"),
    ]:
        problem = agent.post("/partner/jobs", body, expect=422).json()
        assert words in problem["detail"] + str(problem.get("errors")), problem


def test_the_cap_is_a_clear_422(
    world: tuple[Partner, Org, Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, org, agent = world
    org.create_user()
    org.create_user()
    monkeypatch.setattr(job_service, "MAX_ITEMS", 2)
    problem = agent.post(
        "/partner/jobs",
        {
            "action": "require_password_change",
            "selection": {"customers": {"customers": [org.tenant_id]}},
        },
        expect=422,
    ).json()
    assert "at most 2 items" in problem["detail"]
    assert problem["type"].endswith("too-many-items")


def test_selection_of_users_resolves_at_creation(
    world: tuple[Partner, Org, Api],
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    _, org, agent = world
    org.create_user("zed")
    blocked = org.create_user("zoe")
    org.admin.patch(f"{org.base}/users/{blocked}", {"enabled": False})
    job = make_job(
        agent,
        {
            "action": "unblock_sign_in",
            "selection": {
                "customers": {"customers": [org.tenant_id]},
                "users": {"query": "zo", "disabled": True},
            },
        },
    )
    assert job["total"] == 1
    [item] = items_of(agent, job)
    assert (item["user_id"], item["user_principal_name"]) == (blocked, org.users[blocked])
    run(sessions, settings, clock)
    assert org.admin.get(f"{org.base}/users/{blocked}").json()["enabled"]


def test_csv_targets_and_bad_lines(
    world: tuple[Partner, Org, Api],
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    _, org, agent = world
    a, b = org.create_user(), org.create_user()
    good = f"user_principal_name,note\n{org.users[a]},x\n{org.users[b].upper()},y\n"
    made = agent.post(
        "/partner/jobs/csv",
        data={"action": "require_password_change"},
        files={"file": ("users.csv", good.encode(), "text/csv")},
        expect=202,
    ).json()
    assert made["total"] == 2
    run(sessions, settings, clock)
    assert agent.get(f"/partner/jobs/{made['id']}").json()["succeeded"] == 2
    bad = f"user_principal_name\n{org.users[a]}\nnobody@{org.domain}\nx@unknown.example\n"
    problem = agent.post(
        "/partner/jobs/csv",
        data={"action": "block_sign_in"},
        files={"file": ("users.csv", bad.encode(), "text/csv")},
        expect=422,
    ).json()
    assert "lines 3, 4" in problem["detail"]
    no_column = agent.post(
        "/partner/jobs/csv",
        data={"action": "block_sign_in"},
        files={"file": ("users.csv", b"email\nx@y.example\n", "text/csv")},
        expect=422,
    ).json()
    assert "user_principal_name" in no_column["detail"]


def test_reset_passwords_are_downloaded_once_by_the_creator(
    world: tuple[Partner, Org, Api],
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    partner, org, agent = world
    a, b = org.create_user(), org.create_user()
    job = make_job(
        agent,
        {
            "action": "reset_password",
            "targets": [{"tenant_id": org.tenant_id, "user_id": u} for u in (a, b)],
        },
    )
    agent.get(f"/partner/jobs/{job['id']}/passwords", expect=409)  # not finished yet
    run(sessions, settings, clock)
    with sessions() as session:
        stored = session.scalars(
            select(JobItem.secret).where(JobItem.job_id == uuid.UUID(job["id"]))
        ).all()
    assert all(s and s.count(".") == 4 for s in stored)  # sealed (JWE), not the passwords
    assert agent.get(f"/partner/jobs/{job['id']}").json()["passwords_available"]
    partner.admin.get(f"/partner/jobs/{job['id']}/passwords", expect=403)
    download = agent.get(f"/partner/jobs/{job['id']}/passwords")
    assert download.headers["content-type"].startswith("text/csv")
    lines = download.text.strip().splitlines()
    assert lines[0] == "user_principal_name,tenant_id,user_id,temporary_password"
    rows = {line.split(",")[0]: line.split(",")[3] for line in lines[1:]}
    assert set(rows) == {org.users[a], org.users[b]}
    sign_in(client, org.users[a], rows[org.users[a]])  # the temporary password works
    agent.get(f"/partner/jobs/{job['id']}/passwords", expect=410)
    assert not agent.get(f"/partner/jobs/{job['id']}").json()["passwords_available"]
    with sessions() as session:
        left = session.scalars(
            select(JobItem.secret).where(JobItem.job_id == uuid.UUID(job["id"]))
        ).all()
    assert left == [None, None]
    assert PASSWORD not in download.text


def test_passwords_nobody_downloads_are_forgotten_a_week_after_the_job(
    world: tuple[Partner, Org, Api],
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    """An encrypted credential nobody came for is wiped by the lifecycle sweeper, audited."""
    partner, org, agent = world
    user = org.create_user()
    job = make_job(
        agent,
        {"action": "reset_password", "targets": [{"tenant_id": org.tenant_id, "user_id": user}]},
    )
    run(sessions, settings, clock)
    job_id = uuid.UUID(job["id"])

    def taken() -> object:
        with sessions() as session:
            return session.scalar(select(Job.passwords_taken_at).where(Job.id == job_id))

    clock.advance(days=6)
    sweeper.run_once(sessions, settings, clock())
    assert taken() is None  # still waiting for its creator
    clock.advance(days=2)
    sweeper.run_once(sessions, settings, clock())
    assert taken() is not None  # a download now is a 410 (the agent's token has expired)
    with sessions() as session:
        left = session.scalars(
            select(JobItem.secret).where(JobItem.job_id == uuid.UUID(job["id"]))
        ).all()
        forgotten = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "job.passwords_forgotten",
                AuditEvent.tenant_id == uuid.UUID(partner.org.tenant_id),
            )
        ).all()
    assert left == [None]
    assert len(forgotten) == 1 and forgotten[0].details["count"] == 1


def test_cancel_stops_pending_items_and_schedule_waits(
    world: tuple[Partner, Org, Api],
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    _, org, agent = world
    users = [org.create_user() for _ in range(5)]
    targets = [{"tenant_id": org.tenant_id, "user_id": u} for u in users]
    job = make_job(agent, {"action": "require_password_change", "targets": targets})
    small = settings.model_copy(update={"job_batch_size": 2})
    assert run(sessions, small, clock, max_batches=1) == 1
    cancelled = agent.post(f"/partner/jobs/{job['id']}/cancel", expect=200).json()
    assert (cancelled["status"], cancelled["done"], cancelled["cancelled"]) == ("cancelled", 2, 3)
    run(sessions, settings, clock)
    statuses = [i["status"] for i in items_of(agent, job)]
    assert statuses == ["succeeded"] * 2 + ["cancelled"] * 3
    assert len(job_events(sessions, job["id"])) == 2
    agent.post(f"/partner/jobs/{job['id']}/cancel", expect=409)

    later = (clock() + timedelta(hours=1)).isoformat()
    scheduled = make_job(
        agent, {"action": "block_sign_in", "targets": targets[:1], "not_before": later}
    )
    assert scheduled["status"] == "scheduled"
    run(sessions, settings, clock)
    assert agent.get(f"/partner/jobs/{scheduled['id']}").json()["done"] == 0
    clock.advance(hours=2)
    agent = agent  # the token outlives two hours (8 h by default)
    run(sessions, settings, clock)
    assert agent.get(f"/partner/jobs/{scheduled['id']}").json()["status"] == "completed"
    assert not org.admin.get(f"{org.base}/users/{users[0]}").json()["enabled"]


def test_each_item_is_done_once_with_two_runners_at_once(
    world: tuple[Partner, Org, Api],
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    _, org, agent = world
    job = make_job(
        agent,
        {
            "action": "raise_service_request",
            "params": {"title": "Once", "description": "Only once."},
            "targets": [{"tenant_id": org.tenant_id}],
        },
    )
    users = [org.create_user() for _ in range(12)]
    job = make_job(
        agent,
        {
            "action": "require_password_change",
            "targets": [{"tenant_id": org.tenant_id, "user_id": u} for u in users],
        },
    )
    small = settings.model_copy(update={"job_batch_size": 3})
    errors: list[BaseException] = []

    def runner() -> None:
        try:
            job_runner.run_pending(sessions, small, clock())
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=runner) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    run(sessions, settings, clock)  # whatever a busy runner left
    final = agent.get(f"/partner/jobs/{job['id']}").json()
    assert (final["status"], final["done"], final["succeeded"]) == ("completed", 12, 12)
    events = job_events(sessions, job["id"])
    assert sorted(e.target for e in events) == sorted(f"user:{u}" for u in users)
    # Running again does nothing: every item has its outcome.
    assert run(sessions, settings, clock) == 0
    with sessions() as session:
        count = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.request_id == f"job:{job['id']}")
        )
    assert count == 12


def test_a_disabled_agent_gets_its_items_refused(
    world: tuple[Partner, Org, Api],
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    partner, org, agent = world
    uid = org.create_user()
    job = make_job(
        agent,
        {"action": "block_sign_in", "targets": [{"tenant_id": org.tenant_id, "user_id": uid}]},
    )
    agent_id = agent.get("/me").json()["id"]
    partner.admin.patch(f"{partner.org.base}/users/{agent_id}", {"enabled": False})
    run(sessions, settings, clock)
    with sessions() as session:
        item = session.scalars(select(JobItem).where(JobItem.job_id == uuid.UUID(job["id"]))).one()
    assert item.status == "refused"
    assert "is disabled" in item.message
    assert org.admin.get(f"{org.base}/users/{uid}").json()["enabled"]


def test_who_sees_a_job(
    world: tuple[Partner, Org, Api],
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    partner, org, agent = world
    job = make_job(
        agent,
        {
            "action": "block_sign_in",
            "targets": [{"tenant_id": org.tenant_id, "user_id": org.create_user()}],
        },
    )
    path = f"/partner/jobs/{job['id']}"
    colleague = partner.agent("full")
    colleague.get(path, expect=404)
    colleague.get(f"{path}/items", expect=404)
    colleague.post(f"{path}/cancel", expect=404)
    assert [j["id"] for j in colleague.get("/partner/jobs").json()["items"]] == []
    partner.admin.get(path, expect=200)
    assert job["id"] in [j["id"] for j in partner.admin.get("/partner/jobs").json()["items"]]
    other = make_partner(client, sessions, settings, clock, "Litware")
    for who in (other.admin, other.agent("full")):
        who.get(path, expect=404)
        who.get(f"{path}/items", expect=404)
        who.get(f"{path}/results", expect=404)
        who.post(f"{path}/cancel", expect=404)
        who.get(f"{path}/passwords", expect=404)
    org.admin.get(path, expect=403)  # not a partner at all
    results = agent.get(f"{path}/results")
    assert results.text.splitlines()[0] == "seq,customer_id,customer,user_id,user,status,message"
    assert results.text.splitlines()[1].endswith(",pending,")
    cancelled = partner.admin.post(f"{path}/cancel", expect=200).json()  # an admin may
    assert (cancelled["status"], cancelled["cancelled"]) == ("cancelled", 1)


def test_a_relationship_ended_after_the_job_was_made_refuses_its_items(
    partner: Partner,
    org: Org,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    relationship = accepted(partner, org)
    agent = partner.agent("full")
    uid = org.create_user()
    target = {"tenant_id": org.tenant_id, "user_id": uid}
    job = make_job(agent, {"action": "block_sign_in", "targets": [target]})
    org.admin.delete(f"{org.base}/partner-relationships/{relationship['id']}")
    run(sessions, settings, clock)
    [item] = items_of(agent, job)
    assert (item["status"], item["message"]) == ("refused", "Organisation not found.")
    assert org.admin.get(f"{org.base}/users/{uid}").json()["enabled"]


def test_parallel_downloads_and_cancels_happen_once(
    world: tuple[Partner, Org, Api],
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    _, org, agent = world
    target = [{"tenant_id": org.tenant_id, "user_id": org.create_user()}]
    reset = make_job(agent, {"action": "reset_password", "targets": target})
    run(sessions, settings, clock)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(
                lambda _: agent.get(f"/partner/jobs/{reset['id']}/passwords", expect=None),
                range(4),
            )
        )
    assert sorted(a.status_code for a in answers) == [200, 410, 410, 410]
    waiting = make_job(agent, {"action": "block_sign_in", "targets": target})
    with ThreadPoolExecutor(max_workers=4) as pool:
        cancels = list(
            pool.map(
                lambda _: agent.post(f"/partner/jobs/{waiting['id']}/cancel", expect=None),
                range(4),
            )
        )
    assert sorted(c.status_code for c in cancels) == [200, 409, 409, 409]
    assert agent.get(f"/partner/jobs/{waiting['id']}").json()["cancelled"] == 1


def test_items_are_decided_with_the_second_factor_of_the_sign_in_that_made_the_job(
    world: tuple[Partner, Org, Api],
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    partner, org, _ = world
    without = partner.agent("full", mfa=False)  # signed in with a password only
    uid = org.create_user()
    target = {"tenant_id": org.tenant_id, "user_id": uid}
    job = make_job(without, {"action": "block_sign_in", "targets": [target]})
    run(sessions, settings, clock)
    [item] = items_of(without, job)
    assert item["status"] == "refused"
    assert "multi-factor authentication" in item["message"]
    assert item["user_principal_name"] is None  # it may not read users there: not named
    assert org.admin.get(f"{org.base}/users/{uid}").json()["enabled"]


def test_an_api_client_may_not_make_a_job(world: tuple[Partner, Org, Api]) -> None:
    """Items run as a person (rebuilt from the user row): an app's token is refused."""
    partner, org, _ = world
    _, app = app_of(partner, ["Admin agents"])
    target = {"tenant_id": org.tenant_id, "user_id": org.create_user()}
    refused = app.post(
        "/partner/jobs", {"action": "block_sign_in", "targets": [target]}, expect=403
    )
    assert refused.json()["type"].endswith("user-required")


@pytest.mark.parametrize("reset", ["reset-password", "reset-mfa"])
def test_a_job_loses_its_power_when_its_agent_s_credentials_are_reset(
    world: tuple[Partner, Org, Api],
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
    reset: str,
) -> None:
    """A reset of the agent's password or second factors ends its sessions (a compromised
    account is being taken back): a job its sign-in made must not keep acting with the
    second factor that sign-in proved (nor with the temporary password a reset sets)."""
    partner, org, agent = world
    uid = org.create_user()
    target = {"tenant_id": org.tenant_id, "user_id": uid}
    job = make_job(agent, {"action": "block_sign_in", "targets": [target]})
    agent_id = agent.get("/me").json()["id"]
    partner.admin.post(f"{partner.org.base}/users/{agent_id}/{reset}")
    run(sessions, settings, clock)
    with sessions() as session:
        item = session.scalars(select(JobItem).where(JobItem.job_id == uuid.UUID(job["id"]))).one()
    assert item.status == "refused", item.message
    assert org.admin.get(f"{org.base}/users/{uid}").json()["enabled"]


def test_a_job_keeps_running_after_its_agent_signs_out(
    world: tuple[Partner, Org, Api],
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    _, org, agent = world
    uid = org.create_user()
    job = make_job(
        agent,
        {"action": "block_sign_in", "targets": [{"tenant_id": org.tenant_id, "user_id": uid}]},
    )
    agent.post("/auth/logout", expect=None)
    run(sessions, settings, clock)
    with sessions() as session:
        item = session.scalars(select(JobItem).where(JobItem.job_id == uuid.UUID(job["id"]))).one()
    assert item.status == "succeeded", item.message


def test_offboarding_out_of_a_privileged_group_is_refused_whole(
    world: tuple[Partner, Org, Api],
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    """Offboard removes group memberships as the API's member removal does: a role-holding
    group's members change only on the member path, so the item is refused and nothing of
    it (blocking, sessions, licences) is done."""
    _, org, agent = world
    uid = org.create_user()
    group = org.admin.post(f"{org.base}/groups", {"name": "Helpers"}, expect=201).json()
    org.admin.post(f"{org.base}/groups/{group['id']}/members", {"user_id": uid}, expect=201)
    org.admin.post(
        f"{org.base}/role-assignments",
        {"role": "security_reader", "group_id": group["id"]},
        expect=201,
    )
    session_of_user = sign_in(org.client, org.users[uid])
    job = make_job(
        agent, {"action": "offboard", "targets": [{"tenant_id": org.tenant_id, "user_id": uid}]}
    )
    run(sessions, settings, clock)
    [item] = items_of(agent, job)
    assert item["status"] == "refused", item
    assert org.admin.get(f"{org.base}/users/{uid}").json()["enabled"]
    members = org.admin.get(f"{org.base}/groups/{group['id']}/members").json()["items"]
    assert [m["id"] for m in members] == [uid]
    session_of_user.get("/me", expect=200)  # its sessions live on


def test_a_csv_naming_another_partner_s_customer_is_refused(
    world: tuple[Partner, Org, Api],
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    _, _, agent = world
    other = make_partner(client, sessions, settings, clock, "Litware")
    theirs = make_org(client, "Northwind")
    accepted(other, theirs)
    stranger = theirs.create_user()
    csv_text = f"user_principal_name\n{theirs.users[stranger]}\n"
    problem = agent.post(
        "/partner/jobs/csv",
        data={"action": "block_sign_in"},
        files={"file": ("users.csv", csv_text.encode(), "text/csv")},
        expect=422,
    ).json()
    assert "line" in problem["detail"] and theirs.users[stranger] not in problem["detail"]
    assert agent.get("/partner/jobs").json()["items"] == []


@pytest.mark.parametrize("ahead", [timedelta(days=31), timedelta(days=365 * 7000)])
def test_a_job_is_scheduled_at_most_30_days_ahead(
    world: tuple[Partner, Org, Api], clock: FakeClock, ahead: timedelta
) -> None:
    """A job acts with the power of the sign-in that made it: a time bomb set months ahead
    (by a stolen session, say) would outlive that sign-in by far. 30 days at most: a 422."""
    _, org, agent = world
    target = [{"tenant_id": org.tenant_id, "user_id": org.create_user()}]
    when = (clock() + ahead).isoformat()
    problem = make_job(
        agent, {"action": "block_sign_in", "targets": target, "not_before": when}, expect=422
    )
    assert "30 days" in problem["detail"]
    assert agent.get("/partner/jobs").json()["items"] == []
    ok = (clock() + timedelta(days=30)).isoformat()
    assert (
        make_job(agent, {"action": "block_sign_in", "targets": target, "not_before": ok})["status"]
        == "scheduled"
    )


def test_job_results_carry_no_spreadsheet_formula_from_a_customer(
    partner: Partner,
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    """A customer names itself; its name goes into the partner's results CSV (opened in a
    spreadsheet): no formula out of it (CSV injection), as the reports' cells."""
    org = make_org(client, '=HYPERLINK("https://evil.example","x")')
    accepted(partner, org)
    agent = partner.agent("full")
    target = [{"tenant_id": org.tenant_id, "user_id": org.create_user()}]
    job = make_job(agent, {"action": "block_sign_in", "targets": target})
    run(sessions, settings, clock)
    text = agent.get(f"/partner/jobs/{job['id']}/results").text
    row = text.splitlines()[1]
    assert ",\"'=HYPERLINK(" in row, row


def test_an_agent_taken_out_of_the_agent_groups_gets_its_items_refused(
    world: tuple[Partner, Org, Api],
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    partner, org, agent = world
    uid = org.create_user()
    job = make_job(
        agent,
        {"action": "block_sign_in", "targets": [{"tenant_id": org.tenant_id, "user_id": uid}]},
    )
    agent_id = agent.get("/me").json()["id"]
    partner.admin.request("PUT", f"/partner/agents/{agent_id}", 200, json={"access": "none"})
    run(sessions, settings, clock)
    [item] = items_of(agent, job)
    assert item["status"] == "refused", item
    assert org.admin.get(f"{org.base}/users/{uid}").json()["enabled"]


def test_passwords_are_not_handed_over_where_the_agent_lost_its_access(
    partner: Partner,
    org: Org,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    """Temporary passwords are credentials to the customer's accounts: once the customer
    removed the partner (revocation is immediate), a download made after that gives none of
    that customer's, and wipes them all the same."""
    relationship = accepted(partner, org)
    agent = partner.agent("full")
    target = [{"tenant_id": org.tenant_id, "user_id": org.create_user()}]
    job = make_job(agent, {"action": "reset_password", "targets": target})
    run(sessions, settings, clock)
    assert items_of(agent, job)[0]["status"] == "succeeded"
    org.admin.delete(f"{org.base}/partner-relationships/{relationship['id']}")
    download = agent.get(f"/partner/jobs/{job['id']}/passwords")
    assert download.text.strip().splitlines() == [
        "user_principal_name,tenant_id,user_id,temporary_password"
    ]
    with sessions() as session:
        left = session.scalars(
            select(JobItem.secret).where(JobItem.job_id == uuid.UUID(job["id"]))
        ).all()
    assert left == [None]
