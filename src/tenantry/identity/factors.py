"""Second factors: enrolling TOTP (with the current password, then a code of the new factor),
registering and removing passkeys (with the current password), and forgetting a user's factors
when an administrator resets them.
"""

from __future__ import annotations

import uuid
from typing import Any

import pyotp
from sqlalchemy import delete, select

from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from tenantry.identity import passkeys, passwords, throttle
from tenantry.identity.sign_in import accept_totp, current_user
from tenantry.identity.tokens import revoke_user_tokens
from tenantry.models import Passkey, User
from tenantry.operations import outbox

TOTP_ISSUER = "Tenantry"


def _confirm_password(
    ctx: Context, user: User, password: str, doing: str = "Enrolling a second factor"
) -> None:
    """The current password again, for changes that must not ride on a session alone (a
    stolen token or an unattended browser). Wrong guesses count in the sign-in throttle of
    the account, so this is no side door for guessing. 403, not 401: the token is fine."""
    throttle.claim_attempt(ctx, user.user_principal_name)
    if not passwords.verify_password(ctx.settings, user.password_hash, password):
        throttle.audit_failure(ctx, user, f"password ({doing.lower()})")
        raise Forbidden(
            f"The password is not right. {doing} needs your current password.",
            slug="invalid-credentials",
            title="Password required",
        )
    throttle.give_back_attempt(ctx, user.user_principal_name)


def _password_change_first() -> Forbidden:
    return Forbidden(
        "Change your temporary password first: a second factor is enrolled with a "
        "password of your own.",
        slug="password-change-required",
        title="Password change required",
    )


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
        raise _password_change_first()
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


# --- passkeys ------------------------------------------------------------------------------
#
# Registering one needs the current password (counted by the throttle) and a password of one's
# own, like TOTP. Unlike TOTP, an account may hold several (a phone and a security key), so one
# is added while another factor is on, but then only from a session that proved a factor at
# sign-in: whoever holds the password and a password-only session (a session begun before the
# factor was turned on) can't add a factor of their own to an account that has one. Removing
# one needs both as well, the current password and a multi-factor session: it weakens the
# account (removing the last factor turns two-step verification off), so neither a stolen
# password alone (no session) nor an unattended browser alone (no password) may do it.
# Registering never makes the session in use multi-factor.


def _mfa_session_required(doing: str) -> Forbidden:
    return Forbidden(
        f"Two-step verification is on for this account: {doing} needs a session signed in "
        "with it (a code or a passkey), not with the password alone. Sign in again with your "
        "second factor.",
        slug="mfa-session-required",
        title="Sign in with your second factor",
    )


def _may_add_passkey(ctx: Context, user: User) -> None:
    if user.must_change_password:
        raise _password_change_first()
    if user.mfa_enabled and not ctx.require_principal().mfa:
        raise _mfa_session_required("adding a passkey")


def start_passkey_registration(ctx: Context, password: str) -> dict[str, Any]:
    """Step one: the options for ``navigator.credentials.create()``, with a challenge bound
    to this user and this session."""
    _confirm_password(ctx, current_user(ctx), password, "Adding a passkey")
    user = current_user(ctx, lock=True)
    _may_add_passkey(ctx, user)
    options = passkeys.registration_options(ctx, user, ctx.require_principal().token_id)
    audit.record(ctx, user.tenant_id, "auth.passkey_registration_started", f"user:{user.id}")
    return options


def finish_passkey_registration(ctx: Context, name: str, credential: dict[str, Any]) -> Passkey:
    """Step two: the authenticator's answer. The passkey turns two-step verification on (if it
    was off); the session in use stays what it was."""
    user = current_user(ctx, lock=True)
    _may_add_passkey(ctx, user)  # again: a reset or another factor may have come in between
    passkey = passkeys.register(ctx, user, ctx.require_principal().token_id, name, credential)
    was_on = user.mfa_enabled
    user.mfa_enabled = True
    user.updated_at = ctx.now
    audit.record(
        ctx,
        user.tenant_id,
        "auth.passkey_added",
        f"user:{user.id}",
        details={
            "passkey_id": str(passkey.id),
            "name": passkey.name,
            "aaguid": passkey.aaguid,
            "backup_eligible": passkey.backup_eligible,
        },
    )
    if not was_on:
        audit.record(ctx, user.tenant_id, "auth.mfa_enabled", f"user:{user.id}")
    _tell_user(
        ctx,
        user,
        f"A passkey was added to {user.user_principal_name}",
        f"The passkey '{passkey.name}' was added to {user.user_principal_name} and now signs it "
        "in with its password. If you did not add it, someone holds your password and a "
        "session of yours: tell your administrators at once, so that they reset your second "
        "factors and your password.",
    )
    return passkey


def _tell_user(ctx: Context, user: User, subject: str, body: str) -> None:
    """The user hears at once of a factor added or removed, in the same transaction: a
    session and a password taken (a phished sign-in) must not add a key unnoticed."""
    outbox.enqueue(
        ctx,
        recipient=user.user_principal_name,
        subject=subject,
        body=body,
        tenant_id=user.tenant_id,
    )


def my_passkeys(ctx: Context) -> list[Passkey]:
    return passkeys.passkeys_of(ctx, ctx.require_user())


def remove_passkey(ctx: Context, passkey_id: uuid.UUID, password: str) -> User:
    """Remove one of the caller's passkeys (another user's is not found): a multi-factor
    session and the current password. Removing the last factor turns two-step verification
    off."""
    if not ctx.require_principal().mfa:
        raise _mfa_session_required("removing a passkey")
    _confirm_password(ctx, current_user(ctx), password, "Removing a passkey")
    user = current_user(ctx, lock=True)
    passkey = ctx.session.scalar(
        select(Passkey).where(Passkey.id == passkey_id, Passkey.user_id == user.id)
    )
    if passkey is None:
        raise NotFound("Passkey not found.")
    ctx.session.delete(passkey)
    ctx.session.flush()
    user.mfa_enabled = user.totp_secret is not None or passkeys.has_passkey(ctx, user.id)
    user.updated_at = ctx.now
    audit.record(
        ctx,
        user.tenant_id,
        "auth.passkey_removed",
        f"user:{user.id}",
        details={
            "passkey_id": str(passkey_id),
            "name": passkey.name,
            "mfa_enabled": user.mfa_enabled,
        },
    )
    off = "" if user.mfa_enabled else " Two-step verification is now off for the account."
    _tell_user(
        ctx,
        user,
        f"A passkey was removed from {user.user_principal_name}",
        f"The passkey '{passkey.name}' was removed from {user.user_principal_name}.{off} If you "
        "did not remove it, tell your administrators at once.",
    )
    return user


def has_second_factor(user: User) -> bool:
    """A factor in use (TOTP or a passkey: either turns ``mfa_enabled`` on) or a TOTP
    enrolment begun."""
    return user.mfa_enabled or user.totp_pending_secret is not None


def remove_second_factors(ctx: Context, user: User) -> int:
    """Forget the user's factors (TOTP, also one half-enrolled, and every passkey, with the
    open challenges of their ceremonies) and end every session it has: whoever was signed in
    must prove themselves again. Answers how many passkeys went."""
    user.mfa_enabled = False
    user.totp_secret = user.totp_pending_secret = None
    user.totp_last_counter = None
    user.updated_at = ctx.now
    removed = ctx.session.execute(delete(Passkey).where(Passkey.user_id == user.id))
    passkeys.forget_challenges(ctx, user.id)
    revoke_user_tokens(ctx, user.id)
    return int(removed.rowcount)  # type: ignore[attr-defined]
