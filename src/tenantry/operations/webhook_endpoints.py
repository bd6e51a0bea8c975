"""Managing webhook endpoints (README "Webhooks"): an organisation's at
``/tenants/{tid}/webhooks`` and a partner's at ``/partner/webhooks``; their deliveries and
replays. Emitting and delivering are ``operations.webhooks``.

* **Who.** An organisation's endpoints: its own Global Administrators (``tenant.update`` on the
  member path, ``access.require_at_home``): an event stream of the directory is the customer's
  own and a partner acting on behalf never makes one (it would outlive the relationship). A
  partner's endpoints: the partner's own administrators (``partner.manage``, member path).
* **Secrets** are shown once, at creation and at rotation; stored encrypted, never listed,
  never logged or audited.
* **Audited** in the owner's tenant: created, changed, deleted, secret rotated, replayed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import delete, func, select

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, InvalidInput, NotFound
from tenantry.core.pagination import Page, paginate
from tenantry.models import (
    Tenant,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookKind,
    WebhookSubscription,
)
from tenantry.models.webhooks import DeliveryStatus
from tenantry.operations import webhooks
from tenantry.partners import enrolment as partners

MAX_ENDPOINTS = 20
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)
WHAT = "Webhooks"


@dataclass(frozen=True)
class Owner:
    tenant: Tenant
    kind: WebhookKind


@dataclass(frozen=True)
class Made:
    """An endpoint just made or given a new secret: the secret is shown this once."""

    endpoint: WebhookEndpoint
    events: list[str]
    secret: str


@dataclass
class EndpointChanges:
    given: set[str] = field(default_factory=set)
    url: str | None = None
    events: list[str] | None = None
    enabled: bool | None = None
    description: str | None = None


def tenant_owner(ctx: Context, tenant_id: uuid.UUID) -> Owner:
    access.require_at_home(ctx, tenant_id, Permission.TENANT_UPDATE, WHAT)
    tenant = ctx.session.get(Tenant, tenant_id)
    assert tenant is not None
    return Owner(tenant, WebhookKind.TENANT)


def tenant_refusal(decision: access.Decision) -> str | None:
    """Why this decision may not manage the organisation's endpoints (None: it may), as
    ``tenant_owner`` would refuse: for a page that says so instead of offering its forms."""
    return access.at_home_refusal(decision, Permission.TENANT_UPDATE, access.managed_at_home(WHAT))


def partner_owner(ctx: Context) -> Owner:
    partner = partners.require_partner(ctx, None)
    access.require_at_home(ctx, partner.id, Permission.PARTNER_MANAGE, WHAT)
    return Owner(partner, WebhookKind.PARTNER)


def _one(ctx: Context, owner: Owner, endpoint_id: uuid.UUID, lock: bool = False) -> WebhookEndpoint:
    endpoint = ctx.session.get(WebhookEndpoint, endpoint_id, with_for_update=lock or None)
    if endpoint is None or endpoint.tenant_id != owner.tenant.id or endpoint.kind != owner.kind:
        raise NotFound("Webhook endpoint not found.")
    return endpoint


def events_of(ctx: Context, endpoints: list[WebhookEndpoint]) -> dict[uuid.UUID, list[str]]:
    """Each endpoint's events, for a page of endpoints in one query."""
    out: dict[uuid.UUID, list[str]] = {e.id: [] for e in endpoints}
    for endpoint_id, event in ctx.session.execute(
        select(WebhookSubscription.endpoint_id, WebhookSubscription.event_type)
        .where(WebhookSubscription.endpoint_id.in_(list(out)))
        .order_by(WebhookSubscription.event_type)
    ):
        out[endpoint_id].append(event)
    return out


def _subscribe(ctx: Context, endpoint: WebhookEndpoint, events: list[str]) -> None:
    ctx.session.execute(
        delete(WebhookSubscription).where(WebhookSubscription.endpoint_id == endpoint.id)
    )
    ctx.session.add_all(WebhookSubscription(endpoint_id=endpoint.id, event_type=e) for e in events)


