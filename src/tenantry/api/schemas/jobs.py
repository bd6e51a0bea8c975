"""Bulk jobs (``/partner/jobs``): what a job does, to whom, and how far it got."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, model_validator

from tenantry.api.schemas.common import Body, MultiLine, Out, SingleLineOrNone
from tenantry.api.schemas.selection import CustomerSelectionIn
from tenantry.models.jobs import JobAction, JobItemStatus, JobStatus
from tenantry.partners.jobs import MAX_ITEMS, Target
from tenantry.partners.user_search import UserFilters

ParamText = Annotated[MultiLine, Field(max_length=20_000)]


class JobTargetIn(Body):
    """A user (``tenant_id`` and ``user_id``) or, for a customer action, a customer."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID | None = None


class UserFiltersIn(Body):
    query: SingleLineOrNone = Field(default=None, max_length=256)
    disabled: bool | None = None
    no_second_factor: bool = False
    admin_role: bool = False
    unlicensed: bool = False

    def to_filters(self) -> UserFilters:
        return UserFilters(
            query=self.query,
            disabled=self.disabled,
            no_second_factor=self.no_second_factor,
            admin_role=self.admin_role,
            unlicensed=self.unlicensed,
        )


class JobSelectionIn(Body):
    """The customers chosen (all of the partner's when omitted) and, for a user action, the
    users of theirs that match ``users``."""

    customers: CustomerSelectionIn | None = None
    users: UserFiltersIn | None = None


class JobIn(Body):
    """``action`` with its ``params`` (``sku_id`` for licences, ``group`` (a name, found in
    each customer) for groups, ``title`` and ``description`` for a service request) over
    ``targets`` or a ``selection``; ``not_before`` schedules it."""

    action: JobAction
    params: dict[str, ParamText] = Field(default_factory=dict, max_length=10)
    targets: list[JobTargetIn] | None = Field(default=None, max_length=MAX_ITEMS)
    selection: JobSelectionIn | None = None
    not_before: datetime | None = None

    @model_validator(mode="after")
    def _one_way(self) -> JobIn:
        if (self.targets is None) == (self.selection is None):
            raise ValueError("give either targets or selection")
        return self

    def target_list(self) -> list[Target] | None:
        if self.targets is None:
            return None
        return [Target(t.tenant_id, t.user_id) for t in self.targets]


class JobOut(Out):
    id: uuid.UUID
    action: JobAction
    params: dict[str, str]
    status: JobStatus
    total: int
    done: int
    succeeded: int
    failed: int
    refused: int
    cancelled: int
    created_by_upn: str
    created_at: datetime
    not_before: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    passwords_available: bool


class JobItemOut(Out):
    seq: int
    tenant_id: uuid.UUID
    customer_name: str | None
    user_id: uuid.UUID | None
    user_principal_name: str | None
    status: JobItemStatus
    message: str
    finished_at: datetime | None
