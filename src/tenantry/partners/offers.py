"""Offers: the link a partner sends, what the customer is shown, and accepting it.

An offer's token is HMAC-SHA256(secret key, offer id + nonce): 32 bytes nobody can guess, that
the partner can be shown again, while only its SHA-256 is stored and looked up. Rotating the
secret key changes every link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from tenantry import access
from tenantry.access.roles import UNDELEGABLE_ROLES, Permission, Role
from tenantry.audit import chain as audit
from tenantry.billing import subscriptions as billing
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, Gone, InvalidInput, NotFound
from tenantry.core.pagination import Page, paginate
from tenantry.core.scoped import get_scoped
from tenantry.directory import tenants
from tenantry.models import Offer, Relationship, Sku, Tenant
from tenantry.models.partners import OfferKind, OfferStatus, RelationshipStatus
from tenantry.partners import blocks as partner_blocks
from tenantry.partners import enrolment as partners
from tenantry.partners import notifications, relationships

CLASSIC_ROLES = (Role.GLOBAL_ADMINISTRATOR, Role.PASSWORD_ADMINISTRATOR)
CLASSIC_DURATION_DAYS = 730
PENDING_DAYS = 90
DURATION = re.compile(r"^P(\d{1,4})D$")
MAX_TRIAL_DAYS = 180
MAX_SEATS = billing.MAX_SEATS
ONLY_GLOBAL_ADMINISTRATORS = (
    "Only a Global Administrator of your organisation can authorise a partner."
)


@dataclass(frozen=True)
class TrialTerms:
    sku_id: str
    seats: int
    days: int


@dataclass(frozen=True)
class PurchaseTerms:
    sku_id: str
    seats: int


def parse_duration(value: str) -> int:
    """ISO 8601 days, P1D to P730D."""
    match = DURATION.match(value.strip().upper())
    days = int(match.group(1)) if match else 0
    if not 1 <= days <= CLASSIC_DURATION_DAYS:
        raise InvalidInput(
            "duration is ISO 8601 days from P1D to P730D (for example P90D).",
            slug="invalid-duration",
        )
    return days


def format_duration(days: int) -> str:
    return f"P{days}D"


def token_for(ctx: Context, offer: Offer) -> str:
    key = ctx.settings.effective_secret_key.encode()
    mac = hmac.new(key, f"offer:{offer.id}:{offer.token_nonce}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def url_for(ctx: Context, offer: Offer) -> str:
    return f"{ctx.settings.public_url.rstrip('/')}/offers/{token_for(ctx, offer)}"


def contact_line(partner: Tenant) -> str:
    parts = [
        partner.technical_contact_email,
        partner.phone,
        ", ".join(
            p for p in (partner.street, partner.city, partner.postal_code, partner.country) if p
        ),
    ]
    return " · ".join(p for p in parts if p) or "(no contact details yet)"


def email_text(ctx: Context, offer: Offer, partner: Tenant) -> str:
    """The familiar invitation, ready to paste into a mail, a document or a web page; the
    partner is named with its verified default domain."""
    named = tenants.with_domain(partner.name, tenants.default_domain(ctx, partner.id))
    return (
        f"{named} has offered to provide delegated administration for your online "
        f"services. Authorize access to administer your online services here: "
        f"{url_for(ctx, offer)}\n\nAdditional partner information: {contact_line(partner)}"
    )


def invitation_mailto(partner: Tenant, invitation: str) -> str:
    """A ``mailto:`` link that opens the invitation (``email_text``) in the partner's own
    mail program, the same on the API and the partner center."""
    subject = f"{partner.name} offers delegated administration"
    return f"mailto:?subject={quote(subject)}&body={quote(invitation)}"


def _roles(values: list[str] | None) -> list[Role]:
    roles = [Role(v) for v in values] if values is not None else list(CLASSIC_ROLES)
    if not roles:
        raise InvalidInput("An offer asks for at least one role.", slug="invalid-roles")
    refused = [r for r in roles if r in UNDELEGABLE_ROLES]
    if refused:
        raise InvalidInput(
            "Device management can't be delegated; remove device_administrator.",
            slug="invalid-roles",
        )
    return sorted(set(roles), key=list(Role).index)


def _sku(ctx: Context, sku_id: str) -> Sku:
    sku = ctx.session.get(Sku, sku_id)
    if sku is None:
        raise InvalidInput(f"There is no product '{sku_id}'; see GET /skus.", slug="unknown-sku")
    return sku


def create_offer(
    ctx: Context,
    *,
    roles: list[str] | None = None,
    duration: str | None = None,
    auto_extend: bool = False,
    customer_tenant_id: uuid.UUID | None = None,
    trial: TrialTerms | None = None,
    purchase: PurchaseTerms | None = None,
) -> Offer:
    """``{}`` is the classic offer: reusable, Full + Limited administration, P730D."""
    partner = partners.require_partner(ctx)
    chosen = _roles(roles)
    days = parse_duration(duration) if duration else CLASSIC_DURATION_DAYS
    relationships.check_auto_extend(auto_extend, chosen)
    if trial and purchase:
        raise InvalidInput("An offer carries a trial or a purchase, not both.")
    if trial:
        _sku(ctx, trial.sku_id)
        if not (1 <= trial.seats <= MAX_SEATS and 1 <= trial.days <= MAX_TRIAL_DAYS):
            raise InvalidInput(
                f"A trial has 1 to {MAX_SEATS} seats and 1 to {MAX_TRIAL_DAYS} days."
            )
    if purchase:
        _sku(ctx, purchase.sku_id)
        if not 1 <= purchase.seats <= MAX_SEATS:
            raise InvalidInput(f"A purchase has 1 to {MAX_SEATS} seats.")
    if customer_tenant_id is not None:
        customer = ctx.session.get(Tenant, customer_tenant_id)
        if customer is None:
            raise InvalidInput(
                "There is no organisation with that customer_tenant_id.", slug="unknown-customer"
            )
        if customer.id == partner.id:
            raise InvalidInput("A partner can't make an offer to itself.")
    is_classic = (
        roles is None and duration is None and not auto_extend and customer_tenant_id is None
    )
    offer = Offer(
        id=uuid.uuid4(),
        partner_tenant_id=partner.id,
        token_nonce=secrets.token_hex(16),
        token_hash="",
        is_classic=is_classic,
        customer_tenant_id=customer_tenant_id,
        roles=[r.value for r in chosen],
        duration_days=days,
        auto_extend=auto_extend,
        trial_sku_id=trial.sku_id if trial else None,
        trial_seats=trial.seats if trial else None,
        trial_days=trial.days if trial else None,
        purchase_sku_id=purchase.sku_id if purchase else None,
        purchase_seats=purchase.seats if purchase else None,
        status=OfferStatus.ACTIVE,
        created_by_user_id=ctx.require_principal().user_id,
        created_at=ctx.now,
        expires_at=ctx.now + timedelta(days=PENDING_DAYS) if customer_tenant_id else None,
    )
    offer.token_hash = hashlib.sha256(token_for(ctx, offer).encode()).hexdigest()
    if customer_tenant_id is not None:
        # Lock the customer row before the offer's foreign key takes a share lock on it:
        # two requests holding share locks that both want the row lock deadlock.
        partner_blocks.lock_customer(ctx, customer_tenant_id)
    ctx.session.add(offer)
    ctx.session.flush()
    if customer_tenant_id is not None:
        _open_request(ctx, offer)
    audit.record(
        ctx,
        partner.id,
        "partner.offer.create",
        f"offer:{offer.id}",
        details={
            "roles": offer.roles,
            "duration": format_duration(days),
            "customer_tenant_id": str(customer_tenant_id or ""),
        },
    )
    return offer


REQUEST_PENDING = (
    "There is already a request waiting for this customer's approval; withdraw it (disable "
    "its offer) before sending another."
)


def _open_request(ctx: Context, offer: Offer) -> None:
    """At most one open request per partner and customer (a unique index decides races), so
    a partner can't flood a customer with requests."""
    assert offer.customer_tenant_id is not None
    partner_blocks.ensure_not_blocked_request(
        ctx, offer.customer_tenant_id, offer.partner_tenant_id
    )
    pending = ctx.session.scalar(
        select(Relationship.id).where(
            Relationship.partner_tenant_id == offer.partner_tenant_id,
            Relationship.customer_tenant_id == offer.customer_tenant_id,
            Relationship.status == RelationshipStatus.APPROVAL_PENDING,
        )
    )
    if pending is not None:
        raise Conflict(REQUEST_PENDING, slug="request-pending")
    try:
        with ctx.session.begin_nested():
            relationship = relationships.open_pending(ctx, offer)
    except IntegrityError as exc:  # a concurrent request to the same customer won
        raise Conflict(REQUEST_PENDING, slug="request-pending") from exc
    notifications.request_sent(ctx, relationship, url_for(ctx, offer))


