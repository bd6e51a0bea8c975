"""Provisioning tokens: the bearer tokens an identity system provisions a tenant with.

* **The tenant's own administrators, at home.** Making, listing and revoking them needs
  ``roles.assign`` (a Global Administrator) on the member path, by a person: a token is a
  standing credential that creates and deletes users with no person behind each use, so it is
  given by those who decide who holds power, never on behalf (a partner must not leave a
  credential in its customer that outlives the relationship), and never by an API client.
* **Shown once, stored hashed.** 32 random bytes behind a public prefix; only the SHA-256 is
  stored and compared in constant time (README "Automation identities" on why no slow hash).
* **Revoked at once.** Each request looks the token up: deleting it, or its expiry, refuses
  the very next request in every process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from tenantry import access
from tenantry.access.grants import Decision
from tenantry.access.roles import Permission
from tenantry.audit import chain as audit
from tenantry.core.context import Context, Principal
from tenantry.core.errors import Conflict, InvalidInput, NotFound
from tenantry.core.pagination import Page, paginate
from tenantry.directory.users import OPERATOR
from tenantry.models import ScimToken, Tenant

TOKEN_PREFIX = "tnryscim_"  # noqa: S105 - a public prefix, not a secret
MAX_TOKEN_LENGTH = 200
# How often a token's last use is written (not on every request: parallel requests of one
# identity system would queue on its row).
LAST_USED_GRANULARITY = timedelta(minutes=1)
MANAGED_AT_HOME = (
    "Provisioning tokens are managed only by the organisation's own administrators, never on "
    "behalf of it: a token made by a partner would outlive the relationship."
)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def label(token: ScimToken) -> str:
    """The token in words, as the audit log and explanations name its requests."""
    return f"provisioning token '{token.name}' ({token.id})"


@dataclass(frozen=True)
class Made:
    """A token just made: its value is shown this once."""

    token: ScimToken
    value: str


def refusal(decision: Decision) -> str | None:
    """Why this decision may not manage provisioning tokens (None: it may), as ``_decide``
    would refuse: for a page that says so instead of offering its forms."""
    return access.at_home_refusal(decision, Permission.ROLES_ASSIGN, f"Denied: {MANAGED_AT_HOME}")


def _decide(ctx: Context, tenant_id: uuid.UUID) -> Decision:
    """The tenant's own administrator (roles.assign, member path), a person."""
    decision = access.require(ctx, tenant_id, Permission.ROLES_ASSIGN)
    if decision.delegated:
        raise access.deny(ctx, decision, Permission.ROLES_ASSIGN, f"Denied: {MANAGED_AT_HOME}")
    ctx.require_user()
    return decision


def _expiry(ctx: Context, expires_at: datetime | None) -> datetime | None:
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    try:
        expires_at = expires_at.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"{expires_at.isoformat()} is out of range.") from None
    if expires_at <= ctx.now:
        raise InvalidInput("expires_at must be in the future.")
    return expires_at


def create_token(
    ctx: Context, tenant_id: uuid.UUID, *, name: str, expires_at: datetime | None = None
) -> Made:
    _decide(ctx, tenant_id)
    return _make(ctx, tenant_id, name, expires_at, maker=ctx.require_user())


def _make(
    ctx: Context,
    tenant_id: uuid.UUID,
    name: str,
    expires_at: datetime | None,
    *,
    maker: uuid.UUID | None,
) -> Made:
    """A new token (``maker`` None: the operator's), audited in its tenant."""
    name = name.strip()
    if not name:
        raise InvalidInput("Give the token a name (the identity system it is for).")
    taken = ctx.session.scalar(
        select(ScimToken.id).where(ScimToken.tenant_id == tenant_id, ScimToken.name == name)
    )
    if taken is not None:
        raise Conflict(f"There is already a provisioning token named '{name}'.", slug="duplicate")
    value = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ScimToken(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        name=name,
        token_hash=digest(value),
        created_at=ctx.now,
        created_by_user_id=maker,
        expires_at=_expiry(ctx, expires_at),
    )
    ctx.session.add(token)
    ctx.session.flush()
    audit.record(
        ctx,
        tenant_id,
        "scim_token.create",
        f"scim_token:{token.id}",
        details={
            "name": token.name,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            **(OPERATOR if maker is None else {}),
        },
    )
    return Made(token, value)


def list_tokens(
    ctx: Context, tenant_id: uuid.UUID, cursor: str | None, limit: int
) -> Page[ScimToken]:
    _decide(ctx, tenant_id)
    stmt = select(ScimToken).where(ScimToken.tenant_id == tenant_id)
    return paginate(ctx.session, stmt, [ScimToken.created_at, ScimToken.id], cursor, limit)


def revoke_token(ctx: Context, tenant_id: uuid.UUID, token_id: uuid.UUID) -> None:
    """Deleted: the next request with it is refused (401), in every process."""
    _decide(ctx, tenant_id)
    token = ctx.session.get(ScimToken, token_id, with_for_update=True, populate_existing=True)
    if token is None or token.tenant_id != tenant_id:
        raise NotFound("Provisioning token not found.")
    audit.record(
        ctx, tenant_id, "scim_token.revoke", f"scim_token:{token.id}", details={"name": token.name}
    )
    ctx.session.delete(token)
    ctx.session.flush()


def revoke_by_name(ctx: Context, tenant_id: uuid.UUID, name: str) -> None:
    """The operator's revocation by name (``tenantry scim token revoke``)."""
    token = ctx.session.scalar(
        select(ScimToken).where(ScimToken.tenant_id == tenant_id, ScimToken.name == name.strip())
    )
    if token is None:
        raise NotFound(f"There is no provisioning token named '{name}'.")
    audit.record(
        ctx,
        tenant_id,
        "scim_token.revoke",
        f"scim_token:{token.id}",
        details={"name": token.name, **OPERATOR},
    )
    ctx.session.delete(token)
    ctx.session.flush()


def operator_create_token(
    ctx: Context, tenant_id: uuid.UUID, *, name: str, expires_at: datetime | None = None
) -> Made:
    """The operator's token (``tenantry scim token create``): audited as the operator."""
    if ctx.session.get(Tenant, tenant_id) is None:
        raise NotFound("Organisation not found.")
    return _make(ctx, tenant_id, name, expires_at, maker=None)


def principal_for_token(session: Session, value: str, now: datetime) -> Principal | None:
    """The provisioning principal a bearer token stands for, or None when it is unknown,
    revoked (deleted) or expired. Its last use is written at most once a minute."""
    if not value.startswith(TOKEN_PREFIX) or len(value) > MAX_TOKEN_LENGTH:
        return None
    hashed = digest(value)
    token = session.scalar(select(ScimToken).where(ScimToken.token_hash == hashed))
    if token is None or not hmac.compare_digest(token.token_hash, hashed):
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    session.execute(
        update(ScimToken)
        .where(
            ScimToken.id == token.id,
            or_(
                ScimToken.last_used_at.is_(None),
                ScimToken.last_used_at < now - LAST_USED_GRANULARITY,
            ),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    return Principal(
        user_id=None,
        tenant_id=token.tenant_id,
        user_principal_name=None,
        display_name=label(token),
        mfa=False,
        must_change_password=False,
        token_id=token.id,
        provisioning_token_id=token.id,
    )
