"""The audit log's hash chain: intact chains verify; any edit or deletion by SQL is caught."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from tenantry.audit import chain as audit
from tenantry.models import AuditEvent
from tests.conftest import Org, make_org


def _problems(sessions: sessionmaker[Session], tenant_id: str) -> list[audit.ChainProblem]:
    with sessions() as session:
        return list(audit.verify(session, uuid.UUID(tenant_id)))


def _events(org: Org) -> list[dict]:
    return org.admin.get(f"{org.base}/audit-events?limit=200").json()["items"]


def _busy_org(client: TestClient) -> Org:
    org = make_org(client)
    for _ in range(3):
        org.create_user()
    return org


def test_chain_verifies_and_links(client: TestClient, sessions: sessionmaker[Session]) -> None:
    org = _busy_org(client)
    events = _events(org)
    assert [e["seq"] for e in events] == list(range(len(events), 0, -1))
    assert events[-1]["action"] == "tenant.create"
    assert _problems(sessions, org.tenant_id) == []


def test_editing_an_event_breaks_the_chain(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    org = _busy_org(client)
    with sessions.begin() as session:
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.tenant_id == uuid.UUID(org.tenant_id), AuditEvent.seq == 3)
            .values(target="user:someone-else")
        )
    problems = _problems(sessions, org.tenant_id)
    assert [(p.seq, p.problem) for p in problems] == [(3, "content does not match its hash")]


def test_deleting_an_event_breaks_the_chain(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    org = _busy_org(client)
    with sessions.begin() as session:
        session.execute(
            delete(AuditEvent).where(
                AuditEvent.tenant_id == uuid.UUID(org.tenant_id), AuditEvent.seq == 2
            )
        )
    assert any("missing" in p.problem for p in _problems(sessions, org.tenant_id))


def test_deleting_the_newest_event_breaks_the_chain(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    org = _busy_org(client)
    newest = _events(org)[0]["seq"]
    with sessions.begin() as session:
        session.execute(
            delete(AuditEvent).where(
                AuditEvent.tenant_id == uuid.UUID(org.tenant_id), AuditEvent.seq == newest
            )
        )
    problems = _problems(sessions, org.tenant_id)
    assert [p.problem for p in problems] == [
        f"chain ends at {newest - 1} but the head says {newest}"
    ]


def test_rewriting_an_event_with_a_fresh_hash_still_breaks_the_link(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    org = _busy_org(client)
    with sessions.begin() as session:
        event = session.query(AuditEvent).filter_by(tenant_id=uuid.UUID(org.tenant_id), seq=2).one()
        event.action = "nothing.happened"
        event.hash = audit.event_hash(event)
    problems = _problems(sessions, org.tenant_id)
    assert [(p.seq, p.problem) for p in problems] == [(3, "does not link to the event before it")]
