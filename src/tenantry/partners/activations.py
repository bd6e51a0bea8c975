"""Just-in-time elevation (docs/architecture.md §2): a partner agent activates, for a while, a
role that an access assignment makes eligible for one of its groups in one customer.

The power itself is the access decision's (``access.activated_links``): an activation counts
while it is active and before ``ends_at``, read off the request's clock, so nothing has to
sweep it away. Here are the moves: request, approve and deny (by an approver who is never the
requester, and by the customer's Global Administrators where its policy asks for them), and
end (by the requester, a partner admin or the customer). Each move is one conditional UPDATE
whose row count decides, so concurrent approvals, denials and ends have one outcome. Every
move is audited in both tenants; the customer hears when one starts, the requester how its
request was decided.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, and_, or_, select, update

from tenantry import access
from tenantry.access.grants import Decision, DecisionPath
from tenantry.access.roles import ROLE_NAMES, Permission, Role
from tenantry.audit import chain as audit
from tenantry.core.context import Context, SecondFactor
from tenantry.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from tenantry.core.pagination import Page, paginate
from tenantry.core.scoped import get_scoped
from tenantry.models import (
    AccessAssignment,
    Activation,
    ActivationStatus,
    AuditOutcome,
    Group,
    GroupMember,
    PartnerPolicy,
    Relationship,
    Tenant,
)
from tenantry.models.partners import (
    APPROVAL_WINDOW,
    LIVE_STATUSES,
    RECENT_MFA,
    Party,
)
from tenantry.operations import webhooks
from tenantry.partners import enrolment as partners
from tenantry.partners import notifications

REQUEST = "partner.activation.request"
APPROVE = "partner.activation.approve"
DENY = "partner.activation.deny"
START = "partner.activation.start"
END = "partner.activation.end"


@dataclass(frozen=True)
class ActivationRow:
    """An activation with the names a list shows: the partner's (for the customer) and the
    customer's (for the partner)."""

    activation: Activation
    partner_name: str
    customer_name: str


# --- shared -----------------------------------------------------------------------------


def _audit_both(
    ctx: Context,
    activation: Activation,
    action: str,
    *,
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    after_rollback: bool = False,
    **details: object,
) -> None:
    """An activation event belongs in both tenants' logs, like a relationship's."""
    for tenant_id in (activation.customer_tenant_id, activation.partner_tenant_id):
        kwargs: dict[str, Any] = {
            "outcome": outcome,
            "details": {
                "role": activation.role,
                **{k: None if v is None else str(v) for k, v in details.items()},
            },
            "partner_tenant_id": activation.partner_tenant_id,
            "relationship_id": activation.relationship_id,
        }
        target = f"activation:{activation.id}"
        if after_rollback:
            audit.record_after_rollback(ctx, tenant_id, action, target, **kwargs)
        else:
            audit.record(ctx, tenant_id, action, target, **kwargs)


def _refuse(
    ctx: Context, tenant_ids: tuple[uuid.UUID, ...], action: str, target: str, reason: str
) -> None:
    """Audit a refused move (in a transaction of its own: the request rolls back)."""
    for tenant_id in tenant_ids:
        audit.record_after_rollback(
            ctx,
            tenant_id,
            action,
            target,
            outcome=AuditOutcome.DENIED,
            details={"reason": reason[:400]},
        )


def _refuse_move(
    ctx: Context, activation: Activation, action: str, reason: str, slug: str
) -> Forbidden:
    _refuse(
        ctx,
        (activation.partner_tenant_id, activation.customer_tenant_id),
        action,
        f"activation:{activation.id}",
        reason,
    )
    return Forbidden(reason, slug=slug)


RECENT_MFA_NEEDED = (
    "{what} needs a sign-in with a second factor in the last 15 minutes. Sign in again with "
    "your verification code (POST /api/v1/auth/token with totp_code), then retry."
)


PASSKEY_NEEDED = (
    "{what} needs a sign-in with a passkey: your organisation requires phishing-resistant "
    "sign-ins of its agents. Sign in again with your passkey, then retry."
)


