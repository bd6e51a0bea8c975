"""Relationships between a partner and a customer: their lifecycle (opened by an offer,
activated, withdrawn, terminated) and the helpers both sides share.

Every transition is a conditional UPDATE (``WHERE status IN (...)``) so concurrent accepts or
terminations of the same relationship resolve to exactly one winner on either database.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from sqlalchemy import select, update

from tenantry.access.roles import AgentLevel, Role
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import (
    Conflict,
    Gone,
    InvalidInput,
    PreconditionFailed,
    PreconditionRequired,
)
from tenantry.models import AccessAssignment, Offer, Relationship
from tenantry.models.partners import (
    LIVE_STATUSES,
    OPEN_STATUSES,
    OfferKind,
    Party,
    RelationshipStatus,
)
from tenantry.operations import webhooks
from tenantry.partners import enrolment as partners
from tenantry.partners import notifications


def check_auto_extend(auto_extend: bool, roles: list[str] | list[Role]) -> None:
    if auto_extend and Role.GLOBAL_ADMINISTRATOR.value in [str(r) for r in roles]:
        raise InvalidInput(
            "Auto-extend is not allowed for relationships that include Global Administrator: "
            "full administration must be renewed on purpose.",
            slug="auto-extend-with-global-admin",
        )


def audit_both(ctx: Context, relationship: Relationship, action: str, **details: object) -> None:
    """A relationship event belongs in both tenants' logs."""
    for tenant_id in (relationship.customer_tenant_id, relationship.partner_tenant_id):
        audit.record(
            ctx,
            tenant_id,
            action,
            f"relationship:{relationship.id}",
            details={k: str(v) for k, v in details.items()},
            partner_tenant_id=relationship.partner_tenant_id,
            relationship_id=relationship.id,
        )


def _new(
    ctx: Context, offer: Offer, customer_id: uuid.UUID, status: RelationshipStatus
) -> Relationship:
    relationship = Relationship(
        id=uuid.uuid4(),
        partner_tenant_id=offer.partner_tenant_id,
        customer_tenant_id=customer_id,
        offer_id=offer.id,
        roles=list(offer.roles),
        status=status,
        duration_days=offer.duration_days,
        auto_extend=offer.auto_extend,
        created_at=ctx.now,
    )
    if status == RelationshipStatus.ACTIVE:
        relationship.activated_at = ctx.now
        relationship.ends_at = ctx.now + timedelta(days=offer.duration_days)
        relationship.approved_by_user_id = ctx.require_principal().user_id
    else:
        relationship.pending_expires_at = offer.expires_at
    ctx.session.add(relationship)
    ctx.session.flush()
    return relationship


def open_pending(ctx: Context, offer: Offer) -> Relationship:
    """An offer for one customer waits for that customer's approval (90 days)."""
    assert offer.customer_tenant_id is not None
    relationship = _new(ctx, offer, offer.customer_tenant_id, RelationshipStatus.APPROVAL_PENDING)
    audit_both(ctx, relationship, "partner.relationship.request", roles=offer.roles)
    webhooks.relationship_event(ctx, webhooks.EventType.RELATIONSHIP_OFFERED, relationship)
    return relationship


def open_active(ctx: Context, offer: Offer, customer_id: uuid.UUID) -> Relationship:
    relationship = _new(ctx, offer, customer_id, RelationshipStatus.ACTIVE)
    audit_both(ctx, relationship, "partner.relationship.accept", roles=offer.roles)
    webhooks.relationship_event(ctx, webhooks.EventType.RELATIONSHIP_ACCEPTED, relationship)
    return relationship


def ensure_not_accepted(ctx: Context, offer: Offer, customer_id: uuid.UUID) -> None:
    live = ctx.session.scalar(
        select(Relationship.id).where(
            Relationship.offer_id == offer.id,
            Relationship.customer_tenant_id == customer_id,
            Relationship.status.in_(LIVE_STATUSES),
        )
    )
    if live:
        raise Conflict(
            "Your organisation has already accepted this offer.", slug="already-accepted"
        )


