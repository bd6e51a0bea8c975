"""Sign-in, bearer tokens, throttling, TOTP and password changes.

Tokens are 32 random bytes; only their SHA-256 is stored, and every request looks the token
up with its user, so revocation and disabling take effect in every process at once.
Failed sign-ins are counted per account and per client address in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tenantry.audit import chain as audit
from tenantry.core.context import Context, Principal
from tenantry.core.errors import Conflict, Forbidden, InvalidInput, TooManyRequests, Unauthenticated
from tenantry.identity import passwords
from tenantry.models import ApiToken, SignInThrottle, User
from tenantry.models.audit import AuditOutcome

TOKEN_PREFIX = "tnry_"  # noqa: S105 - a public prefix, not a secret
TOTP_ISSUER = "Tenantry"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    user: User


def issue_token(ctx: Context, user: User, *, mfa: bool) -> IssuedToken:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    lifetime = ctx.settings.token_lifetime_seconds
    ctx.session.add(
        ApiToken(
            user_id=user.id,
            token_hash=hash_token(token),
            mfa=mfa,
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
    stmt = update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(ApiToken.id != keep)
    ctx.session.execute(stmt.values(revoked_at=ctx.now))


# --- throttling -------------------------------------------------------------------------


def _throttle_keys(ctx: Context, username: str) -> list[tuple[str, int]]:
    keys = [(f"account:{username.lower()}", ctx.settings.throttle_account_failures)]
    if ctx.client_address:
        keys.append((f"address:{ctx.client_address}", ctx.settings.throttle_address_failures))
    return keys


def _check_throttle(ctx: Context, username: str) -> None:
    keys = [k for k, _ in _throttle_keys(ctx, username)]
    rows = ctx.session.scalars(select(SignInThrottle).where(SignInThrottle.key.in_(keys))).all()
    locked = [r.locked_until for r in rows if r.locked_until and r.locked_until > ctx.now]
    if locked:
        wait = math.ceil((max(locked) - ctx.now).total_seconds())
        raise TooManyRequests(
            f"Too many failed sign-ins. Try again in {wait} seconds.", retry_after=wait
        )


def _lockout(failures: int, limit: int, window: int) -> timedelta:
    """Progressive: 60 s at the limit, doubling with each further failure, capped at the
    window."""
    return timedelta(seconds=min(window, 60 * 2 ** max(0, failures - limit)))


def _record_failure(ctx: Context, username: str) -> None:
    """Count a failure under each key (runs in its own transaction after the rollback)."""
    window = ctx.settings.throttle_window_seconds
    dialect = ctx.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for key, limit in _throttle_keys(ctx, username):
        stmt = insert(SignInThrottle).values(
            key=key, failures=1, window_started_at=ctx.now, locked_until=None
        )
        ctx.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[SignInThrottle.key],
                set_={"failures": SignInThrottle.failures + 1},
            )
        )
        row = ctx.session.get(SignInThrottle, key, populate_existing=True)
        assert row is not None
        if row.window_started_at + timedelta(seconds=window) < ctx.now:
            row.failures, row.window_started_at, row.locked_until = 1, ctx.now, None
        if row.failures >= limit:
            row.locked_until = ctx.now + _lockout(row.failures, limit, window)


def _count_failure(ctx: Context, username: str, user: User | None, reason: str) -> None:
    """Count a failed proof of identity against the account (and address) and audit it,
    after the request rolls back."""
    # Plain values only: the request's ORM objects are gone once it rolls back.
    who = (user.tenant_id, user.id) if user is not None else None

    def record(fresh: Context) -> None:
        _record_failure(fresh, username)
        if who is not None:
            audit.record(
                fresh,
                who[0],
                "auth.sign_in",
                f"user:{who[1]}",
                outcome=AuditOutcome.FAILURE,
                details={"reason": reason},
            )

    ctx.after_rollback.append(record)


def _fail(ctx: Context, username: str, user: User | None, reason: str) -> Unauthenticated:
    _count_failure(ctx, username, user, reason)
    return Unauthenticated(
        "The user name, password or verification code is incorrect.",
        slug="invalid-credentials",
        title="Sign-in failed",
    )


# --- sign-in ----------------------------------------------------------------------------


def sign_in(ctx: Context, username: str, password: str, totp_code: str | None) -> IssuedToken:
    """The API's one-call sign-in: password and, for enrolled accounts, the TOTP code."""
    user = check_password(ctx, username, password)
    if user.mfa_enabled:
        if not totp_code:
            raise Unauthenticated(
                "This account uses two-step verification: send totp_code as well.",
                slug="mfa-required",
                title="Verification code required",
            )
        check_second_factor(ctx, user, totp_code)
    return complete_sign_in(ctx, user, password)


