"""The audit log: append-only events, hash-chained per tenant so edits and deletions show.

Each event stores the hash of the previous one in its tenant; the tenant row keeps the head
(sequence number and hash). Appending bumps the head with an UPDATE first, which takes the row
lock on PostgreSQL (and the write lock on SQLite), so concurrent writers queue instead of forking.

The hash is an HMAC-SHA256 under the audit key, which is derived from the installation's secret
key and never stored in the database: someone who can write to the database but doesn't hold
the key cannot recompute a hash after editing an event. Chains written before the key was used
(plain SHA-256) are reported as unkeyed until ``rekey`` rewrites them once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from tenantry.core.config import Settings
from tenantry.core.context import Context, Principal
from tenantry.core.errors import ServiceError
from tenantry.core.pagination import Page, paginate
from tenantry.models import AuditEvent, Tenant
from tenantry.models.audit import AuditOutcome
from tenantry.models.tenancy import GENESIS_HASH


def _canonical(event: AuditEvent) -> bytes:
    def s(value: object) -> str | None:
        return None if value is None else str(value)

    payload = {
        "tenant_id": s(event.tenant_id),
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "action": event.action,
        "outcome": event.outcome,
        "actor_user_id": s(event.actor_user_id),
        "actor_user_principal_name": event.actor_user_principal_name,
        "actor_tenant_id": s(event.actor_tenant_id),
        "partner_tenant_id": s(event.partner_tenant_id),
        "relationship_id": s(event.relationship_id),
        "target": event.target,
        "details": event.details,
        "request_id": event.request_id,
        "client_address": event.client_address,
        "prev_hash": event.prev_hash,
    }
    # Fields added after the first release enter the hash only when set: an event written
    # before they existed (or without them) hashes exactly as it always did.
    later = {
        "actor_client_id": s(event.actor_client_id),
        "actor_client_name": event.actor_client_name,
    }
    payload.update({key: value for key, value in later.items() if value is not None})
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


# Domain separation: the audit key is not the key cookies and offer links are signed with.
_AUDIT_KEY_LABEL = b"tenantry audit chain key v2"


def audit_key(settings: Settings) -> bytes:
    """The key of every event hash and checkpoint: an HMAC of the secret key with a fixed label,
    so neither the secret key nor any other key derived from it can forge an audit hash."""
    return hmac.new(settings.effective_secret_key.encode(), _AUDIT_KEY_LABEL, "sha256").digest()


def event_hash(event: AuditEvent, key: bytes) -> str:
    """HMAC(key, canonical content including the previous event's hash)."""
    return hmac.new(key, _canonical(event), "sha256").hexdigest()


def unkeyed_event_hash(event: AuditEvent) -> str:
    """The plain SHA-256 of events written before the chain was keyed (read only by ``rekey``)."""
    return hashlib.sha256(_canonical(event)).hexdigest()


def _actor(principal: Principal | None) -> dict[str, Any]:
    """Who acted, as an event's actor columns; an app's or a provisioning token's name in
    words (neither has a user)."""
    named = principal is not None and (principal.is_client or principal.is_provisioning)
    return {
        "actor_user_id": principal.user_id if principal else None,
        "actor_user_principal_name": principal.user_principal_name if principal else None,
        "actor_tenant_id": principal.tenant_id if principal else None,
        "actor_client_id": principal.client_id if principal else None,
        "actor_client_name": principal.display_name if principal and named else None,
    }


def record(
    ctx: Context,
    tenant_id: uuid.UUID,
    action: str,
    target: str = "",
    *,
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    details: dict[str, Any] | None = None,
    partner_tenant_id: uuid.UUID | None = None,
    relationship_id: uuid.UUID | None = None,
) -> AuditEvent:
    """Append one event to ``tenant_id``'s chain in the caller's transaction."""
    session = ctx.session
    if partner_tenant_id is None and tenant_id in ctx.on_behalf:
        partner_tenant_id, used = ctx.on_behalf[tenant_id]
        relationship_id = relationship_id or used
    seq, prev_hash = session.execute(
        update(Tenant)
        .where(Tenant.id == tenant_id)
        .values(audit_seq=Tenant.audit_seq + 1)
        .returning(Tenant.audit_seq, Tenant.audit_head_hash)
        .execution_options(synchronize_session=False)
    ).one()
    principal = ctx.principal
    event = AuditEvent(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        seq=seq,
        occurred_at=ctx.now,
        action=action,
        outcome=outcome,
        **_actor(principal),
        partner_tenant_id=partner_tenant_id,
        relationship_id=relationship_id,
        target=target[:512],
        details=details or {},
        request_id=ctx.request_id,
        client_address=ctx.client_address,
        prev_hash=prev_hash,
    )
    event.hash = event_hash(event, audit_key(ctx.settings))
    session.add(event)
    session.execute(
        update(Tenant)
        .where(Tenant.id == tenant_id)
        .values(audit_head_hash=event.hash)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return event


@dataclass(frozen=True)
class Pending:
    """One event of ``record_many``: what ``record`` takes, for many tenants at once."""

    tenant_id: uuid.UUID
    action: str
    target: str = ""
    details: dict[str, Any] | None = None
    partner_tenant_id: uuid.UUID | None = None
    relationship_id: uuid.UUID | None = None


_HEADS_PER_ROUND_TRIP = 1000
_ROWS_PER_STATEMENT = 5000


def record_many(ctx: Context, pending: list[Pending]) -> int:
    """``record`` for thousands of events in one transaction (a template applied to many
    customers): the heads of every tenant concerned are locked in one ordered pass (row
    locks on PostgreSQL, in id order so two bulk writers can't deadlock; SQLite's write lock
    is already held), each chain is extended in memory exactly as ``record`` would, and the
    events and new heads are written in bulk. Returns how many events were written."""
    if not pending:
        return 0
    session = ctx.session
    key = audit_key(ctx.settings)
    tenant_ids = sorted({p.tenant_id for p in pending})
    heads: dict[uuid.UUID, tuple[int, str]] = {}
    for start in range(0, len(tenant_ids), _HEADS_PER_ROUND_TRIP):
        chunk = tenant_ids[start : start + _HEADS_PER_ROUND_TRIP]
        rows = session.execute(
            select(Tenant.id, Tenant.audit_seq, Tenant.audit_head_hash)
            .where(Tenant.id.in_(chunk))
            .order_by(Tenant.id)
            .with_for_update()
        ).all()
        heads.update({tid: (seq, head) for tid, seq, head in rows})
    principal = ctx.principal
    events: list[dict[str, Any]] = []
    for item in pending:
        seq, prev_hash = heads[item.tenant_id]
        partner_tenant_id, relationship_id = item.partner_tenant_id, item.relationship_id
        if partner_tenant_id is None and item.tenant_id in ctx.on_behalf:
            partner_tenant_id, used = ctx.on_behalf[item.tenant_id]
            relationship_id = relationship_id or used
        # The row as a plain namespace (hashed exactly as ``record`` hashes its event):
        # thousands of ORM objects would cost more than the writes themselves.
        event = SimpleNamespace(
            id=uuid.uuid4(),
            tenant_id=item.tenant_id,
            seq=seq + 1,
            occurred_at=ctx.now,
            action=item.action,
            outcome=AuditOutcome.SUCCESS,
            **_actor(principal),
            partner_tenant_id=partner_tenant_id,
            relationship_id=relationship_id,
            target=item.target[:512],
            details=item.details or {},
            request_id=ctx.request_id,
            client_address=ctx.client_address,
            prev_hash=prev_hash,
        )
        event.hash = event_hash(cast(AuditEvent, event), key)
        heads[item.tenant_id] = (event.seq, event.hash)
        events.append(vars(event))
    # Core statements, executed many: the ORM's bulk paths may fall back to a row at a time.
    events_table = cast(Table, AuditEvent.__table__)
    tenants = cast(Table, Tenant.__table__)
    for start in range(0, len(events), _ROWS_PER_STATEMENT):
        session.execute(insert(events_table), events[start : start + _ROWS_PER_STATEMENT])
    session.execute(
        update(tenants)
        .where(tenants.c.id == bindparam("head_tenant"))
        .values(audit_seq=bindparam("head_seq"), audit_head_hash=bindparam("head_hash")),
        [{"head_tenant": tid, "head_seq": seq, "head_hash": h} for tid, (seq, h) in heads.items()],
    )
    return len(events)


def record_after_rollback(
    ctx: Context, tenant_id: uuid.UUID, action: str, target: str = "", **kwargs: Any
) -> None:
    """Queue an event that must be kept even though the request fails (denials, failures)."""

    def write(fresh: Context) -> None:
        record(fresh, tenant_id, action, target, **kwargs)

    ctx.after_rollback.append(write)


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None
    outcome: AuditOutcome | None = None
    since: datetime | None = None
    until: datetime | None = None
    by_partner: bool | None = None  # True: only partners' actions; False: only the tenant's own
    partner_tenant_id: uuid.UUID | None = None  # only this partner's actions


def list_events(
    session: Session, tenant_id: uuid.UUID, filters: AuditFilter, cursor: str | None, limit: int
) -> Page[AuditEvent]:
    stmt: Select[AuditEvent] = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    if filters.action:
        stmt = stmt.where(AuditEvent.action.startswith(filters.action, autoescape=True))
    if filters.actor:
        stmt = stmt.where(
            or_(
                AuditEvent.actor_user_principal_name.startswith(
                    filters.actor.lower(), autoescape=True
                ),
                AuditEvent.actor_client_name.startswith(filters.actor, autoescape=True),
            )
        )
    if filters.outcome:
        stmt = stmt.where(AuditEvent.outcome == filters.outcome)
    if filters.by_partner is not None:
        partner = AuditEvent.partner_tenant_id
        stmt = stmt.where(partner.is_not(None) if filters.by_partner else partner.is_(None))
    if filters.partner_tenant_id:
        stmt = stmt.where(AuditEvent.partner_tenant_id == filters.partner_tenant_id)
    if filters.since:
        stmt = stmt.where(AuditEvent.occurred_at >= filters.since)
    if filters.until:
        stmt = stmt.where(AuditEvent.occurred_at < filters.until)
    return paginate(session, stmt, [AuditEvent.seq], cursor, limit, descending=True)


@dataclass(frozen=True)
class ChainProblem:
    tenant_id: uuid.UUID
    seq: int | None
    problem: str


UNKEYED = (
    "hash is plain SHA-256, not keyed: written before the audit key existed "
    "(run 'tenantry audit rekey' once after upgrading) or recomputed by someone without the key"
)
RECOMPUTED = "hash is plain SHA-256 after a keyed event: recomputed by someone without the key"


def _unkeyed_problem(event: AuditEvent, keyed_before: bool, unkeyed_ok: bool) -> str | None:
    """Why an event whose hash is not its keyed hash fails. A legitimately upgraded chain is
    plain SHA-256 first, keyed after; plain after keyed means someone recomputed it."""
    if unkeyed_event_hash(event) != event.hash:
        return "content does not match its hash"
    if keyed_before:
        return RECOMPUTED
    return None if unkeyed_ok else UNKEYED


def _events_of(session: Session, tenant_id: uuid.UUID) -> Iterator[AuditEvent]:
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.tenant_id == tenant_id).order_by(AuditEvent.seq)
    )
    return iter(events.yield_per(1000))


