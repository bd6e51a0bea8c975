"""The audit log as the API shows it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel


class ActorOut(BaseModel):
    user_id: uuid.UUID | None
    user_principal_name: str | None
    tenant_id: uuid.UUID | None
    # An API client acting: its id and name in words ("app 'Backup' of partner Fabrikam").
    client_id: uuid.UUID | None = None
    client_name: str | None = None


class AuditEventOut(BaseModel):
    id: uuid.UUID
    seq: int
    occurred_at: datetime
    action: str
    outcome: str
    actor: ActorOut
    partner_tenant_id: uuid.UUID | None
    relationship_id: uuid.UUID | None
    target: str
    details: dict[str, Any]
    request_id: str | None
    client_address: str | None
