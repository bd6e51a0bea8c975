"""Bearer tokens: 32 random bytes behind a public prefix; only their SHA-256 is stored.

Every request looks the token up with its user, so revocation and disabling take effect in
every process at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from tenantry.audit import chain as audit
from tenantry.core.context import Context, Principal, SecondFactor
from tenantry.models import ApiToken, RefreshToken, User

TOKEN_PREFIX = "tnry_"  # noqa: S105 - a public prefix, not a secret


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    user: User


def issue_token(ctx: Context, user: User, *, factor: SecondFactor) -> IssuedToken:
    """A token for a sign-in that proved the password and ``factor`` (``none``: no second
    factor): the token records which, and is multi-factor exactly when it proved one."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    lifetime = ctx.settings.token_lifetime_seconds
    ctx.session.add(
        ApiToken(
            user_id=user.id,
            token_hash=hash_token(token),
            mfa=factor != SecondFactor.NONE,
            mfa_at=ctx.now if factor != SecondFactor.NONE else None,
            second_factor=factor,
            created_at=ctx.now,
            expires_at=ctx.now + timedelta(seconds=lifetime),
            client_address=ctx.client_address,
        )
    )
    return IssuedToken(token, lifetime, user)


def principal_for_token(session: Session, token: str, now: datetime) -> Principal | None:
    """The principal a bearer token stands for, or None if unknown, expired, revoked or the
    user is disabled."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = hash_token(token)
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest)
    ).first()
    if row is None:
        return None
    api_token, user = row
    if not hmac.compare_digest(api_token.token_hash, digest):
        return None
    if api_token.revoked_at is not None or api_token.expires_at <= now or not user.enabled:
        return None
    return Principal(
        user_id=user.id,
        tenant_id=user.tenant_id,
        user_principal_name=user.user_principal_name,
        display_name=user.display_name,
        mfa=api_token.mfa,
        must_change_password=user.must_change_password,
        token_id=api_token.id,
        mfa_at=api_token.mfa_at if api_token.mfa else None,
        second_factor=api_token.second_factor if api_token.mfa else SecondFactor.NONE,
    )


def revoke_token(ctx: Context) -> None:
    principal = ctx.require_principal()
    ctx.session.execute(
        update(ApiToken).where(ApiToken.id == principal.token_id).values(revoked_at=ctx.now)
    )
    audit.record(ctx, principal.tenant_id, "auth.sign_out", f"user:{principal.user_id}")


def revoke_token_value(ctx: Context, token: str) -> None:
    """End a token known by its value (a browser's previous session, at sign-in)."""
    ctx.session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
        .values(revoked_at=ctx.now)
    )


def revoke_user_tokens(ctx: Context, user_id: uuid.UUID, *, keep: uuid.UUID | None = None) -> None:
    """Every token of the user ends (but ``keep``, the session in use): its sessions and the
    refresh tokens services hold for its sign-ins (OpenID Connect), which would otherwise
    rotate on past a password reset or a factor reset for as long as they are used."""
    stmt = update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(ApiToken.id != keep)
    ctx.session.execute(stmt.values(revoked_at=ctx.now))
    refresh = update(RefreshToken).where(
        RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None)
    )
    if keep is not None:
        refresh = refresh.where(
            or_(RefreshToken.session_id.is_(None), RefreshToken.session_id != keep)
        )
    ctx.session.execute(refresh.values(revoked_at=ctx.now))