def check_password(ctx: Context, username: str, password: str) -> User:
    """First step: throttle, password, enabled. Failures are counted and audited."""
    username = username.strip().lower()
    _check_throttle(ctx, username)
    user = ctx.session.scalar(select(User).where(User.user_principal_name == username))
    if (
        not passwords.verify_password(ctx.settings, user.password_hash if user else None, password)
        or user is None
    ):
        raise _fail(ctx, username, user, "password")
    if not user.enabled:
        raise _fail(ctx, username, user, "disabled")
    return user


def check_second_factor(ctx: Context, user: User, totp_code: str) -> None:
    """Second step for enrolled accounts (the web asks for it on a page of its own)."""
    _check_throttle(ctx, user.user_principal_name)
    if not user.enabled:
        raise _fail(ctx, user.user_principal_name, user, "disabled")
    if not _accept_totp(ctx, user, user.totp_secret, totp_code.strip()):
        raise _fail(ctx, user.user_principal_name, user, "totp")


def complete_sign_in(ctx: Context, user: User, password: str | None = None) -> IssuedToken:
    """Issue the token (or web session) once every factor the account has is proven."""
    if password and user.password_hash and passwords.needs_rehash(ctx.settings, user.password_hash):
        user.password_hash = passwords.hash_password(ctx.settings, password)
    ctx.session.execute(
        delete(SignInThrottle).where(SignInThrottle.key == f"account:{user.user_principal_name}")
    )
    user.last_sign_in_at = ctx.now
    issued = issue_token(ctx, user, mfa=user.mfa_enabled)
    audit.record(
        ctx,
        user.tenant_id,
        "auth.sign_in",
        f"user:{user.id}",
        details={"mfa": user.mfa_enabled, "upn": user.user_principal_name},
    )
    return issued


def _accept_totp(ctx: Context, user: User, secret: str | None, code: str) -> bool:
    """A code of the current step (±1) that is newer than the last accepted one."""
    if not secret or not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(secret)
    now_counter = totp.timecode(ctx.now)
    for counter in (now_counter - 1, now_counter, now_counter + 1):
        if hmac.compare_digest(totp.generate_otp(counter), code):
            if user.totp_last_counter is not None and counter <= user.totp_last_counter:
                return False
            user.totp_last_counter = counter
            return True
    return False


def current_user(ctx: Context, *, lock: bool = False) -> User:
    """The signed-in user; ``lock`` holds its row until commit (factor changes are
    check-then-write: enrolment and a reset by an administrator queue, never interleave)."""
    principal = ctx.require_principal()
    user = ctx.session.get(User, principal.user_id, with_for_update=lock, populate_existing=lock)
    if user is None:
        raise Unauthenticated("Sign in again.")
    return user