def list_offers(ctx: Context, *, cursor: str | None, limit: int) -> Page[Offer]:
    partner = partners.require_partner(ctx)
    stmt: Select[Offer] = select(Offer).where(Offer.partner_tenant_id == partner.id)
    return paginate(ctx.session, stmt, [Offer.created_at, Offer.id], cursor, limit, descending=True)


def get_offer(ctx: Context, offer_id: uuid.UUID) -> Offer:
    partner = partners.require_partner(ctx)
    return get_scoped(ctx.session, Offer, offer_id, partner.id, "Offer", owner="partner_tenant_id")


def update_offer(ctx: Context, offer_id: uuid.UUID, *, enabled: bool | None) -> Offer:
    offer = get_offer(ctx, offer_id)
    if enabled is not None and (offer.status == OfferStatus.ACTIVE) != enabled:
        offer.status = OfferStatus.ACTIVE if enabled else OfferStatus.DISABLED
        if not enabled:
            relationships.withdraw_pending(ctx, offer)
        audit.record(
            ctx,
            offer.partner_tenant_id,
            "partner.offer.enable" if enabled else "partner.offer.disable",
            f"offer:{offer.id}",
        )
    return offer


def find_by_token(ctx: Context, token: str) -> Offer:
    """The offer behind a link: 404 when unknown, 410 when disabled or expired."""
    if not 20 <= len(token) <= 100:
        raise NotFound("This offer does not exist.", slug="unknown-offer")
    digest = hashlib.sha256(token.encode()).hexdigest()
    offer = ctx.session.scalar(select(Offer).where(Offer.token_hash == digest))
    if offer is None or not hmac.compare_digest(offer.token_hash, digest):
        raise NotFound("This offer does not exist.", slug="unknown-offer")
    if offer.status != OfferStatus.ACTIVE:
        raise Gone("The partner has withdrawn this offer.", slug="offer-disabled")
    if offer.expires_at is not None and offer.expires_at <= ctx.now:
        raise Gone("This offer has expired; ask the partner for a new one.", slug="offer-expired")
    return offer