def verify(
    session: Session, key: bytes, tenant_id: uuid.UUID | None = None, *, unkeyed_ok: bool = False
) -> Iterator[ChainProblem]:
    """Walk each tenant's chain; yield every break (edited, deleted or inserted events).

    Cutting off the newest events and resetting the tenant's head passes this walk: only a
    checkpoint kept elsewhere shows it (``verify_checkpoint``). ``unkeyed_ok`` accepts plain
    SHA-256 hashes (for ``rekey`` only).
    """
    tenants = select(Tenant.id, Tenant.audit_seq, Tenant.audit_head_hash).order_by(Tenant.id)
    if tenant_id is not None:
        tenants = tenants.where(Tenant.id == tenant_id)
    for tid, head_seq, head_hash in session.execute(tenants).all():
        expected_seq, prev, keyed_before = 1, GENESIS_HASH, False
        for event in _events_of(session, tid):
            if event.seq != expected_seq:
                yield ChainProblem(tid, expected_seq, f"event {expected_seq} is missing")
            elif event.prev_hash != prev:
                yield ChainProblem(tid, event.seq, "does not link to the event before it")
            keyed = hmac.compare_digest(event_hash(event, key), event.hash)
            problem = None if keyed else _unkeyed_problem(event, keyed_before, unkeyed_ok)
            if problem:
                yield ChainProblem(tid, event.seq, problem)
            expected_seq, prev, keyed_before = event.seq + 1, event.hash, keyed_before or keyed
        if expected_seq - 1 != head_seq or prev != head_hash:
            yield ChainProblem(
                tid, head_seq, f"chain ends at {expected_seq - 1} but the head says {head_seq}"
            )
        session.expunge_all()


