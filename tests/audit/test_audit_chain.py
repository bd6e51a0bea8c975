"""The audit log's keyed hash chain: intact chains verify; any edit or deletion by SQL is caught,
even when whoever edits recomputes the hashes without the audit key."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from tenantry.audit import chain as audit
from tenantry.core.config import Settings
from tenantry.models import AuditEvent, Tenant
from tests.conftest import Org, cut_off_newest_events, make_org


@pytest.fixture
def key(settings: Settings) -> bytes:
    return audit.audit_key(settings)


def _problems(
    sessions: sessionmaker[Session], key: bytes, tenant_id: str
) -> list[audit.ChainProblem]:
    with sessions() as session:
        return list(audit.verify(session, key, uuid.UUID(tenant_id)))


def _events(org: Org) -> list[dict]:
    return org.admin.get(f"{org.base}/audit-events?limit=200").json()["items"]


def _busy_org(client: TestClient) -> Org:
    org = make_org(client)
    for _ in range(3):
        org.create_user()
    return org


def _recompute_unkeyed(session: Session, tenant_id: str, from_seq: int) -> None:
    """What someone with the database but not the key can do: redo the plain SHA-256 chain
    from ``from_seq`` on and move the head, as the chain was hashed before it was keyed."""
    tid = uuid.UUID(tenant_id)
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.tenant_id == tid).order_by(AuditEvent.seq)
    ).all()
    prev = events[from_seq - 2].hash if from_seq > 1 else "0" * 64
    for event in events[from_seq - 1 :]:
        event.prev_hash = prev
        event.hash = prev = audit.unkeyed_event_hash(event)
    session.flush()
    session.execute(update(Tenant).where(Tenant.id == tid).values(audit_head_hash=prev))


def test_the_audit_key_is_not_the_secret_key(settings: Settings, key: bytes) -> None:
    assert len(key) == 32 and settings.effective_secret_key.encode() not in key
    other = Settings(secret_key="another-installation-key-" + "z" * 32)
    assert audit.audit_key(other) != key


def test_chain_verifies_and_links(
    client: TestClient, sessions: sessionmaker[Session], key: bytes
) -> None:
    org = _busy_org(client)
    events = _events(org)
    assert [e["seq"] for e in events] == list(range(len(events), 0, -1))
    assert events[-1]["action"] == "tenant.create"
    assert _problems(sessions, key, org.tenant_id) == []


def test_editing_an_event_breaks_the_chain(
    client: TestClient, sessions: sessionmaker[Session], key: bytes
) -> None:
    org = _busy_org(client)
    with sessions.begin() as session:
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.tenant_id == uuid.UUID(org.tenant_id), AuditEvent.seq == 3)
            .values(target="user:someone-else")
        )
    problems = _problems(sessions, key, org.tenant_id)
    assert [(p.seq, p.problem) for p in problems] == [(3, "content does not match its hash")]


def test_editing_details_and_recomputing_the_old_sha256_chain_is_caught(
    client: TestClient, sessions: sessionmaker[Session], key: bytes
) -> None:
    org = _busy_org(client)
    with sessions.begin() as session:
        event = session.scalars(
            select(AuditEvent).filter_by(tenant_id=uuid.UUID(org.tenant_id), seq=3)
        ).one()
        event.details = {"forged": True}
        _recompute_unkeyed(session, org.tenant_id, from_seq=3)
    problems = _problems(sessions, key, org.tenant_id)
    assert problems and {p.problem for p in problems} == {audit.RECOMPUTED}
    assert problems[0].seq == 3
    with sessions.begin() as session, pytest.raises(audit.ChainBroken):
        audit.rekey(session, key, uuid.UUID(org.tenant_id))  # never blesses a recomputed chain


def test_rewriting_the_whole_chain_unkeyed_is_reported_and_never_passes(
    client: TestClient, sessions: sessionmaker[Session], key: bytes
) -> None:
    org = _busy_org(client)
    with sessions.begin() as session:
        _recompute_unkeyed(session, org.tenant_id, from_seq=1)
    problems = _problems(sessions, key, org.tenant_id)
    assert problems and {p.problem for p in problems} == {audit.UNKEYED}


def test_rekey_keys_a_chain_written_before_the_key(
    client: TestClient, sessions: sessionmaker[Session], key: bytes
) -> None:
    """An upgraded installation: plain SHA-256 events, then keyed ones chained from them."""
    org = make_org(client)
    with sessions.begin() as session:
        _recompute_unkeyed(session, org.tenant_id, from_seq=1)
    org.create_user()  # written with the key, linked to the unkeyed head
    problems = _problems(sessions, key, org.tenant_id)
    assert problems and {p.problem for p in problems} == {audit.UNKEYED}
    with sessions.begin() as session:
        assert audit.rekey(session, key, uuid.UUID(org.tenant_id)) >= 2
    assert _problems(sessions, key, org.tenant_id) == []
    org.create_user()
    assert _problems(sessions, key, org.tenant_id) == []


def test_deleting_an_event_breaks_the_chain(
    client: TestClient, sessions: sessionmaker[Session], key: bytes
) -> None:
    org = _busy_org(client)
    with sessions.begin() as session:
        session.execute(
            delete(AuditEvent).where(
                AuditEvent.tenant_id == uuid.UUID(org.tenant_id), AuditEvent.seq == 2
            )
        )
    assert any("missing" in p.problem for p in _problems(sessions, key, org.tenant_id))


def test_deleting_the_newest_event_breaks_the_chain(
    client: TestClient, sessions: sessionmaker[Session], key: bytes
) -> None:
    org = _busy_org(client)
    newest = _events(org)[0]["seq"]
    with sessions.begin() as session:
        session.execute(
            delete(AuditEvent).where(
                AuditEvent.tenant_id == uuid.UUID(org.tenant_id), AuditEvent.seq == newest
            )
        )
    problems = _problems(sessions, key, org.tenant_id)
    assert [p.problem for p in problems] == [
        f"chain ends at {newest - 1} but the head says {newest}"
    ]


def test_cutting_off_the_newest_events_and_the_head_passes_without_a_checkpoint(
    client: TestClient, sessions: sessionmaker[Session], key: bytes
) -> None:
    """The limit of the chain alone: only a checkpoint kept elsewhere shows truncation."""
    org = _busy_org(client)
    cut_off_newest_events(sessions, org.tenant_id, keep=2)
    assert _problems(sessions, key, org.tenant_id) == []


def test_rewriting_an_event_with_a_fresh_hash_still_breaks_the_link(
    client: TestClient, sessions: sessionmaker[Session], key: bytes
) -> None:
    org = _busy_org(client)
    with sessions.begin() as session:
        event = session.query(AuditEvent).filter_by(tenant_id=uuid.UUID(org.tenant_id), seq=2).one()
        event.action = "nothing.happened"
        event.hash = audit.event_hash(event, key)
    problems = _problems(sessions, key, org.tenant_id)
    assert [(p.seq, p.problem) for p in problems] == [(3, "does not link to the event before it")]


def test_an_api_clients_name_in_an_event_is_part_of_its_hash(
    client: TestClient, sessions: sessionmaker[Session], key: bytes
) -> None:
    """Events by an API client carry its id and name, both hashed: renaming the actor of an
    event (say, to blame another app) breaks the chain; events by people hash as before."""
    org = make_org(client)
    made = org.admin.post(
        f"{org.base}/api-clients", {"name": "Sync", "roles": ["user_administrator"]}, expect=201
    ).json()
    issued = client.post(
        "https://testserver/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(made["client_id"], made["client_secret"]),
    )
    assert issued.status_code == 200, issued.text
    assert _problems(sessions, key, org.tenant_id) == []
    tid = uuid.UUID(org.tenant_id)
    with sessions.begin() as session:
        event = session.scalars(
            select(AuditEvent).where(
                AuditEvent.tenant_id == tid, AuditEvent.action == "api_client.token"
            )
        ).one()
        assert event.actor_client_id == uuid.UUID(made["id"])
        assert event.actor_client_name and event.actor_client_name.startswith("app 'Sync' of ")
        seq = event.seq
        event.actor_client_name = "app 'Other' of Elsewhere"
    problems = _problems(sessions, key, org.tenant_id)
    assert [(p.seq, p.problem) for p in problems] == [(seq, "content does not match its hash")]
