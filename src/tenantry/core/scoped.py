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
    lock: bool = False,
) -> T:
    """``owner`` names the column holding the tenant (a partner's rows: partner_tenant_id).
    ``lock`` reads the row afresh FOR UPDATE before removing it: a concurrent removal of the
    same row then finds it gone (404) instead of deleting nothing (a 500)."""
    obj = session.get(model, obj_id, with_for_update=lock, populate_existing=lock)
    if obj is None or getattr(obj, owner, None) != tenant_id:
        raise NotFound(f"{what} not found.")
    return obj
