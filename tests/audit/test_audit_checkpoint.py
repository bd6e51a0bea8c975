"""Checkpoints: signed chain heads kept outside the database show what the chain alone can't,
a chain cut short or rewound; a checkpoint not signed with the audit key is refused."""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tenantry.audit import chain as audit
from tenantry.core.clock import utcnow
from tenantry.core.config import Settings
from tests.conftest import Org, cut_off_newest_events, make_org


@pytest.fixture
def key(settings: Settings) -> bytes:
    return audit.audit_key(settings)


def _checkpoint(sessions: sessionmaker[Session], key: bytes) -> str:
    with sessions() as session:
        return json.dumps(audit.checkpoint(session, key, utcnow()))


def _problems(
    sessions: sessionmaker[Session], key: bytes, org: Org, document: str
) -> list[audit.ChainProblem]:
    tenant_id = uuid.UUID(org.tenant_id)
    _, heads = audit.read_checkpoint(document, key)
    with sessions() as session:
        return list(audit.verify(session, key, tenant_id)) + list(
            audit.verify_checkpoint(session, heads, tenant_id)
        )


def test_an_untouched_chain_passes_and_may_grow(
    client: TestClient, sessions: sessionmaker[Session], key: bytes
) -> None:
    org = make_org(client)
    document = _checkpoint(sessions, key)
    org.create_user()
    assert _problems(sessions, key, org, document) == []


def test_truncation_after_a_checkpoint_is_detected(
    client: TestClient, sessions: sessionmaker[Session], key: bytes
) -> None:
    org = make_org(client)
    org.create_user()
    org.create_user()
    document = _checkpoint(sessions, key)
    cut_off_newest_events(sessions, org.tenant_id, keep=1)
    with sessions() as session:
        assert list(audit.verify(session, key, uuid.UUID(org.tenant_id))) == []
    problems = _problems(sessions, key, org, document)
    assert len(problems) == 1 and problems[0].problem.startswith("chain cut short: ends at 1")


def test_a_chain_rewound_and_regrown_is_detected(
    client: TestClient, sessions: sessionmaker[Session], key: bytes
) -> None:
    """Cut off, then new events written with the key by the running app: seq is back, hash
    is not the checkpointed one (as after restoring an older backup)."""
    org = make_org(client)
    org.create_user()
    document = _checkpoint(sessions, key)
    head_seq = json.loads(document)["heads"]
    newest = next(h["seq"] for h in head_seq if h["tenant_id"] == org.tenant_id)
    cut_off_newest_events(sessions, org.tenant_id, keep=1)
    while len(org.admin.get(f"{org.base}/audit-events?limit=200").json()["items"]) < newest:
        org.create_user()
    problems = _problems(sessions, key, org, document)
    assert [p.seq for p in problems] == [newest] and "rewound" in problems[0].problem


@pytest.mark.parametrize(
    "forge",
    [
        lambda doc: {**doc, "heads": [{**h, "seq": h["seq"] - 1} for h in doc["heads"]]},
        lambda doc: {**doc, "signature": "0" * 64},
        lambda doc: {k: v for k, v in doc.items() if k != "signature"},
        lambda doc: ["not", "a", "checkpoint"],
    ],
)
def test_a_forged_checkpoint_is_refused(
    client: TestClient, sessions: sessionmaker[Session], key: bytes, forge: object
) -> None:
    make_org(client)
    document = json.loads(_checkpoint(sessions, key))
    forged = json.dumps(forge(document))  # type: ignore[operator]
    with pytest.raises(audit.CheckpointRefused):
        audit.read_checkpoint(forged, key)


def test_a_checkpoint_of_another_installation_is_refused(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    make_org(client)
    other_key = audit.audit_key(Settings(secret_key="another-installation-" + "k" * 32))
    document = _checkpoint(sessions, other_key)
    with pytest.raises(audit.CheckpointRefused, match="signature"):
        audit.read_checkpoint(document, audit.audit_key(Settings(secret_key="x" * 40)))
