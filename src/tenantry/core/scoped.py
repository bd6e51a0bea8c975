"""Fetch a row only inside the tenant it must belong to (every query scoped)."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from tenantry.core.errors import NotFound

T = TypeVar("T")


def get_scoped(
    session: Session,
    model: type[T],
    obj_id: Any,
    tenant_id: uuid.UUID,
    what: str,
    *,
    owner: str = "tenant_id",
) -> T:
    """``owner`` names the column holding the tenant (a partner's rows: partner_tenant_id)."""
    obj = session.get(model, obj_id)
    if obj is None or getattr(obj, owner, None) != tenant_id:
        raise NotFound(f"{what} not found.")
    return obj