@dataclass(frozen=True)
class OfferView:
    offer: Offer
    partner: Tenant
    partner_domain: str = ""


def describe(ctx: Context, token: str) -> OfferView:
    offer = find_by_token(ctx, token)
    partner = ctx.session.get(Tenant, offer.partner_tenant_id)
    assert partner is not None
    return OfferView(offer, partner, tenants.default_domain(ctx, partner.id))


def accept(ctx: Context, token: str) -> Relationship:
    """The customer's Global Administrator accepts: one transaction makes the relationship
    live, the trial or purchase, the audit events in both tenants and the partner's e-mail."""
    offer = find_by_token(ctx, token)
    ctx.require_user()  # consent is given by a person, never by an API client
    principal = ctx.require_principal()
    customer_id = principal.tenant_id
    if offer.customer_tenant_id is not None and offer.customer_tenant_id != customer_id:
        raise NotFound("This offer does not exist.", slug="unknown-offer")
    if offer.partner_tenant_id == customer_id:
        raise Conflict("A partner can't accept its own offer.", slug="own-offer")
    decision = access.decide(ctx, customer_id)
    if not decision.allows(Permission.PARTNER_RELATIONSHIPS_MANAGE):
        raise access.deny(
            ctx,
            decision,
            Permission.PARTNER_RELATIONSHIPS_MANAGE,
            ONLY_GLOBAL_ADMINISTRATORS
            + " "
            + decision.explain(Permission.PARTNER_RELATIONSHIPS_MANAGE),
        )
    partner = ctx.session.get(Tenant, offer.partner_tenant_id)
    assert partner is not None
    partner_blocks.ensure_may_accept(ctx, customer_id, partner)
    if offer.kind == OfferKind.FOR_ONE_CUSTOMER:
        relationship = relationships.activate_pending(ctx, offer, customer_id)
    else:
        relationship = _open_reusable(ctx, offer, customer_id)
    relationships.create_default_assignments(ctx, offer, relationship)
    if offer.trial_sku_id and offer.trial_seats:
        billing.create_subscription(
            ctx,
            customer_id,
            sku_id=offer.trial_sku_id,
            seats=offer.trial_seats,
            trial=True,
            trial_days=offer.trial_days,
        )
    if offer.purchase_sku_id and offer.purchase_seats:
        billing.create_subscription(
            ctx, customer_id, sku_id=offer.purchase_sku_id, seats=offer.purchase_seats, trial=False
        )
    notifications.relationship_accepted(ctx, relationship)
    return relationship


def _open_reusable(ctx: Context, offer: Offer, customer_id: uuid.UUID) -> Relationship:
    relationships.ensure_not_accepted(ctx, offer, customer_id)
    try:
        with ctx.session.begin_nested():
            relationship = relationships.open_active(ctx, offer, customer_id)
    except IntegrityError as exc:  # a concurrent accept of the same offer won
        raise Conflict(
            "Your organisation has already accepted this offer.", slug="already-accepted"
        ) from exc
    return relationship


def offer_terms(offer: Offer) -> dict[str, Any]:
    trial = (
        {"sku_id": offer.trial_sku_id, "seats": offer.trial_seats, "days": offer.trial_days}
        if offer.trial_sku_id
        else None
    )
    purchase = (
        {"sku_id": offer.purchase_sku_id, "seats": offer.purchase_seats}
        if offer.purchase_sku_id
        else None
    )
    return {"trial": trial, "purchase": purchase}