def activate_pending(ctx: Context, offer: Offer, customer_id: uuid.UUID) -> Relationship:
    won = ctx.session.execute(
        update(Relationship)
        .where(
            Relationship.offer_id == offer.id,
            Relationship.customer_tenant_id == customer_id,
            Relationship.status == RelationshipStatus.APPROVAL_PENDING,
        )
        .values(
            # The terms are the offer's, as the customer was shown them on the offer page.
            status=RelationshipStatus.ACTIVE,
            roles=list(offer.roles),
            duration_days=offer.duration_days,
            auto_extend=offer.auto_extend,
            activated_at=ctx.now,
            ends_at=ctx.now + timedelta(days=offer.duration_days),
            approved_by_user_id=ctx.require_principal().user_id,
            version=Relationship.version + 1,
        )
        .returning(Relationship.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    if won is None:
        ensure_not_accepted(ctx, offer, customer_id)
        raise Gone("This offer is no longer waiting for approval.", slug="offer-expired")
    relationship = ctx.session.get(Relationship, won, populate_existing=True)
    assert relationship is not None
    audit_both(ctx, relationship, "partner.relationship.accept", roles=relationship.roles)
    webhooks.relationship_event(ctx, webhooks.EventType.RELATIONSHIP_ACCEPTED, relationship)
    return relationship


def withdraw_pending(ctx: Context, offer: Offer) -> None:
    """A disabled offer for one customer takes its unanswered request with it."""
    withdrawn = list(
        ctx.session.scalars(
            update(Relationship)
            .where(
                Relationship.offer_id == offer.id,
                Relationship.status == RelationshipStatus.APPROVAL_PENDING,
            )
            .values(
                status=RelationshipStatus.TERMINATED,
                terminated_at=ctx.now,
                terminated_by=Party.PARTNER,
                version=Relationship.version + 1,
            )
            .returning(Relationship.id)
            .execution_options(synchronize_session=False)
        )
    )
    for relationship_id in withdrawn:
        relationship = ctx.session.get(Relationship, relationship_id, populate_existing=True)
        assert relationship is not None
        audit_both(ctx, relationship, "partner.relationship.withdraw")


def create_default_assignments(ctx: Context, offer: Offer, relationship: Relationship) -> None:
    """Classic: *Admin agents* -> Global Administrator, *Helpdesk agents* -> Password
    Administrator. Granular: *Admin agents* -> every role of the relationship. The groups are
    found by their agent level, never by name."""
    groups = partners.agent_groups(ctx, offer.partner_tenant_id)
    wanted: dict[AgentLevel, list[str]] = (
        {level: [spec.classic_role.value] for level, spec in partners.AGENT_GROUPS.items()}
        if offer.kind == OfferKind.CLASSIC
        else {AgentLevel.FULL: list(relationship.roles)}
    )
    for level, roles in wanted.items():
        group = groups.get(level)
        if group is not None:
            ctx.session.add(
                AccessAssignment(
                    relationship_id=relationship.id,
                    group_id=group.id,
                    roles=roles,
                    created_at=ctx.now,
                )
            )
    ctx.session.flush()


def terminate(ctx: Context, relationship: Relationship, by: Party) -> Relationship:
    ended = ctx.session.execute(
        update(Relationship)
        .where(Relationship.id == relationship.id, Relationship.status.in_(OPEN_STATUSES))
        .values(
            status=RelationshipStatus.TERMINATED,
            terminated_at=ctx.now,
            terminated_by=by,
            version=Relationship.version + 1,
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not ended:
        raise Conflict("This relationship has already ended.", slug="relationship-ended")
    ctx.session.refresh(relationship)
    audit_both(ctx, relationship, "partner.relationship.terminate", by=by)
    webhooks.relationship_event(ctx, webhooks.ended_event(by), relationship, by=by)
    notifications.relationship_terminated(ctx, relationship, by)
    return relationship


# Versions start at 1: what a tag that names no version (malformed, never issued) stands
# for, so it fails like a stale one.
NO_SUCH_VERSION = 0
_VERSION = re.compile(r"[1-9][0-9]{0,17}")


def parse_version(text: str) -> int:
    """The version a client sent back (the API's If-Match ETag without its quotes, the web
    form's field): a number we issued, or NO_SUCH_VERSION for anything else."""
    return int(text) if _VERSION.fullmatch(text) else NO_SUCH_VERSION


def check_version(relationship: Relationship, expected_version: int | None) -> None:
    """A change names the version it was read at (the API's If-Match, the form's field), so
    it can't overwrite a change it never saw."""
    if expected_version is None:
        raise PreconditionRequired("Send If-Match with the ETag of the relationship you read.")
    if expected_version != relationship.version:
        raise PreconditionFailed("The relationship changed since you read it; read it again.")


def set_auto_extend(ctx: Context, relationship: Relationship, auto_extend: bool) -> None:
    """One conditional UPDATE on the version read: concurrent changes have one winner."""
    changed = ctx.session.execute(
        update(Relationship)
        .where(Relationship.id == relationship.id, Relationship.version == relationship.version)
        .values(auto_extend=auto_extend, version=Relationship.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not changed:
        raise PreconditionFailed("The relationship changed since you read it.")
    ctx.session.refresh(relationship)
