"""Customer groups and custom per-customer fields in the API (partners/customer_groups.py;
the rule language in partners/customer_group_rules.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from tenantry.api.schemas.common import Body, MultiLineOrNone, SingleLine, SingleLineOrNone
from tenantry.api.schemas.partners import CustomerOut
from tenantry.models import CustomerGroupKind
from tenantry.partners.customer_group_rules import FieldKey, FieldValue, GroupRule
from tenantry.partners.customer_groups import MAX_FIELDS, MAX_MEMBERS


class CustomerGroupIn(Body):
    """Static (``tenant_ids``: chosen customers) or dynamic (``rule``, plus any chosen)."""

    name: SingleLine = Field(min_length=1, max_length=128)
    description: MultiLineOrNone = Field(default=None, max_length=1024)
    tenant_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_MEMBERS)
    rule: GroupRule | None = None


class CustomerGroupPatch(Body):
    """Fields left out stay as they are; ``rule: null`` makes the group static again;
    ``tenant_ids`` replaces the chosen customers."""

    name: SingleLineOrNone = Field(default=None, min_length=1, max_length=128)
    description: MultiLineOrNone = Field(default=None, max_length=1024)
    tenant_ids: list[uuid.UUID] | None = Field(default=None, max_length=MAX_MEMBERS)
    rule: GroupRule | None = None


class CustomerGroupOut(BaseModel):
    """A group; ``tenant_ids`` are its chosen customers that the caller sees."""

    id: uuid.UUID
    name: str
    description: str | None
    kind: CustomerGroupKind
    rule: dict[str, Any] | None
    tenant_ids: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime


class RulePreviewIn(Body):
    rule: GroupRule


class RulePreviewOut(BaseModel):
    """How many customers the rule selects for the caller now, and the first of them."""

    count: int
    items: list[CustomerOut]


class CustomerFieldsIn(Body):
    """The whole set of the partner's custom fields on a customer (an empty value removes
    one)."""

    fields: dict[FieldKey, FieldValue] = Field(max_length=MAX_FIELDS)


class CustomerFieldsOut(BaseModel):
    fields: dict[str, str]
