"""Webhooks (README "Webhooks"): endpoints a tenant or a partner registers, the events each
subscribes to, and one delivery row per event and endpoint (the transactional outbox of
``operations.webhooks``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.models.base import Base, EnumText, uuid_pk


class WebhookKind(StrEnum):
    """A tenant's endpoint receives events about its own organisation (directory, licences,
    domains, its partners' relationships and activations in it); a partner's endpoint receives
    events about the partner's own relationships and its agents' activations, nothing of its
    customers' directories."""

    TENANT = "tenant"
    PARTNER = "partner"


class DeliveryStatus(StrEnum):
    """``pending`` until the receiver answers 2xx (``delivered``); ``failed`` once the
    attempts are spent or the endpoint can never be reached (kept, and may be replayed)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (CheckConstraint("kind IN ('tenant', 'partner')", name="kind"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    # The organisation that owns the endpoint (for a partner endpoint, the partner).
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[WebhookKind] = mapped_column(EnumText(WebhookKind, 16))
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(512))
    enabled: Mapped[bool] = mapped_column(default=True)
    # The signing secret (``whsec_`` + base64 of 32 random bytes), encrypted with AES-GCM under
    # a key derived from the server's secret key: it must be recoverable to sign.
    secret_ciphertext: Mapped[str] = mapped_column(String(256))
    # After a rotation the previous secret also signs until ``previous_secret_until``.
    previous_secret_ciphertext: Mapped[str | None] = mapped_column(String(256))
    previous_secret_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # No foreign key: the endpoint outlives the person who made it.
    created_by_user_id: Mapped[uuid.UUID | None]


class WebhookSubscription(Base):
    """One event type (or ``*``) an endpoint receives."""

    __tablename__ = "webhook_subscriptions"

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), primary_key=True
    )
    event_type: Mapped[str] = mapped_column(String(64), primary_key=True)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_id_created_at_id", "endpoint_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    # The ``webhook-id`` header: one per event and endpoint, the same on every attempt and on
    # a replay, so a receiver that deduplicates on it processes the event once.
    message_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    # The exact JSON body that is signed and sent.
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    status: Mapped[DeliveryStatus] = mapped_column(
        EnumText(DeliveryStatus, 16), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    # When it may be tried (next); None once delivered or failed.
    next_attempt_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_response_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(1024))
    delivered_at: Mapped[datetime | None]
    # A replay is a new delivery of the same message (same webhook-id and body).
    replay_of: Mapped[uuid.UUID | None]