def _confirm_password(ctx: Context, user: User, password: str) -> None:
    """The current password again, for changes that must not ride on a session alone (a
    stolen token or an unattended browser). Wrong guesses count in the sign-in throttle of
    the account, so this is no side door for guessing. 403, not 401: the token is fine."""
    _check_throttle(ctx, user.user_principal_name)
    if not passwords.verify_password(ctx.settings, user.password_hash, password):
        _count_failure(ctx, user.user_principal_name, user, "password (second factor enrolment)")
        raise Forbidden(
            "The password is not right. Enrolling a second factor needs your current password.",
            slug="invalid-credentials",
            title="Password required",
        )


def start_totp_enrolment(ctx: Context, password: str) -> tuple[str, str]:
    """Step one of enrolling TOTP: needs the current password. While a factor is on it can't
    be replaced here (not even with the password and a code): a lost or compromised factor
    is reset by the tenant's administrators or the operator, so whoever holds the password
    and a session can never swap the factor for one of their own."""
    user = current_user(ctx, lock=True)
    _confirm_password(ctx, user, password)
    if user.must_change_password:
        # A temporary password was set by someone else (an administrator's reset): a factor
        # enrolled with it would be theirs to keep once the user takes the account back.
        raise Forbidden(
            "Change your temporary password first: a second factor is enrolled with a "
            "password of your own.",
            slug="password-change-required",
            title="Password change required",
        )
    if user.mfa_enabled:
        raise Conflict(
            "Two-step verification is already on for this account. To replace the factor "
            "(a new phone, a lost one), ask an administrator of your organisation to reset "
            "it, then enrol again.",
            slug="mfa-enabled",
        )
    secret = pyotp.random_base32()
    user.totp_pending_secret = secret
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=user.user_principal_name, issuer_name=TOTP_ISSUER
    )
    audit.record(ctx, user.tenant_id, "auth.mfa_enrolment_started", f"user:{user.id}")
    return secret, uri


def confirm_totp_enrolment(ctx: Context, code: str) -> User:
    """Step two: a code of the new factor turns it on. The session in use stays what it was
    (signed in with a password only): multi-factor sessions come only from a sign-in that
    proves both, so a password plus a session never mints one."""
    user = current_user(ctx, lock=True)
    if user.mfa_enabled:
        raise Conflict("Two-step verification is already on for this account.", slug="mfa-enabled")
    if user.must_change_password or not user.totp_pending_secret:
        raise Conflict("Start the enrolment first (POST /me/mfa/totp).")
    if not _accept_totp(ctx, user, user.totp_pending_secret, code):
        raise InvalidInput(
            "That code is not right; check the time on your device.", slug="invalid-code"
        )
    user.totp_secret, user.totp_pending_secret, user.mfa_enabled = (
        user.totp_pending_secret,
        None,
        True,
    )
    audit.record(ctx, user.tenant_id, "auth.mfa_enabled", f"user:{user.id}")
    return user


def has_second_factor(user: User) -> bool:
    return user.mfa_enabled or user.totp_pending_secret is not None


def remove_second_factors(ctx: Context, user: User) -> None:
    """Forget the user's factors (also one half-enrolled) and end every session it has:
    whoever was signed in must prove themselves again."""
    user.mfa_enabled = False
    user.totp_secret = user.totp_pending_secret = None
    user.totp_last_counter = None
    user.updated_at = ctx.now
    revoke_user_tokens(ctx, user.id)


def change_password(ctx: Context, current_password: str, new_password: str) -> None:
    user = current_user(ctx)
    if not passwords.verify_password(ctx.settings, user.password_hash, current_password):
        raise InvalidInput("The current password is not right.", slug="invalid-credentials")
    if current_password == new_password:
        raise InvalidInput(
            "Choose a password different from the current one.", slug="weak-password"
        )
    passwords.check_policy(new_password)
    user.password_hash = passwords.hash_password(ctx.settings, new_password)
    user.must_change_password = False
    user.updated_at = ctx.now
    revoke_user_tokens(ctx, user.id, keep=ctx.require_principal().token_id)
    audit.record(ctx, user.tenant_id, "auth.password_changed", f"user:{user.id}")
