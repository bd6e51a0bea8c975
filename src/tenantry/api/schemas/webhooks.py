"""Webhook endpoints and their deliveries as the API shows them (README "Webhooks")."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from tenantry.api.schemas.common import Body, SingleLine
from tenantry.models.webhooks import DeliveryStatus, WebhookKind

EventName = SingleLine


class WebhookIn(Body):
    url: SingleLine = Field(
        min_length=1, max_length=2048, examples=["https://hooks.example.com/tenantry"]
    )
    events: list[EventName] = Field(
        min_length=1,
        max_length=50,
        description='Event names (object.past_verb), or ["*"] for all the endpoint may receive',
        examples=[["user.created", "user.deleted"]],
    )
    description: SingleLine | None = Field(default=None, max_length=500)


class WebhookPatch(Body):
    """Fields left out stay as they are."""

    url: SingleLine | None = Field(default=None, min_length=1, max_length=2048)
    events: list[EventName] | None = Field(default=None, min_length=1, max_length=50)
    enabled: bool | None = None
    description: SingleLine | None = Field(default=None, max_length=500)


class WebhookRotationIn(Body):
    overlap_seconds: int | None = Field(
        default=None,
        ge=0,
        le=7 * 24 * 3600,
        description="How long the previous secret keeps signing beside the new one (default "
        "86400: 24 hours; 0 stops it now)",
    )


class WebhookOut(BaseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID
    kind: WebhookKind
    url: str
    description: str | None
    events: list[str]
    enabled: bool
    previous_secret_until: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookSecretOut(WebhookOut):
    secret: str = Field(description="whsec_…: shown this once; verify deliveries with it")


class DeliveryOut(BaseModel):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    message_id: str = Field(description="The webhook-id header (the same on a replay)")
    event_type: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    last_response_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    replay_of: uuid.UUID | None
