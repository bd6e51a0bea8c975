"""Service health: the operator (or a platform service itself, with its own credential)
posts status and messages; tenants read them."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.core.context import Context
from tenantry.core.errors import Forbidden, InvalidInput, NotFound, parse_choice
from tenantry.models import RelyingParty, Service, ServiceMessage
from tenantry.models.health import HealthStatus

RECENT = timedelta(days=7)


@dataclass(frozen=True)
class ServiceHealth:
    service: Service
    messages: list[ServiceMessage]


def overview(ctx: Context) -> list[ServiceHealth]:
    services = list(ctx.session.scalars(select(Service).order_by(Service.name)))
    recent = ctx.session.scalars(
        select(ServiceMessage)
        .where(ServiceMessage.posted_at >= ctx.now - RECENT)
        .order_by(ServiceMessage.posted_at.desc())
        .limit(200)
    )
    by_service: dict[str, list[ServiceMessage]] = defaultdict(list)
    for message in recent:
        by_service[message.service_id].append(message)
    return [ServiceHealth(s, by_service[s.id]) for s in services]


def tenant_health(ctx: Context, tenant_id: uuid.UUID) -> list[ServiceHealth]:
    access.require(ctx, tenant_id, Permission.HEALTH_READ)
    return overview(ctx)


def set_status(ctx: Context, service: str, status: str, message: str | None) -> Service:
    """Operator action (CLI): change a service's status and post a message about it."""
    new_status = parse_choice(HealthStatus, status, "Status")
    row = ctx.session.scalar(
        select(Service).where(
            (Service.id == service.lower()) | (func.lower(Service.name) == service.lower())
        )
    )
    if row is None:
        names = ", ".join(ctx.session.scalars(select(Service.id).order_by(Service.id)))
        raise NotFound(f"No service '{service}'. Services: {names}.")
    row.status, row.updated_at = new_status, ctx.now
    ctx.session.add(
        ServiceMessage(
            service_id=row.id,
            status=new_status,
            message=message or f"{row.name} is {new_status}.",
            posted_at=ctx.now,
        )
    )
    return row


def post_by_service(
    ctx: Context, party: RelyingParty, service_id: str, status: str, message: str | None
) -> Service:
    """A platform service posts its own health with its own credential (a ``service.health``
    token from /oauth2/token): only its own, recorded like the operator's."""
    if party.service_id is None or party.service_id != service_id:
        raise Forbidden(
            f"This credential is the service '{party.name}''s: it posts only its own health.",
            slug="not-this-service",
        )
    if message is not None and len(message) > 2000:
        raise InvalidInput("A message has at most 2000 characters.")
    return set_status(ctx, service_id, status, message)
