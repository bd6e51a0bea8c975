"""Access templates in the API (partners/access_templates.py): a template's entries, and the
plan of a preview, an apply or an unapply."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from tenantry.access.roles import Role
from tenantry.api.schemas.common import Body, MultiLine, SingleLine
from tenantry.api.schemas.selection import CustomerSelectionIn
from tenantry.models.partners import (
    DEFAULT_ACTIVATION_MINUTES,
    MAX_ACTIVATION_MINUTES,
    MIN_ACTIVATION_MINUTES,
)
from tenantry.partners.access_templates import MAX_ENTRIES, EntryTerms, PlanAction


class TemplateEntryIn(Body):
    """One group's terms, as an access assignment has them (checked the same way)."""

    group_id: uuid.UUID
    roles: list[Role] = Field(default_factory=list, max_length=20)
    eligible_roles: list[Role] = Field(default_factory=list, max_length=20)
    max_activation_minutes: int = Field(
        default=DEFAULT_ACTIVATION_MINUTES, ge=MIN_ACTIVATION_MINUTES, le=MAX_ACTIVATION_MINUTES
    )
    approval_required: bool = False
    approver_group_id: uuid.UUID | None = None

    def to_terms(self) -> EntryTerms:
        return EntryTerms(
            group_id=self.group_id,
            roles=[r.value for r in self.roles],
            eligible_roles=[r.value for r in self.eligible_roles],
            max_activation_minutes=self.max_activation_minutes,
            approval_required=self.approval_required,
            approver_group_id=self.approver_group_id,
        )


class AccessTemplateIn(Body):
    name: SingleLine = Field(min_length=1, max_length=256)
    description: MultiLine = Field(default="", max_length=2000)
    assignments: list[TemplateEntryIn] = Field(min_length=1, max_length=MAX_ENTRIES)


class AccessTemplatePatch(Body):
    """Any of: a new name, a new description, the entries replaced as a whole."""

    name: SingleLine | None = Field(default=None, min_length=1, max_length=256)
    description: MultiLine | None = Field(default=None, max_length=2000)
    assignments: list[TemplateEntryIn] | None = Field(
        default=None, min_length=1, max_length=MAX_ENTRIES
    )


class TemplateEntryOut(BaseModel):
    group_id: uuid.UUID
    group_name: str
    roles: list[Role]
    eligible_roles: list[Role]
    max_activation_minutes: int
    approval_required: bool
    approver_group_id: uuid.UUID | None


class AccessTemplateOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    assignments: list[TemplateEntryOut]
    created_at: datetime
    updated_at: datetime
    applied_at: datetime | None


class SelectionBody(Body):
    """Which customers a preview, an apply or an unapply is about."""

    selection: CustomerSelectionIn = Field(default_factory=CustomerSelectionIn)


class PlanItemOut(BaseModel):
    action: PlanAction
    customer_tenant_id: uuid.UUID
    customer_name: str
    relationship_id: uuid.UUID | None
    group_id: uuid.UUID | None
    group_name: str
    roles: list[Role]
    eligible_roles: list[Role]
    assignment_id: uuid.UUID | None
    reason: str


class PlanOut(BaseModel):
    """What applying (or unapplying) changes: the preview, or what was done. ``counts`` has
    every action, zero included."""

    template_id: uuid.UUID
    template_name: str
    unapply: bool
    counts: dict[PlanAction, int]
    items: list[PlanItemOut]
