"""The tenant's audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Query

from tenantry.api.deps import Ctx, Cursor, Limit
from tenantry.api.routes import router
from tenantry.api.schemas.audit import ActorOut, AuditEventOut
from tenantry.api.schemas.common import ItemList
from tenantry.audit import chain as audit
from tenantry.audit import log as audit_log
from tenantry.models import AuditEvent
from tenantry.models.audit import AuditOutcome

api = router("audit")


def event_out(event: AuditEvent) -> AuditEventOut:
    return AuditEventOut(
        id=event.id,
        seq=event.seq,
        occurred_at=event.occurred_at,
        action=event.action,
        outcome=event.outcome,
        actor=ActorOut(
            user_id=event.actor_user_id,
            user_principal_name=event.actor_user_principal_name,
            tenant_id=event.actor_tenant_id,
            client_id=event.actor_client_id,
            client_name=event.actor_client_name,
        ),
        partner_tenant_id=event.partner_tenant_id,
        relationship_id=event.relationship_id,
        target=event.target,
        details=event.details,
        request_id=event.request_id,
        client_address=event.client_address,
    )


@api.get("/tenants/{tid}/audit-events", response_model=ItemList[AuditEventOut])
def list_events(
    tid: uuid.UUID,
    ctx: Ctx,
    cursor: Cursor = None,
    limit: Limit = 50,
    action: Annotated[str | None, Query(max_length=64, description="Action prefix")] = None,
    actor: Annotated[
        str | None, Query(max_length=320, description="Actor UPN (or API client name) prefix")
    ] = None,
    outcome: Annotated[AuditOutcome | None, Query()] = None,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
) -> ItemList[AuditEventOut]:
    filters = audit.AuditFilter(action, actor, outcome, since, until)
    page = audit_log.tenant_events(ctx, tid, filters, cursor, limit)
    return ItemList(items=[event_out(e) for e in page.items], next_cursor=page.next_cursor)