def rekey(session: Session, key: bytes, tenant_id: uuid.UUID | None = None) -> int:
    """Rewrite chains hashed before the audit key existed with the key, once after upgrading;
    returns how many events were rewritten.

    Refuses unless every chain is intact as it stands (each hash either keyed or its plain
    SHA-256), so a broken chain is never blessed. It protects against edits made after the
    rekey; an edit someone recomputed with plain SHA-256 before it cannot be told apart.
    """
    for problem in verify(session, key, tenant_id, unkeyed_ok=True):
        raise ChainBroken(problem)
    rewritten = 0
    tenants = select(Tenant.id).order_by(Tenant.id)
    if tenant_id is not None:
        tenants = tenants.where(Tenant.id == tenant_id)
    for tid in session.scalars(tenants).all():
        # Lock the head so no event is appended to this chain while it is rewritten.
        session.execute(select(Tenant.id).where(Tenant.id == tid).with_for_update())
        prev = GENESIS_HASH
        for event in _events_of(session, tid):
            if event.prev_hash != prev or event.hash != event_hash(event, key):
                event.prev_hash = prev
                event.hash = event_hash(event, key)
                rewritten += 1
            prev = event.hash
        session.flush()
        session.execute(
            update(Tenant)
            .where(Tenant.id == tid)
            .values(audit_head_hash=prev)
            .execution_options(synchronize_session=False)
        )
        session.expunge_all()
    return rewritten