def shown_url(url: str) -> str:
    """The URL for the audit log: without its query, where a receiver may keep a key of its
    own (the log is read more widely than the endpoints are)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _audit(
    ctx: Context, owner: Owner, endpoint: WebhookEndpoint, action: str, **details: object
) -> None:
    audit.record(ctx, owner.tenant.id, action, f"webhook:{endpoint.id}", details=details)


# --- reading --------------------------------------------------------------------------------


def endpoints(ctx: Context, owner: Owner, cursor: str | None, limit: int) -> Page[WebhookEndpoint]:
    stmt = select(WebhookEndpoint).where(
        WebhookEndpoint.tenant_id == owner.tenant.id, WebhookEndpoint.kind == owner.kind
    )
    return paginate(
        ctx.session, stmt, [WebhookEndpoint.created_at, WebhookEndpoint.id], cursor, limit
    )


def endpoint(ctx: Context, owner: Owner, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    return _one(ctx, owner, endpoint_id)


def deliveries(
    ctx: Context,
    owner: Owner,
    endpoint_id: uuid.UUID,
    cursor: str | None,
    limit: int,
    status: DeliveryStatus | None = None,
) -> Page[WebhookDelivery]:
    """The endpoint's deliveries, newest first."""
    found = _one(ctx, owner, endpoint_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == found.id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    return paginate(
        ctx.session,
        stmt,
        [WebhookDelivery.created_at, WebhookDelivery.id],
        cursor,
        limit,
        descending=True,
    )


# --- changing -------------------------------------------------------------------------------


def create(
    ctx: Context, owner: Owner, *, url: str, events: list[str], description: str | None = None
) -> Made:
    url = webhooks.check_url(ctx.settings, url)
    chosen = webhooks.subscribable(owner.kind, events)
    # The owner's row, locked: two creations at once count each other (SQLite serialises).
    ctx.session.execute(select(Tenant.id).where(Tenant.id == owner.tenant.id).with_for_update())
    count = ctx.session.scalar(
        select(func.count())
        .select_from(WebhookEndpoint)
        .where(WebhookEndpoint.tenant_id == owner.tenant.id, WebhookEndpoint.kind == owner.kind)
    )
    if (count or 0) >= MAX_ENDPOINTS:
        raise Conflict(
            f"{owner.tenant.name} has {MAX_ENDPOINTS} webhook endpoints, the most it may have: "
            "remove one first.",
            slug="too-many-webhooks",
        )
    secret = webhooks.new_secret()
    endpoint_id = uuid.uuid4()
    made = WebhookEndpoint(
        id=endpoint_id,
        tenant_id=owner.tenant.id,
        kind=owner.kind,
        url=url,
        description=(description or "").strip() or None,
        enabled=True,
        secret_ciphertext=webhooks.seal(ctx.settings, endpoint_id, secret),
        created_at=ctx.now,
        updated_at=ctx.now,
        created_by_user_id=ctx.require_principal().user_id,
    )
    ctx.session.add(made)
    ctx.session.flush()
    _subscribe(ctx, made, chosen)
    ctx.session.flush()
    _audit(ctx, owner, made, "webhook.create", url=shown_url(url), events=chosen)
    return Made(made, chosen, secret)


def update(
    ctx: Context, owner: Owner, endpoint_id: uuid.UUID, changes: EndpointChanges
) -> WebhookEndpoint:
    found = _one(ctx, owner, endpoint_id, lock=True)
    done: dict[str, object] = {}
    if "url" in changes.given and changes.url is not None:
        found.url = webhooks.check_url(ctx.settings, changes.url)
        done["url"] = shown_url(found.url)
    if "events" in changes.given and changes.events is not None:
        chosen = webhooks.subscribable(owner.kind, changes.events)
        _subscribe(ctx, found, chosen)
        done["events"] = chosen
    if "description" in changes.given:
        found.description = (changes.description or "").strip() or None
        done["description"] = found.description
    action = "webhook.update"
    if "enabled" in changes.given and changes.enabled is not None:
        if changes.enabled != found.enabled:
            action = "webhook.enable" if changes.enabled else "webhook.disable"
        found.enabled = changes.enabled
    if "enabled" in changes.given and changes.enabled is None:
        raise InvalidInput("enabled is true or false.")
    found.updated_at = ctx.now
    ctx.session.flush()
    _audit(ctx, owner, found, action, **done)
    return found


def remove(ctx: Context, owner: Owner, endpoint_id: uuid.UUID) -> None:
    """Deleted with its deliveries (pending ones are never sent)."""
    found = _one(ctx, owner, endpoint_id, lock=True)
    url = found.url
    ctx.session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == found.id))
    audit.record(
        ctx,
        owner.tenant.id,
        "webhook.delete",
        f"webhook:{endpoint_id}",
        details={"url": shown_url(url)},
    )


def rotate_secret(
    ctx: Context, owner: Owner, endpoint_id: uuid.UUID, overlap: timedelta | None = None
) -> Made:
    """A new secret, shown once. The current one keeps signing beside it for ``overlap``
    (24 hours by default, zero ends it now): each delivery carries both signatures, so the
    receiver can move to the new secret whenever it likes within the overlap."""
    overlap = DEFAULT_OVERLAP if overlap is None else overlap
    if overlap < timedelta() or overlap > MAX_OVERLAP:
        raise InvalidInput("The overlap is between 0 seconds and 7 days.")
    found = _one(ctx, owner, endpoint_id, lock=True)
    secret = webhooks.new_secret()
    if overlap > timedelta():
        found.previous_secret_ciphertext = found.secret_ciphertext
        found.previous_secret_until = ctx.now + overlap
    else:
        found.previous_secret_ciphertext = found.previous_secret_until = None
    found.secret_ciphertext = webhooks.seal(ctx.settings, found.id, secret)
    found.updated_at = ctx.now
    ctx.session.flush()
    _audit(ctx, owner, found, "webhook.rotate_secret", overlap_seconds=int(overlap.total_seconds()))
    return Made(found, events_of(ctx, [found])[found.id], secret)


def replay(
    ctx: Context, owner: Owner, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """The same message again: a new delivery with the same ``webhook-id`` and body (signed
    afresh at its attempt), so a receiver that deduplicates on ``webhook-id`` processes an
    event once however often it is replayed; the original delivery stays as it was."""
    found = _one(ctx, owner, endpoint_id)
    original = ctx.session.get(WebhookDelivery, delivery_id)
    if original is None or original.endpoint_id != found.id:
        raise NotFound("Delivery not found.")
    if original.status == DeliveryStatus.PENDING:
        raise Conflict(
            "This delivery is still being tried; replay it once it was delivered or failed.",
            slug="delivery-pending",
        )
    again = WebhookDelivery(
        id=uuid.uuid4(),
        endpoint_id=found.id,
        message_id=original.message_id,
        event_type=original.event_type,
        payload=original.payload,
        created_at=ctx.now,
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=ctx.now,
        replay_of=original.id,
    )
    ctx.session.add(again)
    ctx.session.flush()
    _audit(
        ctx,
        owner,
        found,
        "webhook.replay",
        delivery=str(original.id),
        message_id=original.message_id,
        event=original.event_type,
    )
    return again
