"""What Users and Groups share: versions (ETags) over a resource's representation, If-Match,
pages of a query, and refusals in SCIM's words."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from scim2_models import (
    InvalidSyntaxException,
    InvalidValueException,
    MutabilityException,
    ScimPolicy,
)
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from tenantry.core.errors import PreconditionFailed
from tenantry.provisioning.resources import DEFAULT_COUNT, MAX_RESULTS

T = TypeVar("T")

NO_ROLES = (
    "Provisioning can't give or take admin roles: they are given by the organisation's Global "
    "Administrators (Tenantry's Roles page or POST /api/v1/tenants/{tid}/role-assignments), "
    "so that an identity system's token never holds power over who administers."
)


# How PATCH is read: strictly as RFC 7644, except a ``remove`` carrying a ``value`` (what to
# remove: ``{"op": "Remove", "path": "members", "value": [{"value": "<id>"}]}``), which is how
# Microsoft Entra ID removes group members.
PATCH_POLICY = ScimPolicy(remove_value_as_filter=ScimPolicy.RemoveValue.apply)


def version_of(representation: dict[str, Any]) -> str:
    """A weak ETag over the resource's representation without ``meta``: it changes whenever
    what a client reads changes, whoever changed it (a person, a partner, provisioning)."""
    payload = {k: v for k, v in representation.items() if k != "meta"}
    digest = hashlib.sha256(
        json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()
    return f'W/"{digest[:24]}"'


def _opaque(tag: str) -> str:
    return tag.strip().removeprefix("W/").strip('"')


def check_if_match(if_match: str | None, current: str) -> None:
    """RFC 7232 If-Match (weak comparison, as SCIM's versions are weak): ``*`` or one of the
    listed tags must be the current version, else 412 and nothing changes."""
    if if_match is None:
        return
    tags = [t for t in (part.strip() for part in if_match.split(",")) if t]
    if "*" in tags:
        return
    if _opaque(current) not in {_opaque(t) for t in tags}:
        raise PreconditionFailed(
            "The resource changed since that version was read (If-Match): read it again and "
            "send the change with its new version.",
            slug="precondition-failed",
        )


MAX_START_INDEX = 2**31 - 1  # past any result, and within every database's integers


@dataclass(frozen=True)
class Paging:
    """RFC 7644 §3.4.2.4: a 1-based start index and a count (0: only the total)."""

    start_index: int = 1
    count: int = DEFAULT_COUNT

    @classmethod
    def read(cls, start_index: Any, count: Any) -> Paging:
        start = _integer(start_index, "startIndex", 1)
        size = _integer(count, "count", DEFAULT_COUNT)
        return cls(min(max(start, 1), MAX_START_INDEX), min(max(size, 0), MAX_RESULTS))


def _integer(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise InvalidValueException(detail=f"{name} is an integer.")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidValueException(detail=f"{name} is an integer, not {value!r}.") from None


@dataclass(frozen=True)
class Found(Generic[T]):
    total: int
    start_index: int
    items: list[T]


def page(
    session: Session,
    stmt: Select[Any],
    condition: ColumnElement[bool],
    order: list[Any],
    paging: Paging,
) -> tuple[int, list[Any]]:
    """(total, rows of this page) of ``stmt`` filtered by ``condition``, in a stable order."""
    filtered = stmt.where(condition)
    total = session.scalar(select(func.count()).select_from(filtered.order_by(None).subquery()))
    if paging.count == 0:
        return int(total or 0), []
    rows = session.scalars(
        filtered.order_by(*order).offset(paging.start_index - 1).limit(paging.count)
    ).all()
    return int(total or 0), list(rows)


def object_body(body: Any) -> dict[str, Any]:
    """The request's JSON object, its text free of control characters (a NUL breaks
    PostgreSQL, others hide in names and logs; a password may hold any but NUL) and of lone
    surrogates (a ``\\ud800`` escape: no database stores it, no password hash encodes it)."""
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="The request body must be a JSON object.")
    _check_text(body, secret=False)
    return body


def _check_text(value: Any, *, secret: bool) -> None:
    if isinstance(value, str):
        categories = {unicodedata.category(c) for c in value}
        bad = "\x00" in value or "Cs" in categories or (not secret and "Cc" in categories)
        if bad:
            raise InvalidValueException(
                detail="Text must not contain control characters or lone surrogates."
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, secret=False)
            _check_text(item, secret=secret or str(key).lower() == "password")
    elif isinstance(value, list):
        for item in value:
            _check_text(item, secret=secret)


def bounded(value: object, limit: int, what: str) -> str | None:
    """A text value as stored, refused (invalidValue) rather than cut when too long."""
    if value is None:
        return None
    text = str(value)
    if len(text) > limit:
        raise InvalidValueException(detail=f"{what} is at most {limit} characters.")
    return text


def refuse_roles(value: Any) -> None:
    """Any non-empty ``roles`` in a write is refused (400 mutability), never ignored
    silently: the identity system should learn that admins are not made this way."""
    if value not in (None, [], {}):
        raise MutabilityException(detail=NO_ROLES)
