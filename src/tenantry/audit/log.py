"""Reading a tenant's audit log (the chain itself lives in ``audit``)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import InvalidInput
from tenantry.core.pagination import Page
from tenantry.models import AuditEvent, Relationship, Tenant


def _utc(value: datetime | None) -> datetime | None:
    """A filter moment in UTC (naive means UTC); one that UTC can't hold is a 422."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:
        raise InvalidInput(f"{value.isoformat()} is out of range.") from exc


def tenant_events(
    ctx: Context, tenant_id: uuid.UUID, filters: audit.AuditFilter, cursor: str | None, limit: int
) -> Page[AuditEvent]:
    access.require(ctx, tenant_id, Permission.AUDIT_READ)
    filters = dataclasses.replace(filters, since=_utc(filters.since), until=_utc(filters.until))
    return audit.list_events(ctx.session, tenant_id, filters, cursor, limit)


def partners_of(ctx: Context, tenant_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Every partner that has had a relationship with the tenant (ended ones too: their
    actions stay in the log), by name, for the audit log's partner filter."""
    access.require(ctx, tenant_id, Permission.AUDIT_READ)
    rows = ctx.session.execute(
        select(Tenant.id, Tenant.name)
        .where(
            Tenant.id.in_(
                select(Relationship.partner_tenant_id).where(
                    Relationship.customer_tenant_id == tenant_id
                )
            )
        )
        .order_by(Tenant.name)
    )
    return {partner_id: name for partner_id, name in rows}
