"""Reading a tenant's audit log (the chain itself lives in ``audit``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from tenantry import access
from tenantry.models import AuditEvent
from tenantry.roles import Permission
from tenantry.services import audit
from tenantry.services.context import Context
from tenantry.services.pagination import Page


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def tenant_events(
    ctx: Context, tenant_id: uuid.UUID, filters: audit.AuditFilter, cursor: str | None, limit: int
) -> Page[AuditEvent]:
    access.require(ctx, tenant_id, Permission.AUDIT_READ)
    filters = audit.AuditFilter(
        filters.action,
        filters.actor,
        filters.outcome,
        _utc(filters.since),
        _utc(filters.until),
        filters.by_partner,
    )
    return audit.list_events(ctx.session, tenant_id, filters, cursor, limit)
