"""Webhooks: an organisation's endpoints (/tenants/{tid}/webhooks) and a partner's
(/partner/webhooks), their deliveries and replays (README "Webhooks")."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import Response

from tenantry.api.deps import Ctx, Cursor, Limit
from tenantry.api.routes import router
from tenantry.api.schemas.common import ItemList
from tenantry.api.schemas.webhooks import (
    DeliveryOut,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
    WebhookRotationIn,
    WebhookSecretOut,
)
from tenantry.core.context import Context
from tenantry.core.pagination import Page
from tenantry.models import WebhookDelivery, WebhookEndpoint
from tenantry.models.webhooks import DeliveryStatus
from tenantry.operations import webhook_endpoints as service

api = router("webhooks")


def _out(ctx: Context, endpoints: list[WebhookEndpoint]) -> list[WebhookOut]:
    events = service.events_of(ctx, endpoints)
    return [
        WebhookOut(
            id=e.id,
            tenant_id=e.tenant_id,
            kind=e.kind,
            url=e.url,
            description=e.description,
            events=events[e.id],
            enabled=e.enabled,
            previous_secret_until=e.previous_secret_until,
            created_at=e.created_at,
            updated_at=e.updated_at,
        )
        for e in endpoints
    ]


def _made(ctx: Context, made: service.Made) -> WebhookSecretOut:
    (out,) = _out(ctx, [made.endpoint])
    return WebhookSecretOut(**out.model_dump(), secret=made.secret)


def _changes(body: WebhookPatch) -> service.EndpointChanges:
    return service.EndpointChanges(
        given=set(body.model_fields_set),
        url=body.url,
        events=body.events,
        enabled=body.enabled,
        description=body.description,
    )


def _overlap(body: WebhookRotationIn | None) -> timedelta | None:
    if body is None or body.overlap_seconds is None:
        return None
    return timedelta(seconds=body.overlap_seconds)


def _deliveries(page: Page[WebhookDelivery]) -> ItemList[DeliveryOut]:
    return ItemList(
        items=[DeliveryOut.model_validate(d, from_attributes=True) for d in page.items],
        next_cursor=page.next_cursor,
    )


# --- an organisation's endpoints ------------------------------------------------------------


@api.post("/tenants/{tid}/webhooks", status_code=201, response_model=WebhookSecretOut)
def create_tenant_webhook(tid: uuid.UUID, body: WebhookIn, ctx: Ctx) -> WebhookSecretOut:
    """An endpoint receiving the organisation's events, signed per Standard Webhooks. The
    secret is shown this once. Only the organisation's own Global Administrators, never on
    behalf."""
    owner = service.tenant_owner(ctx, tid)
    made = service.create(
        ctx, owner, url=body.url, events=body.events, description=body.description
    )
    return _made(ctx, made)


@api.get("/tenants/{tid}/webhooks", response_model=ItemList[WebhookOut])
def list_tenant_webhooks(
    tid: uuid.UUID, ctx: Ctx, cursor: Cursor = None, limit: Limit = 50
) -> ItemList[WebhookOut]:
    page = service.endpoints(ctx, service.tenant_owner(ctx, tid), cursor, limit)
    return ItemList(items=_out(ctx, page.items), next_cursor=page.next_cursor)


@api.get("/tenants/{tid}/webhooks/{wid}", response_model=WebhookOut)
def get_tenant_webhook(tid: uuid.UUID, wid: uuid.UUID, ctx: Ctx) -> WebhookOut:
    return _out(ctx, [service.endpoint(ctx, service.tenant_owner(ctx, tid), wid)])[0]


@api.patch("/tenants/{tid}/webhooks/{wid}", response_model=WebhookOut)
def patch_tenant_webhook(
    tid: uuid.UUID, wid: uuid.UUID, body: WebhookPatch, ctx: Ctx
) -> WebhookOut:
    """Change the URL, the events, the description; disable or enable."""
    found = service.update(ctx, service.tenant_owner(ctx, tid), wid, _changes(body))
    return _out(ctx, [found])[0]


@api.delete("/tenants/{tid}/webhooks/{wid}", status_code=204)
def delete_tenant_webhook(tid: uuid.UUID, wid: uuid.UUID, ctx: Ctx) -> Response:
    service.remove(ctx, service.tenant_owner(ctx, tid), wid)
    return Response(status_code=204)


@api.post("/tenants/{tid}/webhooks/{wid}/rotate-secret", response_model=WebhookSecretOut)
def rotate_tenant_webhook_secret(
    tid: uuid.UUID, wid: uuid.UUID, ctx: Ctx, body: WebhookRotationIn | None = None
) -> WebhookSecretOut:
    """A new secret, shown once; the previous one signs beside it for the overlap."""
    owner = service.tenant_owner(ctx, tid)
    return _made(ctx, service.rotate_secret(ctx, owner, wid, _overlap(body)))


@api.get("/tenants/{tid}/webhooks/{wid}/deliveries", response_model=ItemList[DeliveryOut])
def list_tenant_webhook_deliveries(
    tid: uuid.UUID,
    wid: uuid.UUID,
    ctx: Ctx,
    cursor: Cursor = None,
    limit: Limit = 50,
    status: DeliveryStatus | None = None,
) -> ItemList[DeliveryOut]:
    """Newest first: status, attempts, the last answer or error, the next attempt."""
    owner = service.tenant_owner(ctx, tid)
    return _deliveries(service.deliveries(ctx, owner, wid, cursor, limit, status))


@api.post(
    "/tenants/{tid}/webhooks/{wid}/deliveries/{did}/replay",
    status_code=202,
    response_model=DeliveryOut,
)
def replay_tenant_webhook_delivery(
    tid: uuid.UUID, wid: uuid.UUID, did: uuid.UUID, ctx: Ctx
) -> DeliveryOut:
    """Send the same message again (same webhook-id and body) as a new delivery."""
    again = service.replay(ctx, service.tenant_owner(ctx, tid), wid, did)
    return DeliveryOut.model_validate(again, from_attributes=True)


# --- a partner's endpoints ------------------------------------------------------------------


@api.post("/partner/webhooks", status_code=201, response_model=WebhookSecretOut)
def create_partner_webhook(body: WebhookIn, ctx: Ctx) -> WebhookSecretOut:
    """An endpoint receiving the partner's own relationship and activation events (never its
    customers' directory events). The secret is shown this once."""
    owner = service.partner_owner(ctx)
    made = service.create(
        ctx, owner, url=body.url, events=body.events, description=body.description
    )
    return _made(ctx, made)