@dataclass(frozen=True)
class _Person:
    user_id: uuid.UUID
    upn: str


def _person(ctx: Context) -> _Person:
    """The person acting: activations are asked for, approved and decided by people, with a
    fresh second factor, never by an API client (refused, 403 ``user-required``)."""
    user_id = ctx.require_user()
    principal = ctx.require_principal()
    return _Person(user_id, principal.user_principal_name or principal.display_name)


def _has_recent_mfa(ctx: Context) -> bool:
    proven = ctx.require_principal().mfa_at
    return proven is not None and ctx.now - proven <= RECENT_MFA


def _agent_factor_problem(ctx: Context, what: str) -> tuple[str, str] | None:
    """Why this partner-side sign-in may not request or approve an activation (reason, slug),
    or None: a second factor proven in the last 15 minutes and, where the partner requires
    phishing-resistant sign-ins of its agents, a passkey (the power an activation gives would
    be held back from a TOTP sign-in anyway; its approval must not be easier to get)."""
    if not _has_recent_mfa(ctx):
        return RECENT_MFA_NEEDED.format(what=what), "recent-mfa-required"
    principal = ctx.require_principal()
    if principal.second_factor != SecondFactor.PASSKEY:
        home = ctx.session.get(Tenant, principal.tenant_id)
        if home is not None and home.require_phishing_resistant_mfa:
            return PASSKEY_NEEDED.format(what=what), "passkey-required"
    return None


def sign_in_problem(ctx: Context, what: str = "Activating a role") -> str | None:
    """Why this sign-in may not request (or approve) an activation now, in the words a refusal
    would use, or None: a page says so before the agent fills in the form."""
    _person(ctx)
    problem = _agent_factor_problem(ctx, what)
    return problem[0] if problem else None


def _customer_must_approve(ctx: Context, customer_id: uuid.UUID, role: str) -> bool:
    """The customer's policy asks for its own approval of a partner's Global Administrator."""
    if role != Role.GLOBAL_ADMINISTRATOR.value:
        return False
    policy = ctx.session.get(PartnerPolicy, customer_id)
    return bool(policy and policy.require_customer_approval_for_global_admin)


def _in_group(ctx: Context, user_id: uuid.UUID, group_id: uuid.UUID | None) -> bool:
    if group_id is None:
        return False
    return (
        ctx.session.scalar(
            select(GroupMember.user_id).where(
                GroupMember.group_id == group_id, GroupMember.user_id == user_id
            )
        )
        is not None
    )


