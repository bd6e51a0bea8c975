"""Signing in: the password, then the second factor for enrolled accounts (a TOTP code or a
passkey), then a token; and the signed-in user's own password change.
"""

from __future__ import annotations

import hmac
from typing import Any

import pyotp
from sqlalchemy import or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from tenantry.audit import chain as audit
from tenantry.core.context import Context, SecondFactor
from tenantry.core.errors import Conflict, InvalidInput, Unauthenticated
from tenantry.identity import passkeys, passwords, throttle
from tenantry.identity.tokens import IssuedToken, issue_token, revoke_user_tokens
from tenantry.models import User


def _fail(ctx: Context, user: User | None, reason: str) -> Unauthenticated:
    """Audit the failure (its attempt is counted already) and refuse with one answer for
    every proof (it never says which)."""
    throttle.audit_failure(ctx, user, reason)
    return Unauthenticated(
        "The user name, password or verification code is incorrect.",
        slug="invalid-credentials",
        title="Sign-in failed",
    )


def sign_in(
    ctx: Context,
    username: str,
    password: str,
    totp_code: str | None,
    passkey: dict[str, Any] | None = None,
) -> IssuedToken:
    """The API's one-call sign-in: password and, for enrolled accounts, the TOTP code or a
    passkey's answer to the options of ``passkey_options``."""
    user = check_password(ctx, username, password)
    if user.mfa_enabled:
        if passkey is not None:
            _check_passkey(ctx, user, passkey)  # the password's attempt counts for it too
            return complete_sign_in(ctx, user, SecondFactor.PASSKEY, password)
        if not totp_code:
            # The password was right: the attempt is given back once the refusal rolls back.
            upn = user.user_principal_name
            ctx.after_rollback.append(lambda fresh: throttle.give_back_attempt(fresh, upn))
            raise Unauthenticated(
                "This account uses two-step verification: send totp_code as well, or passkey "
                "with a passkey's answer to the options of POST /auth/passkey/options.",
                slug="mfa-required",
                title="Verification code required",
            )
        _check_totp(ctx, user, totp_code)  # the password's attempt counts for the code too
        return complete_sign_in(ctx, user, SecondFactor.TOTP, password)
    return complete_sign_in(ctx, user, SecondFactor.NONE, password)


def passkey_options(ctx: Context, username: str, password: str) -> dict[str, Any]:
    """The first half of a sign-in with a passkey: the password is verified first (counted by
    the throttle, refused with the one answer for every wrong proof, whether the user exists
    or not), then the options for ``navigator.credentials.get()`` with a challenge issued to
    this user. An account without a passkey is told so only once its password is proven."""
    user = check_password(ctx, username, password)
    if not passkeys.has_passkey(ctx, user.id):
        raise Conflict(
            "This account has no passkey: sign in with the password (and a code, when it has "
            "two-step verification with an app).",
            slug="no-passkey",
        )
    return passkeys.sign_in_options(ctx, user, passkeys.issue_sign_in_challenge(ctx, user))


def check_password(ctx: Context, username: str, password: str) -> User:
    """First step: the attempt counted, then the password and enabled. Failures are
    audited; a success gives the attempt back."""
    username = username.strip().lower()
    throttle.claim_attempt(ctx, username)
    user = ctx.session.scalar(select(User).where(User.user_principal_name == username))
    if (
        not passwords.verify_password(ctx.settings, user.password_hash if user else None, password)
        or user is None
    ):
        raise _fail(ctx, user, "password")
    if not user.enabled:
        raise _fail(ctx, user, "disabled")
    throttle.give_back_attempt(ctx, username)
    return user


def check_second_factor(ctx: Context, user: User, totp_code: str) -> None:
    """Second step for enrolled accounts, on a page of its own in the web: an attempt of its
    own."""
    throttle.claim_attempt(ctx, user.user_principal_name)
    _check_totp(ctx, user, totp_code)
    throttle.give_back_attempt(ctx, user.user_principal_name)