class ChainBroken(ServiceError):
    """``rekey`` found a chain that does not verify as it stands."""

    def __init__(self, problem: ChainProblem) -> None:
        super().__init__(
            f"tenant {problem.tenant_id} event {problem.seq}: {problem.problem}; "
            "nothing was rekeyed (investigate with 'tenantry audit verify')"
        )


# --- checkpoints: the chain heads, signed, kept outside the database ------------------------

CHECKPOINT_FORMAT = "tenantry-audit-checkpoint/1"


@dataclass(frozen=True)
class ChainHead:
    tenant_id: uuid.UUID
    seq: int
    hash: str


class CheckpointRefused(ServiceError):
    """The checkpoint is not one this installation signed; nothing is compared against it."""


def _signature(key: bytes, body: dict[str, Any]) -> str:
    # The prefix keeps a checkpoint signature from ever equalling an event hash.
    message = b"checkpoint\n" + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, message, "sha256").hexdigest()


def checkpoint(session: Session, key: bytes, now: datetime) -> dict[str, Any]:
    """Every tenant's chain head (seq, hash), signed with the audit key: an operator keeps it
    elsewhere, so a later chain cut short or rewound to an earlier state shows."""
    rows = session.execute(
        select(Tenant.id, Tenant.audit_seq, Tenant.audit_head_hash).order_by(Tenant.id)
    ).all()
    body: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "created_at": now.isoformat(timespec="seconds"),
        "heads": [{"tenant_id": str(t), "seq": seq, "hash": h} for t, seq, h in rows],
    }
    return {**body, "signature": _signature(key, body)}


def read_checkpoint(document: str, key: bytes) -> tuple[str, list[ChainHead]]:
    """The checkpoint's time and heads, if its signature is this installation's."""
    try:
        body = json.loads(document)
        signature = body.pop("signature")
        if body.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(body.get("format"))
        heads = [
            ChainHead(uuid.UUID(h["tenant_id"]), int(h["seq"]), str(h["hash"]))
            for h in body["heads"]
        ]
        created_at = str(body["created_at"])
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CheckpointRefused("this is not a Tenantry audit checkpoint") from exc
    if not hmac.compare_digest(str(signature), _signature(key, body)):
        raise CheckpointRefused(
            "the checkpoint's signature does not match: it was edited, forged or made with "
            "another secret key"
        )
    return created_at, heads


def verify_checkpoint(
    session: Session, heads: list[ChainHead], tenant_id: uuid.UUID | None = None
) -> Iterator[ChainProblem]:
    """Each checkpointed head must still be in its chain: the event at that seq, with that hash.
    Finds what the chain alone can't: the newest events cut off with the head moved back."""
    for head in heads:
        if head.seq == 0 or (tenant_id is not None and head.tenant_id != tenant_id):
            continue
        current_seq = session.scalar(select(Tenant.audit_seq).where(Tenant.id == head.tenant_id))
        if current_seq is None:
            yield ChainProblem(head.tenant_id, None, "tenant in the checkpoint no longer exists")
            continue
        found = session.scalar(
            select(AuditEvent.hash).filter_by(tenant_id=head.tenant_id, seq=head.seq)
        )
        if current_seq < head.seq:
            yield ChainProblem(
                head.tenant_id,
                head.seq,
                f"chain cut short: ends at {current_seq} but the checkpoint has {head.seq}",
            )
        elif found != head.hash:
            yield ChainProblem(
                head.tenant_id,
                head.seq,
                "not the event the checkpoint has (chain rewound or rewritten since)",
            )