@api.get("/partner/webhooks", response_model=ItemList[WebhookOut])
def list_partner_webhooks(
    ctx: Ctx, cursor: Cursor = None, limit: Limit = 50
) -> ItemList[WebhookOut]:
    page = service.endpoints(ctx, service.partner_owner(ctx), cursor, limit)
    return ItemList(items=_out(ctx, page.items), next_cursor=page.next_cursor)


@api.get("/partner/webhooks/{wid}", response_model=WebhookOut)
def get_partner_webhook(wid: uuid.UUID, ctx: Ctx) -> WebhookOut:
    return _out(ctx, [service.endpoint(ctx, service.partner_owner(ctx), wid)])[0]


@api.patch("/partner/webhooks/{wid}", response_model=WebhookOut)
def patch_partner_webhook(wid: uuid.UUID, body: WebhookPatch, ctx: Ctx) -> WebhookOut:
    found = service.update(ctx, service.partner_owner(ctx), wid, _changes(body))
    return _out(ctx, [found])[0]


@api.delete("/partner/webhooks/{wid}", status_code=204)
def delete_partner_webhook(wid: uuid.UUID, ctx: Ctx) -> Response:
    service.remove(ctx, service.partner_owner(ctx), wid)
    return Response(status_code=204)


@api.post("/partner/webhooks/{wid}/rotate-secret", response_model=WebhookSecretOut)
def rotate_partner_webhook_secret(
    wid: uuid.UUID, ctx: Ctx, body: WebhookRotationIn | None = None
) -> WebhookSecretOut:
    owner = service.partner_owner(ctx)
    return _made(ctx, service.rotate_secret(ctx, owner, wid, _overlap(body)))


@api.get("/partner/webhooks/{wid}/deliveries", response_model=ItemList[DeliveryOut])
def list_partner_webhook_deliveries(
    wid: uuid.UUID,
    ctx: Ctx,
    cursor: Cursor = None,
    limit: Limit = 50,
    status: DeliveryStatus | None = None,
) -> ItemList[DeliveryOut]:
    owner = service.partner_owner(ctx)
    return _deliveries(service.deliveries(ctx, owner, wid, cursor, limit, status))


@api.post(
    "/partner/webhooks/{wid}/deliveries/{did}/replay", status_code=202, response_model=DeliveryOut
)
def replay_partner_webhook_delivery(wid: uuid.UUID, did: uuid.UUID, ctx: Ctx) -> DeliveryOut:
    again = service.replay(ctx, service.partner_owner(ctx), wid, did)
    return DeliveryOut.model_validate(again, from_attributes=True)