def check_passkey_step(ctx: Context, user: User, credential: dict[str, Any]) -> None:
    """The web's second step with a passkey: an attempt of its own, like a code's."""
    throttle.claim_attempt(ctx, user.user_principal_name)
    _check_passkey(ctx, user, credential)
    throttle.give_back_attempt(ctx, user.user_principal_name)


def _check_passkey(ctx: Context, user: User, credential: dict[str, Any]) -> None:
    if not user.enabled:
        raise _fail(ctx, user, "disabled")
    try:
        passkeys.verify_sign_in(ctx, user, credential)
    except passkeys.PasskeyRefused as refused:
        raise _fail(ctx, user, refused.reason) from None


def _check_totp(ctx: Context, user: User, totp_code: str) -> None:
    if not user.enabled:
        raise _fail(ctx, user, "disabled")
    if not accept_totp(ctx, user, user.totp_secret, totp_code.strip()):
        raise _fail(ctx, user, SecondFactor.TOTP)


def complete_sign_in(
    ctx: Context, user: User, factor: SecondFactor, password: str | None = None
) -> IssuedToken:
    """Issue the token (or web session) once every factor the account has is proven:
    ``factor`` is the second factor this sign-in proved (``none`` for an account without
    one), recorded on the token."""
    if password and user.password_hash and passwords.needs_rehash(ctx.settings, user.password_hash):
        user.password_hash = passwords.hash_password(ctx.settings, password)
    throttle.clear_account_failures(ctx, user.user_principal_name)
    user.last_sign_in_at = ctx.now
    if user.mfa_enabled and factor == SecondFactor.NONE:
        raise Unauthenticated(  # a caller's mistake, never a way in: say no
            "This account uses two-step verification.", slug="mfa-required"
        )
    issued = issue_token(ctx, user, factor=factor)
    audit.record(
        ctx,
        user.tenant_id,
        "auth.sign_in",
        f"user:{user.id}",
        details={
            "mfa": factor != SecondFactor.NONE,
            "second_factor": factor.value,
            "upn": user.user_principal_name,
        },
    )
    return issued


def accept_totp(ctx: Context, user: User, secret: str | None, code: str) -> bool:
    """A code of the current step (±1) that is newer than the last accepted one (sign-in and
    the confirmation of a new factor alike)."""
    if not secret or not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(secret)
    now_counter = totp.timecode(ctx.now)
    for counter in (now_counter - 1, now_counter, now_counter + 1):
        if hmac.compare_digest(totp.generate_otp(counter), code):
            return _spend_time_step(ctx, user, counter)
    return False


def _spend_time_step(ctx: Context, user: User, counter: int) -> bool:
    """Mark the step used, once: a conditional UPDATE, so that of parallel sign-ins with one
    code only the first gets the row (the others wait for its lock, then find the step
    spent)."""
    spent = ctx.session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_counter.is_(None), User.totp_last_counter < counter),
        )
        .values(totp_last_counter=counter)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        return False
    set_committed_value(user, "totp_last_counter", counter)
    return True


def current_user(ctx: Context, *, lock: bool = False) -> User:
    """The signed-in user; ``lock`` holds its row until commit (factor changes are
    check-then-write: enrolment and a reset by an administrator queue, never interleave)."""
    user_id = ctx.require_user()  # an API client has no account of its own: 403
    user = ctx.session.get(User, user_id, with_for_update=lock, populate_existing=lock)
    if user is None:
        raise Unauthenticated("Sign in again.")
    return user


def change_password(ctx: Context, current_password: str, new_password: str) -> None:
    """The user's own change: the current password again (an attempt in the account's
    sign-in throttle, so no side door for guessing), and every other session ends."""
    user = current_user(ctx)
    throttle.claim_attempt(ctx, user.user_principal_name)
    if not passwords.verify_password(ctx.settings, user.password_hash, current_password):
        throttle.audit_failure(ctx, user, "password (password change)")
        raise InvalidInput("The current password is not right.", slug="invalid-credentials")
    throttle.give_back_attempt(ctx, user.user_principal_name)
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
