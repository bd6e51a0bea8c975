"""Second factors: enrolling TOTP (with the current password, then a code of the new factor),
and forgetting a user's factors when an administrator resets them.
"""

from __future__ import annotations

import pyotp

from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, Forbidden, InvalidInput
from tenantry.identity import passwords, throttle
from tenantry.identity.sign_in import accept_totp, current_user
from tenantry.identity.tokens import revoke_user_tokens
from tenantry.models import User

TOTP_ISSUER = "Tenantry"


def _confirm_password(ctx: Context, user: User, password: str) -> None:
    """The current password again, for changes that must not ride on a session alone (a
    stolen token or an unattended browser). Wrong guesses count in the sign-in throttle of
    the account, so this is no side door for guessing. 403, not 401: the token is fine."""
    throttle.claim_attempt(ctx, user.user_principal_name)
    if not passwords.verify_password(ctx.settings, user.password_hash, password):
        throttle.audit_failure(ctx, user, "password (second factor enrolment)")
        raise Forbidden(
            "The password is not right. Enrolling a second factor needs your current password.",
            slug="invalid-credentials",
            title="Password required",
        )
    throttle.give_back_attempt(ctx, user.user_principal_name)


def start_totp_enrolment(ctx: Context, password: str) -> tuple[str, str]:
    """Step one of enrolling TOTP: needs the current password. While a factor is on it can't
    be replaced here (not even with the password and a code): a lost or compromised factor
    is reset by the tenant's administrators or the operator, so whoever holds the password
    and a session can never swap the factor for one of their own."""
    # The password first: its attempt is counted in a transaction of its own, which would
    # end the lock on the user's row.
    _confirm_password(ctx, current_user(ctx), password)
    user = current_user(ctx, lock=True)
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
    if not accept_totp(ctx, user, user.totp_pending_secret, code):
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