def _move(ctx: Context, activation: Activation, *conditions: Any, **values: Any) -> bool:
    """One conditional UPDATE of this activation: whether it won (concurrent moves of the same
    activation wait for the row and then find their condition false)."""
    won = ctx.session.execute(
        update(Activation)
        .where(Activation.id == activation.id, *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if won:
        ctx.session.refresh(activation)
    return bool(won)


def _pending(ctx: Context) -> tuple[Any, ...]:
    return (
        Activation.status == ActivationStatus.PENDING_APPROVAL,
        Activation.pending_expires_at > ctx.now,
    )


def _no_longer_pending(ctx: Context, activation: Activation) -> Conflict:
    ctx.session.refresh(activation)
    return Conflict(
        f"This request is no longer waiting for approval (it is "
        f"{activation.status_at(ctx.now).value}).",
        slug="activation-decided",
    )


# --- the partner's side ------------------------------------------------------------------


@dataclass(frozen=True)
class Eligibility:
    """A role the signed-in agent may activate in one customer, and on what terms: the
    longest activation its access assignments allow, the longest without a partner approver
    (None: always with one), and whether the customer's own approval is needed too."""

    relationship_id: uuid.UUID
    customer_tenant_id: uuid.UUID
    customer_name: str
    role: Role
    max_minutes: int
    max_minutes_without_approval: int | None
    customer_approval: bool
    groups: tuple[str, ...]

    @property
    def approval_always(self) -> bool:
        """Every activation of it waits for an approver (the partner's or the customer's)."""
        return self.customer_approval or self.max_minutes_without_approval is None


def eligible_for_me(ctx: Context) -> list[Eligibility]:
    """What the signed-in agent may activate: per live relationship of its partner, the roles
    that an access assignment of a group it is in makes eligible (within the relationship's
    roles), as ``request_activation`` reads them; by customer name, then role."""
    partner = partners.require_partner(ctx, None)
    me = _person(ctx)
    my_groups = select(GroupMember.group_id).where(GroupMember.user_id == me.user_id)
    rows = ctx.session.execute(
        select(AccessAssignment, Relationship, Tenant.name, Group.name)
        .join(Relationship, Relationship.id == AccessAssignment.relationship_id)
        .join(Tenant, Tenant.id == Relationship.customer_tenant_id)
        .join(Group, Group.id == AccessAssignment.group_id)
        .where(
            Relationship.partner_tenant_id == partner.id,
            Relationship.status.in_(LIVE_STATUSES),
            or_(Relationship.ends_at.is_(None), Relationship.ends_at > ctx.now),
            AccessAssignment.group_id.in_(my_groups),
        )
        .order_by(Tenant.name, Relationship.id, AccessAssignment.created_at)
    ).all()
    found: dict[tuple[uuid.UUID, Role], list[tuple[AccessAssignment, str]]] = {}
    relationships: dict[uuid.UUID, tuple[Relationship, str]] = {}
    for assignment, relationship, customer_name, group_name in rows:
        relationships[relationship.id] = (relationship, customer_name)
        for role_id in assignment.eligible_roles:
            if role_id in relationship.roles and role_id in Role._value2member_map_:
                found.setdefault((relationship.id, Role(role_id)), []).append(
                    (assignment, group_name)
                )
    out: list[Eligibility] = []
    for (relationship_id, role), through in found.items():
        relationship, customer_name = relationships[relationship_id]
        unapproved = [a.max_activation_minutes for a, _ in through if not a.approval_required]
        out.append(
            Eligibility(
                relationship_id=relationship_id,
                customer_tenant_id=relationship.customer_tenant_id,
                customer_name=customer_name,
                role=role,
                max_minutes=max(a.max_activation_minutes for a, _ in through),
                max_minutes_without_approval=max(unapproved) if unapproved else None,
                customer_approval=_customer_must_approve(
                    ctx, relationship.customer_tenant_id, role.value
                ),
                groups=tuple(sorted({name for _, name in through})),
            )
        )
    order = list(Role)
    return sorted(out, key=lambda e: (e.customer_name, str(e.relationship_id), order.index(e.role)))


def _open(ctx: Context) -> Any:
    """SQL: the activation still counts, or may: waiting for approval, or active and not past
    ``ends_at`` (read off the clock, as ``status_at`` does)."""
    return or_(
        and_(*_pending(ctx)),
        and_(Activation.status == ActivationStatus.ACTIVE, Activation.ends_at > ctx.now),
    )


def mine(ctx: Context, *, current: bool, cursor: str | None, limit: int) -> Page[ActivationRow]:
    """The signed-in agent's own activations, newest first: ``current`` those waiting for
    approval or active now, otherwise the others (denied, ended, expired)."""
    partner = partners.require_partner(ctx, None)
    me = _person(ctx)
    stmt: Select[Any] = select(Activation).where(
        Activation.partner_tenant_id == partner.id,
        Activation.requester_user_id == me.user_id,
        _open(ctx) if current else ~_open(ctx),
    )
    return _page(ctx, stmt, cursor, limit, newest_first=True)


def awaiting_my_approval(ctx: Context, *, cursor: str | None, limit: int) -> Page[ActivationRow]:
    """Requests the signed-in person may approve or deny now, oldest first (the longest
    waiting on top): waiting for a partner approver, of an approver group it is in, and
    never its own."""
    partner = partners.require_partner(ctx, None)
    me = _person(ctx)
    my_groups = select(GroupMember.group_id).where(GroupMember.user_id == me.user_id)
    stmt: Select[Any] = select(Activation).where(
        Activation.partner_tenant_id == partner.id,
        *_pending(ctx),
        Activation.partner_approval_required.is_(True),
        Activation.partner_approved_at.is_(None),
        Activation.approver_group_id.in_(my_groups),
        Activation.requester_user_id != me.user_id,
        # Only while the request's access assignment still names this approver group (as
        # ``approve_for_partner`` checks): a replaced assignment's old group no longer decides.
        select(AccessAssignment.id)
        .where(
            AccessAssignment.id == Activation.assignment_id,
            AccessAssignment.approval_required.is_(True),
            AccessAssignment.approver_group_id == Activation.approver_group_id,
        )
        .exists(),
    )
    return _page(ctx, stmt, cursor, limit, newest_first=False)


def request_activation(
    ctx: Context,
    relationship_id: uuid.UUID,
    role: Role,
    minutes: int,
    justification: str,
    ticket: str | None = None,
) -> Activation:
    """An agent asks to hold ``role`` in the relationship's customer for ``minutes``. It must
    be eligible through an access assignment of one of its groups (of several, the most
    permissive that allows the minutes: no approval first, then the longest), the
    relationship live, and its sign-in's second factor recent. Without approval the role is
    active at once; otherwise the request waits (24 hours at most) for its approvals."""
    partner = partners.require_partner(ctx, None)
    me = _person(ctx)
    relationship = get_scoped(
        ctx.session,
        Relationship,
        relationship_id,
        partner.id,
        "Relationship",
        owner="partner_tenant_id",
    )
    target = f"relationship:{relationship.id}"
    both = (partner.id, relationship.customer_tenant_id)
    if relationship.status not in LIVE_STATUSES or (
        relationship.ends_at is not None and relationship.ends_at <= ctx.now
    ):
        raise Conflict(
            "This relationship is not live: nothing can be activated in it.",
            slug="relationship-not-live",
        )
    if (problem := _agent_factor_problem(ctx, "Activating a role")) is not None:
        reason, slug = problem
        _refuse(ctx, (partner.id,), REQUEST, target, reason)
        raise Forbidden(reason, slug=slug, title="A stronger sign-in is required")
    justification = justification.strip()
    if not justification:
        raise InvalidInput("Say why you need the role (justification).", slug="justification")
    my_groups = select(GroupMember.group_id).where(GroupMember.user_id == me.user_id)
    mine = list(
        ctx.session.scalars(
            select(AccessAssignment)
            .where(
                AccessAssignment.relationship_id == relationship.id,
                AccessAssignment.group_id.in_(my_groups),
            )
            .order_by(AccessAssignment.created_at, AccessAssignment.id)
        )
    )
    eligible = [
        a for a in mine if role.value in a.eligible_roles and role.value in relationship.roles
    ]
    if not eligible:
        others = sorted(
            {ROLE_NAMES[Role(r)] for a in mine for r in a.eligible_roles if r in relationship.roles}
        )
        reason = (
            f"Denied: {ROLE_NAMES[role]} is not eligible for {me.upn} "
            f"in this relationship: no access assignment of it makes the role eligible for a "
            f"group you are in. "
            + (f"Eligible for you here: {', '.join(others)}." if others else "")
        ).strip()
        _refuse(ctx, both, REQUEST, target, reason)
        raise Forbidden(reason, slug="role-not-eligible")
    fitting = [a for a in eligible if minutes <= a.max_activation_minutes]
    if not fitting:
        longest = max(a.max_activation_minutes for a in eligible)
        raise InvalidInput(
            f"{ROLE_NAMES[role]} can be activated here for at most {longest} minutes.",
            slug="activation-too-long",
        )
    chosen = min(fitting, key=lambda a: (a.approval_required, -a.max_activation_minutes))
    already = ctx.session.scalar(
        select(Activation.id).where(
            Activation.requester_user_id == me.user_id,
            Activation.relationship_id == relationship.id,
            Activation.role == role.value,
            or_(
                and_(
                    Activation.status == ActivationStatus.PENDING_APPROVAL,
                    Activation.pending_expires_at > ctx.now,
                ),
                and_(Activation.status == ActivationStatus.ACTIVE, Activation.ends_at > ctx.now),
            ),
        )
    )
    if already is not None:
        raise Conflict(
            f"You already have activation {already} of {ROLE_NAMES[role]} here; end it first.",
            slug="activation-open",
        )
    customer_needed = _customer_must_approve(ctx, relationship.customer_tenant_id, role.value)
    waits = chosen.approval_required or customer_needed
    activation = Activation(
        id=uuid.uuid4(),
        partner_tenant_id=partner.id,
        customer_tenant_id=relationship.customer_tenant_id,
        relationship_id=relationship.id,
        assignment_id=chosen.id,
        requester_user_id=me.user_id,
        requester_upn=me.upn,
        role=role.value,
        minutes=minutes,
        justification=justification,
        ticket=ticket.strip() or None if ticket else None,
        status=ActivationStatus.PENDING_APPROVAL if waits else ActivationStatus.ACTIVE,
        requested_at=ctx.now,
        pending_expires_at=ctx.now + APPROVAL_WINDOW if waits else None,
        partner_approval_required=chosen.approval_required,
        approver_group_id=chosen.approver_group_id if chosen.approval_required else None,
        customer_approval_required=customer_needed,
        starts_at=None if waits else ctx.now,
        ends_at=None if waits else ctx.now + timedelta(minutes=minutes),
    )
    ctx.session.add(activation)
    ctx.session.flush()
    _audit_both(
        ctx,
        activation,
        REQUEST,
        minutes=minutes,
        justification=justification,
        ticket=activation.ticket,
        status=activation.status.value,
    )
    if waits:
        notifications.activation_requested(ctx, activation)
    else:
        _started(ctx, activation)
    return activation


def _started(ctx: Context, activation: Activation) -> None:
    _audit_both(ctx, activation, START, starts_at=activation.starts_at, ends_at=activation.ends_at)
    notifications.activation_started(ctx, activation)
    webhooks.activation_event(ctx, webhooks.EventType.ACTIVATION_STARTED, activation)


def _start_if_approved(ctx: Context, activation: Activation) -> bool:
    """Start the clock once every approval it needs is in (one conditional UPDATE). A customer
    that asked for its own approval of Global Administrator after the request was made is
    asked too: the partner's approval alone no longer starts it."""
    newly_needed = not activation.customer_approval_required and _customer_must_approve(
        ctx, activation.customer_tenant_id, activation.role
    )
    if newly_needed and _move(ctx, activation, *_pending(ctx), customer_approval_required=True):
        notifications.activation_requested(ctx, activation, approvers=False)
    started = _move(
        ctx,
        activation,
        *_pending(ctx),
        or_(
            Activation.partner_approval_required.is_(False),
            Activation.partner_approved_at.is_not(None),
        ),
        or_(
            Activation.customer_approval_required.is_(False),
            Activation.customer_approved_at.is_not(None),
        ),
        status=ActivationStatus.ACTIVE,
        starts_at=ctx.now,
        ends_at=ctx.now + timedelta(minutes=activation.minutes),
    )
    if started:
        _started(ctx, activation)
    return started


def _for_partner(ctx: Context, activation_id: uuid.UUID) -> tuple[Tenant, Activation, bool]:
    """One of this partner's activations, with whether the caller runs the partner programme;
    another partner's (or a customer's) is 404."""
    partner = partners.require_partner(ctx, None)
    activation = get_scoped(
        ctx.session,
        Activation,
        activation_id,
        partner.id,
        "Activation",
        owner="partner_tenant_id",
    )
    admin = access.decide(ctx, partner.id).allows(Permission.PARTNER_MANAGE)
    return partner, activation, admin


def _may_see(ctx: Context, activation: Activation, admin: bool) -> bool:
    user_id = _person(ctx).user_id
    return (
        admin
        or activation.requester_user_id == user_id
        or _in_group(ctx, user_id, activation.approver_group_id)
    )


def get_for_partner(ctx: Context, activation_id: uuid.UUID) -> ActivationRow:
    """One activation, for its requester, its approvers and the partner's admins (404 for
    the partner's other users: what they may not act on, they need not know of)."""
    _, activation, admin = _for_partner(ctx, activation_id)
    if not _may_see(ctx, activation, admin):
        raise NotFound("Activation not found.")
    return with_names(ctx, [activation])[0]


def _check_partner_approver(ctx: Context, activation: Activation, action: str) -> None:
    """The requester never decides its own request; the approver is in the approver group."""
    me = _person(ctx)
    if activation.status_at(ctx.now) != ActivationStatus.PENDING_APPROVAL:
        raise _no_longer_pending(ctx, activation)
    if activation.requester_user_id == me.user_id:
        raise _refuse_move(
            ctx,
            activation,
            action,
            "Denied: you can't approve or deny your own request; another member of the "
            "approver group decides it.",
            "own-request",
        )
    if not activation.partner_approval_required:
        raise Conflict(
            "This request needs no approval from the partner"
            + (" (it waits for the customer's)." if activation.customer_approval_required else "."),
            slug="no-partner-approval",
        )
    if activation.partner_approved_at is not None:
        raise Conflict(
            f"{activation.partner_approved_by_upn} approved it already; it waits for the "
            "customer's approval.",
            slug="activation-decided",
        )
    if not _in_group(ctx, me.user_id, activation.approver_group_id):
        raise _refuse_move(
            ctx,
            activation,
            action,
            f"Denied: {me.upn} is not in the approver group of this "
            "request; only its members approve or deny it.",
            "not-an-approver",
        )


def _approvers_still_named(ctx: Context, activation: Activation) -> bool:
    """The access assignment the request was made under still exists and still asks this
    approver group: a group no assignment names is no longer privileged (anyone with
    ``groups.update`` may join it), so it no longer decides who gets power."""
    return (
        ctx.session.scalar(
            select(AccessAssignment.id).where(
                AccessAssignment.id == activation.assignment_id,
                AccessAssignment.approval_required.is_(True),
                AccessAssignment.approver_group_id == activation.approver_group_id,
            )
        )
        is not None
    )


def approve_for_partner(ctx: Context, activation_id: uuid.UUID) -> Activation:
    """A member of the approver group (not the requester, with a recent second factor)
    approves; the clock starts now, unless the customer's approval is still needed."""
    _, activation, _ = _for_partner(ctx, activation_id)
    _check_partner_approver(ctx, activation, APPROVE)
    if not _approvers_still_named(ctx, activation):
        raise _refuse_move(
            ctx,
            activation,
            APPROVE,
            "Denied: the access assignment this request was made under no longer asks this "
            "approver group (it was changed or removed), so its members no longer decide it. "
            "Deny or end it, and ask again under the current assignment.",
            "not-an-approver",
        )
    if (problem := _agent_factor_problem(ctx, "Approving an activation")) is not None:
        raise _refuse_move(ctx, activation, APPROVE, *problem)
    me = _person(ctx)
    if not _move(
        ctx,
        activation,
        *_pending(ctx),
        Activation.partner_approved_at.is_(None),
        Activation.requester_user_id != me.user_id,
        partner_approved_by_user_id=me.user_id,
        partner_approved_by_upn=me.upn,
        partner_approved_at=ctx.now,
    ):
        raise _no_longer_pending(ctx, activation)
    _audit_both(ctx, activation, APPROVE, by=Party.PARTNER.value)
    _start_if_approved(ctx, activation)
    notifications.activation_decided(ctx, activation, me.upn, approved=True)
    return activation


def deny_for_partner(ctx: Context, activation_id: uuid.UUID) -> Activation:
    """A member of the approver group (not the requester) turns the request down."""
    _, activation, _ = _for_partner(ctx, activation_id)
    _check_partner_approver(ctx, activation, DENY)
    return _deny(ctx, activation, Party.PARTNER)


def _deny(ctx: Context, activation: Activation, by: Party) -> Activation:
    me = _person(ctx)
    if not _move(
        ctx,
        activation,
        *_pending(ctx),
        status=ActivationStatus.DENIED,
        denied_by=by,
        denied_by_upn=me.upn,
        denied_at=ctx.now,
    ):
        raise _no_longer_pending(ctx, activation)
    _audit_both(ctx, activation, DENY, by=by.value)
    notifications.activation_decided(ctx, activation, me.upn, approved=False)
    return activation


def end_for_partner(ctx: Context, activation_id: uuid.UUID) -> Activation:
    """The requester gives the role back early (or withdraws its request); a partner admin
    may end anyone's."""
    _, activation, admin = _for_partner(ctx, activation_id)
    if not admin and activation.requester_user_id != _person(ctx).user_id:
        if not _may_see(ctx, activation, admin):
            raise NotFound("Activation not found.")
        raise _refuse_move(
            ctx,
            activation,
            END,
            "Denied: only the requester or a partner administrator (partner.manage) ends an "
            "activation.",
            "not-the-requester",
        )
    return _end(ctx, activation, Party.PARTNER)


def _end(ctx: Context, activation: Activation, by: Party) -> Activation:
    if not _move(
        ctx,
        activation,
        _open(ctx),
        status=ActivationStatus.ENDED,
        ended_by=by,
        ended_by_upn=_person(ctx).upn,
        ended_at=ctx.now,
    ):
        ctx.session.refresh(activation)
        raise Conflict(
            f"This activation is already over (it is {activation.status_at(ctx.now).value}).",
            slug="activation-over",
        )
    _audit_both(ctx, activation, END, by=by.value)
    webhooks.activation_event(ctx, webhooks.EventType.ACTIVATION_ENDED, activation, by=by.value)
    if by == Party.CUSTOMER:
        notifications.activation_ended_by_customer(ctx, activation, _person(ctx).upn)
    return activation


def for_partner(ctx: Context, *, cursor: str | None, limit: int) -> Page[ActivationRow]:
    """The partner's activations, newest first: its admins see all; anyone else its own
    requests and those it may approve."""
    partner = partners.require_partner(ctx, None)
    me = _person(ctx)
    stmt: Select[Any] = select(Activation).where(Activation.partner_tenant_id == partner.id)
    if not access.decide(ctx, partner.id).allows(Permission.PARTNER_MANAGE):
        my_groups = select(GroupMember.group_id).where(GroupMember.user_id == me.user_id)
        stmt = stmt.where(
            or_(
                Activation.requester_user_id == me.user_id,
                Activation.approver_group_id.in_(my_groups),
            )
        )
    return _page(ctx, stmt, cursor, limit, newest_first=True)


def _page(
    ctx: Context, stmt: Select[Any], cursor: str | None, limit: int, *, newest_first: bool
) -> Page[ActivationRow]:
    """One page of activations by request time, with the names the lists show."""
    page = paginate(
        ctx.session,
        stmt,
        [Activation.requested_at, Activation.id],
        cursor,
        limit,
        descending=newest_first,
    )
    return Page(with_names(ctx, page.items), page.next_cursor)


def with_names(ctx: Context, activations: list[Activation]) -> list[ActivationRow]:
    """The activations with their partner's and customer's names (one query)."""
    ids = {a.partner_tenant_id for a in activations} | {a.customer_tenant_id for a in activations}
    names: dict[uuid.UUID, str] = {
        tid: name
        for tid, name in ctx.session.execute(
            select(Tenant.id, Tenant.name).where(Tenant.id.in_(ids))
        )
    }
    return [
        ActivationRow(a, names.get(a.partner_tenant_id, "?"), names.get(a.customer_tenant_id, "?"))
        for a in activations
    ]


# --- the customer's side -----------------------------------------------------------------


def for_customer(
    ctx: Context, tenant_id: uuid.UUID, *, cursor: str | None, limit: int
) -> Page[ActivationRow]:
    """Every partner's activations in this organisation, newest first: who, which role, why,
    the ticket, from when to when, approved by whom, and what became of it (an agent on behalf
    sees only its own partner's)."""
    decision = access.require(ctx, tenant_id, Permission.PARTNER_RELATIONSHIPS_READ)
    stmt: Select[Any] = select(Activation).where(
        Activation.customer_tenant_id == tenant_id,
        access.own_partner_only(decision, Activation.partner_tenant_id),
    )
    return _page(ctx, stmt, cursor, limit, newest_first=True)


def _for_customer(
    ctx: Context, tenant_id: uuid.UUID, activation_id: uuid.UUID
) -> tuple[Decision, Activation]:
    """``partner_relationships.manage`` (never delegated: the customer's own administrators)
    and one activation in this organisation."""
    decision = access.require(ctx, tenant_id, Permission.PARTNER_RELATIONSHIPS_MANAGE)
    activation = get_scoped(
        ctx.session,
        Activation,
        activation_id,
        tenant_id,
        "Activation",
        owner="customer_tenant_id",
    )
    return decision, activation


def _own_global_admin(decision: Decision) -> bool:
    return decision.path == DecisionPath.MEMBER and Role.GLOBAL_ADMINISTRATOR in decision.roles


def may_decide_for_customer(ctx: Context, tenant_id: uuid.UUID) -> bool:
    """Whether the signed-in person decides partners' requests here (approve, deny): one of
    the organisation's own Global Administrators. A page asks it only to hide buttons; the
    moves check it again."""
    return _own_global_admin(access.decide(ctx, tenant_id))


def _require_own_global_admin(ctx: Context, decision: Decision) -> None:
    """Deciding a partner's request is the customer's own Global Administrators' (the member
    path: ``partner_relationships.manage`` is never delegated anyway)."""
    if _own_global_admin(decision):
        return
    reason = (
        f"Denied: only a Global Administrator of {decision.tenant_name} decides a partner's "
        f"request for a role here. {_person(ctx).upn} holds "
        + ("; ".join(g.describe() for g in decision.grants) or "no admin role")
        + "."
    )
    raise access.deny(ctx, decision, Permission.PARTNER_RELATIONSHIPS_MANAGE, reason)


def approve_for_customer(
    ctx: Context, tenant_id: uuid.UUID, activation_id: uuid.UUID
) -> Activation:
    """One of the customer's own Global Administrators (with a recent second factor) approves
    a partner's activation of Global Administrator that its policy holds for it."""
    decision, activation = _for_customer(ctx, tenant_id, activation_id)
    _require_own_global_admin(ctx, decision)
    if activation.status_at(ctx.now) != ActivationStatus.PENDING_APPROVAL:
        raise _no_longer_pending(ctx, activation)
    if not activation.customer_approval_required:
        raise Conflict(
            "This request needs no approval from your organisation (you can still deny it, "
            "or end it once it starts).",
            slug="no-customer-approval",
        )
    if not _has_recent_mfa(ctx):
        raise _refuse_move(
            ctx,
            activation,
            APPROVE,
            RECENT_MFA_NEEDED.format(what="Approving a partner's activation"),
            "recent-mfa-required",
        )
    me = _person(ctx)
    if not _move(
        ctx,
        activation,
        *_pending(ctx),
        Activation.customer_approved_at.is_(None),
        customer_approved_by_user_id=me.user_id,
        customer_approved_by_upn=me.upn,
        customer_approved_at=ctx.now,
    ):
        raise _no_longer_pending(ctx, activation)
    _audit_both(ctx, activation, APPROVE, by=Party.CUSTOMER.value)
    _start_if_approved(ctx, activation)
    notifications.activation_decided(ctx, activation, me.upn, approved=True)
    return activation


def deny_for_customer(ctx: Context, tenant_id: uuid.UUID, activation_id: uuid.UUID) -> Activation:
    """The customer's Global Administrators may turn down any waiting request in their
    organisation, whether or not their approval was asked for."""
    decision, activation = _for_customer(ctx, tenant_id, activation_id)
    _require_own_global_admin(ctx, decision)
    if activation.status_at(ctx.now) != ActivationStatus.PENDING_APPROVAL:
        raise _no_longer_pending(ctx, activation)
    return _deny(ctx, activation, Party.CUSTOMER)


def end_for_customer(ctx: Context, tenant_id: uuid.UUID, activation_id: uuid.UUID) -> Activation:
    """The customer ends a partner's activation (or withdraws a waiting request) at once."""
    _, activation = _for_customer(ctx, tenant_id, activation_id)
    return _end(ctx, activation, Party.CUSTOMER)
