"""Service health and service requests."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from tenantry.api.schemas.common import Body, MultiLine, Out, SingleLine
from tenantry.models.health import HealthStatus
from tenantry.models.support import RequestStatus, Severity


class ServiceMessageOut(Out):
    status: str
    message: str
    posted_at: datetime


class ServiceHealthOut(BaseModel):
    id: str
    name: str
    status: HealthStatus
    updated_at: datetime
    messages: list[ServiceMessageOut]


class HealthOut(BaseModel):
    services: list[ServiceHealthOut]


class ServiceRequestOut(Out):
    id: uuid.UUID
    title: str
    description: str
    severity: Severity
    status: RequestStatus
    created_by_user_id: uuid.UUID | None
    created_by_tenant_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class ServiceRequestIn(Body):
    title: SingleLine = Field(min_length=1, max_length=200)
    description: MultiLine = Field(min_length=1, max_length=20_000)
    severity: Severity = Severity.MEDIUM


class ServiceRequestPatch(Body):
    status: RequestStatus | None = None
    severity: Severity | None = None


class CommentOut(Out):
    id: uuid.UUID
    author_user_principal_name: str
    body: str
    created_at: datetime


class CommentIn(Body):
    body: MultiLine = Field(min_length=1, max_length=20_000)
