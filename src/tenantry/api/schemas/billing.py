"""Products, subscriptions and licences."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from tenantry.api.schemas.common import Body, Out, SingleLine
from tenantry.models.billing import SubscriptionStatus


class SkuOut(Out):
    id: str
    name: str
    services: list[str]
    trial_days: int


class SubscriptionOut(BaseModel):
    id: uuid.UUID
    sku_id: str
    sku_name: str
    seats: int
    assigned: int
    status: SubscriptionStatus
    trial_ends_at: datetime | None
    created_at: datetime


class SubscriptionIn(Body):
    sku_id: SingleLine = Field(min_length=1, max_length=64)
    seats: int = Field(ge=1, le=100_000)
    trial: bool = False


class LicenseOut(BaseModel):
    subscription_id: uuid.UUID
    user_id: uuid.UUID
    user_principal_name: str | None
    assigned_at: datetime


class LicenseIn(Body):
    user_id: uuid.UUID
