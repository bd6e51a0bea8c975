"""Users of a tenant: create, read, update (display name, enabled), delete, reset password."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import Select, delete, func, or_, select, update

from tenantry import access
from tenantry.access.roles import Permission, Role
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, InvalidInput, NotFound
from tenantry.core.pagination import Page, paginate
from tenantry.core.scoped import get_scoped
from tenantry.directory import notices
from tenantry.directory.role_assignments import ensure_global_admin_remains
from tenantry.identity import factors, passkeys, passwords, tokens
from tenantry.models import Domain, LicenseAssignment, RoleAssignment, Subscription, User
from tenantry.models.domains import DomainStatus
from tenantry.operations import webhooks

LOCAL_PART = re.compile(r"^[a-z0-9](?:[a-z0-9._'+-]{0,62}[a-z0-9])?$")


@dataclass(frozen=True)
class CreatedUser:
    user: User
    temporary_password: str | None


def normalise_upn(ctx: Context, tenant_id: uuid.UUID, upn: str) -> str:
    """Lower-case ``name@domain`` whose domain is a verified domain of the tenant."""
    upn = upn.strip().lower()
    local, sep, domain = upn.rpartition("@")
    if not sep or not LOCAL_PART.match(local) or ".." in local:
        raise InvalidInput("A user principal name looks like name@domain.", slug="invalid-upn")
    ok = ctx.session.scalar(
        select(Domain.id).where(
            Domain.tenant_id == tenant_id,
            Domain.name == domain,
            Domain.status == DomainStatus.VERIFIED,
        )
    )
    if not ok:
        raise InvalidInput(
            f"{domain} is not a verified domain of this organisation.", slug="invalid-upn"
        )
    return upn


def list_users(
    ctx: Context, tenant_id: uuid.UUID, *, search: str | None, cursor: str | None, limit: int
) -> Page[User]:
    access.require(ctx, tenant_id, Permission.USERS_READ)
    stmt: Select[User] = select(User).where(User.tenant_id == tenant_id)
    if search:
        term = search.strip().lower()
        stmt = stmt.where(
            or_(
                User.user_principal_name.startswith(term, autoescape=True),
                func.lower(User.display_name).contains(term, autoescape=True),
            )
        )
    return paginate(ctx.session, stmt, [User.user_principal_name], cursor, limit)


def get_user(ctx: Context, tenant_id: uuid.UUID, user_id: uuid.UUID) -> User:
    access.require(ctx, tenant_id, Permission.USERS_READ)
    return get_scoped(ctx.session, User, user_id, tenant_id, "User")


def find_by_upn(ctx: Context, tenant_id: uuid.UUID, upn: str) -> User:
    """The tenant's user with this user name: pages let people type a name, not paste an id."""
    access.require(ctx, tenant_id, Permission.USERS_READ)
    name = upn.strip().lower()
    user = ctx.session.scalar(
        select(User).where(User.tenant_id == tenant_id, User.user_principal_name == name)
    )
    if user is None:
        raise NotFound(f"There is no user {name or '(empty)'} in this organisation.")
    return user


def create_user(
    ctx: Context,
    tenant_id: uuid.UUID,
    *,
    user_principal_name: str,
    display_name: str,
    password: str | None,
    must_change_password: bool = True,
) -> CreatedUser:
    access.require(ctx, tenant_id, Permission.USERS_CREATE)
    upn = normalise_upn(ctx, tenant_id, user_principal_name)
    if not display_name.strip():
        raise InvalidInput("A user needs a display name.")
    if ctx.session.scalar(select(User.id).where(User.user_principal_name == upn)):
        raise Conflict(f"{upn} is already taken.", slug="duplicate-upn")
    temporary = None
    if password is None:
        temporary = password = passwords.temporary_password()
        must_change_password = True
    else:
        passwords.check_policy(password)
    user = User(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        user_principal_name=upn,
        display_name=display_name.strip(),
        password_hash=passwords.hash_password(ctx.settings, password),
        must_change_password=must_change_password,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(user)
    ctx.session.flush()
    audit.record(ctx, tenant_id, "user.create", f"user:{user.id}", details={"upn": upn})
    webhooks.user_changed(ctx, webhooks.EventType.USER_CREATED, user)
    return CreatedUser(user, temporary)


def update_user(
    ctx: Context,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    display_name: str | None,
    enabled: bool | None,
) -> User:
    access.require(ctx, tenant_id, Permission.USERS_READ)
    user = get_scoped(ctx.session, User, user_id, tenant_id, "User", lock=True)
    access.require_on_user(ctx, tenant_id, Permission.USERS_UPDATE, user)
    changed: list[str] = []
    if display_name is not None:
        if not display_name.strip():
            raise InvalidInput("A user needs a display name.")
        user.display_name = display_name.strip()
        changed.append("display_name")
    if enabled is not None and enabled != user.enabled:
        if not enabled and user.id == ctx.require_principal().user_id:
            raise Conflict("You can't disable your own account.", slug="self")
        user.enabled = enabled
        changed.append("enabled")
        if not enabled:
            tokens.revoke_user_tokens(ctx, user.id)
            ensure_global_admin_remains(ctx, tenant_id)
    user.updated_at = ctx.now
    action = "user.update"
    if enabled is not None and "enabled" in changed:
        action = "user.enable" if enabled else "user.disable"
    audit.record(
        ctx,
        tenant_id,
        action,
        f"user:{user.id}",
        details={"upn": user.user_principal_name, "fields": changed},
    )
    webhooks.user_changed(ctx, webhooks.user_event(action), user)
    return user


def delete_user(ctx: Context, tenant_id: uuid.UUID, user_id: uuid.UUID) -> None:
    access.require(ctx, tenant_id, Permission.USERS_READ)
    # Locked first: a second deletion of the same user waits, then finds it gone (404), and a
    # licence being assigned to it meanwhile is released below.
    user = get_scoped(ctx.session, User, user_id, tenant_id, "User", lock=True)
    access.require_on_user(ctx, tenant_id, Permission.USERS_DELETE, user)
    if user.id == ctx.require_principal().user_id:
        raise Conflict("You can't delete your own account.", slug="self")
    release_licenses(ctx, user.id)
    upn = user.user_principal_name
    webhooks.user_changed(ctx, webhooks.EventType.USER_DELETED, user)
    ctx.session.delete(user)
    ensure_global_admin_remains(ctx, tenant_id)
    audit.record(ctx, tenant_id, "user.delete", f"user:{user_id}", details={"upn": upn})


def release_licenses(ctx: Context, user_id: uuid.UUID) -> None:
    """Free the seats a user held: each subscription's counter goes down once per licence
    row this transaction deleted, so a concurrent unassign or deletion never frees it twice.
    Locks go user, then subscriptions in id order, then licence rows (and the tenant last, by
    the audit), the order assigning and unassigning take them, so these never deadlock. The
    caller holds the user's row lock."""
    held = select(LicenseAssignment.subscription_id).where(LicenseAssignment.user_id == user_id)
    ctx.session.execute(
        select(Subscription.id)
        .where(Subscription.id.in_(held))
        .order_by(Subscription.id)
        .with_for_update()
    )
    freed = ctx.session.scalars(
        delete(LicenseAssignment)
        .where(LicenseAssignment.user_id == user_id)
        .returning(LicenseAssignment.subscription_id)
        .execution_options(synchronize_session=False)
    ).all()
    for subscription_id in sorted(freed):
        ctx.session.execute(
            update(Subscription)
            .where(Subscription.id == subscription_id)
            .values(assigned=Subscription.assigned - 1)
            .execution_options(synchronize_session=False)
        )


def reset_password(ctx: Context, tenant_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """A temporary password the user must change at next sign-in; their tokens end now. The
    second factor is kept: a new password alone never opens an account that had one.

    On behalf of a customer, a privileged user's password is reset only when it has a second
    factor (else the partner would hold the whole account), and the customer's other Global
    Administrators are told by e-mail."""
    access.require(ctx, tenant_id, Permission.USERS_READ)
    # Locked before the check (so in every function here that asks require_on_user): a role
    # or a privileged group being given to the user meanwhile holds its row's key-share lock,
    # so the check waits for that commit and sees it, never a password handed over after it.
    user = get_scoped(ctx.session, User, user_id, tenant_id, "User", lock=True)
    decision = access.require_on_user(ctx, tenant_id, Permission.USERS_RESET_PASSWORD, user)
    because = access.privileged_because(ctx.session, user) if decision.delegated else None
    if because is not None and not user.mfa_enabled:
        raise access.deny(
            ctx,
            decision,
            Permission.USERS_RESET_PASSWORD,
            f"Denied: {user.user_principal_name} {because} and has no second factor, so a "
            "password set on behalf would hand over the whole account. "
            f"{decision.tenant_name}'s own administrators can reset it.",
        )
    temporary = passwords.temporary_password()
    user.password_hash = passwords.hash_password(ctx.settings, temporary)
    user.must_change_password = True
    # An enrolment begun before the reset is not finished after it (TOTP, or a passkey's).
    user.totp_pending_secret = None
    passkeys.forget_challenges(ctx, user.id)
    user.updated_at = ctx.now
    tokens.revoke_user_tokens(ctx, user.id)
    audit.record(
        ctx,
        tenant_id,
        "user.reset_password",
        f"user:{user.id}",
        details={"upn": user.user_principal_name},
    )
    if because is not None:
        notices.privileged_password_reset_on_behalf(ctx, tenant_id, user)
    return temporary


# --- second factors -----------------------------------------------------------------------
# A lost factor is reset by the tenant's own administrators (or the operator, by CLI), never
# on behalf: a partner that could reset both a password and the factor would hold the whole
# account. Resetting needs users.update; a privileged user's factor needs
# users.manage_privileged (a Password Administrator, whose reset password plus a factor
# reset would hand over an account, can do neither).

RESET_MFA_PERMISSION = Permission.USERS_UPDATE


def may_reset_second_factor(ctx: Context, tenant_id: uuid.UUID, user: User) -> bool:
    """What the user page asks before it shows the button (the reset itself decides)."""
    decision = access.decide(ctx, tenant_id)
    if decision.delegated or not decision.allows(RESET_MFA_PERMISSION):
        return False
    if not factors.has_second_factor(user):
        return False
    return decision.allows(Permission.USERS_MANAGE_PRIVILEGED) or (
        access.privileged_because(ctx.session, user) is None
    )


def reset_second_factor(ctx: Context, tenant_id: uuid.UUID, user_id: uuid.UUID) -> User:
    """Remove the user's second factors and end its sessions; it signs in with its password
    and enrols again. Refused on behalf (explained, audited); the user is told by e-mail."""
    decision = access.require(ctx, tenant_id, Permission.USERS_READ)
    user = get_scoped(ctx.session, User, user_id, tenant_id, "User", lock=True)
    if decision.delegated:
        raise access.deny(
            ctx,
            decision,
            RESET_MFA_PERMISSION,
            "Denied: a second factor is never reset on behalf of a customer (with a password "
            "reset it would hand the whole account to the partner). "
            f"{decision.tenant_name}'s own administrators can reset it.",
        )
    access.require_on_user(ctx, tenant_id, RESET_MFA_PERMISSION, user)
    ctx.session.refresh(user, with_for_update=True)
    _reset(ctx, user, by=ctx.require_principal().name)
    return user


def _operator_target(ctx: Context, upn: str) -> User:
    """The user an operator's recovery command names, locked until commit."""
    name = upn.strip().lower()
    user = ctx.session.scalar(
        select(User).where(User.user_principal_name == name).with_for_update()
    )
    if user is None:
        raise NotFound(f"There is no user {name or '(empty)'}.")
    return user


def operator_reset_second_factor(ctx: Context, upn: str) -> User:
    """The operator's recovery (``tenantry user reset-mfa``): any user, audited as the
    operator in the user's tenant."""
    user = _operator_target(ctx, upn)
    _reset(ctx, user, by="the operator")
    return user


def operator_grant_global_admin(ctx: Context, upn: str, *, enable: bool = False) -> User:
    """The operator's recovery of an organisation that lost its administrators (``tenantry
    user grant-global-admin``): the user gets Global Administrator directly, audited as the
    operator in its tenant, and the organisation's admin addresses (the user's included) are
    told at once, so a grant nobody asked for is noticed. A disabled user is refused unless
    ``enable`` says to turn it on as well."""
    user = _operator_target(ctx, upn)
    if not user.enabled:
        if not enable:
            raise Conflict(
                f"{user.user_principal_name} is disabled. Choose an enabled user, or add "
                "--enable to turn this one on as well.",
                slug="user-disabled",
            )
        user.enabled = True
        user.updated_at = ctx.now
        audit.record(ctx, user.tenant_id, "user.enable", f"user:{user.id}", details=OPERATOR)
    held = ctx.session.scalar(
        select(RoleAssignment.id).where(
            RoleAssignment.user_id == user.id,
            RoleAssignment.role == Role.GLOBAL_ADMINISTRATOR.value,
        )
    )
    if held is not None:
        raise Conflict(
            f"{user.user_principal_name} already holds Global Administrator.", slug="duplicate"
        )
    ctx.session.add(
        RoleAssignment(
            tenant_id=user.tenant_id,
            role=Role.GLOBAL_ADMINISTRATOR.value,
            user_id=user.id,
            created_at=ctx.now,
        )
    )
    ctx.session.flush()
    audit.record(
        ctx,
        user.tenant_id,
        "role.assign",
        f"user:{user.id}",
        details={"role": Role.GLOBAL_ADMINISTRATOR.value, **OPERATOR},
    )
    notices.global_admin_granted_by_operator(ctx, user)
    return user


OPERATOR = {"by": "operator"}  # audit detail of the operator's recovery commands


def _reset(ctx: Context, user: User, *, by: str) -> None:
    if not factors.has_second_factor(user):
        raise Conflict(
            f"{user.user_principal_name} has no second factor to reset.", slug="no-second-factor"
        )
    removed_passkeys = factors.remove_second_factors(ctx, user)
    audit.record(
        ctx,
        user.tenant_id,
        "user.reset_mfa",
        f"user:{user.id}",
        details={
            "upn": user.user_principal_name,
            "by": "operator" if ctx.principal is None else "admin",
            "passkeys_removed": removed_passkeys,
        },
    )
    notices.second_factor_reset(ctx, user, by)


# --- provisioning (SCIM) ---------------------------------------------------------------------
# An identity system renames a user and sets its password; the same rules as for a person
# acting: users.update (users.reset_password) and, for a privileged user,
# users.manage_privileged (``access.require_on_user``), which a provisioning token never holds.


def rename_user(ctx: Context, tenant_id: uuid.UUID, user_id: uuid.UUID, upn: str) -> User:
    """A new user principal name (a verified domain of the tenant; unique platform-wide)."""
    access.require(ctx, tenant_id, Permission.USERS_READ)
    user = get_scoped(ctx.session, User, user_id, tenant_id, "User", lock=True)
    access.require_on_user(ctx, tenant_id, Permission.USERS_UPDATE, user)
    new = normalise_upn(ctx, tenant_id, upn)
    if new == user.user_principal_name:
        return user
    if ctx.session.scalar(select(User.id).where(User.user_principal_name == new)):
        raise Conflict(f"{new} is already taken.", slug="duplicate-upn")
    old = user.user_principal_name
    user.user_principal_name = new
    user.updated_at = ctx.now
    ctx.session.flush()
    audit.record(ctx, tenant_id, "user.rename", f"user:{user.id}", details={"from": old, "to": new})
    webhooks.user_changed(ctx, webhooks.EventType.USER_UPDATED, user)
    return user


def set_password(ctx: Context, tenant_id: uuid.UUID, user_id: uuid.UUID, password: str) -> User:
    """A password of the user's own, set by its identity system (not a temporary one): the
    policy applies, its sessions end, its second factor is kept."""
    access.require(ctx, tenant_id, Permission.USERS_READ)
    user = get_scoped(ctx.session, User, user_id, tenant_id, "User", lock=True)
    access.require_on_user(ctx, tenant_id, Permission.USERS_RESET_PASSWORD, user)
    passwords.check_policy(password)
    if not user.must_change_password and passwords.verify_password(
        ctx.settings, user.password_hash, password
    ):
        return user  # the same password sent again (an identity system's every PUT): no change
    user.password_hash = passwords.hash_password(ctx.settings, password)
    user.must_change_password = False
    user.totp_pending_secret = None
    passkeys.forget_challenges(ctx, user.id)
    user.updated_at = ctx.now
    tokens.revoke_user_tokens(ctx, user.id)
    audit.record(
        ctx,
        tenant_id,
        "user.set_password",
        f"user:{user.id}",
        details={"upn": user.user_principal_name},
    )
    return user


def require_password_change(ctx: Context, tenant_id: uuid.UUID, user_id: uuid.UUID) -> User:
    """The user must choose a new password at its next sign-in (and its open sessions are
    sent to the password page, which every request of theirs checks). The same rule as a
    reset: users.reset_password, and users.manage_privileged for a privileged user."""
    access.require(ctx, tenant_id, Permission.USERS_READ)
    user = get_scoped(ctx.session, User, user_id, tenant_id, "User", lock=True)
    access.require_on_user(ctx, tenant_id, Permission.USERS_RESET_PASSWORD, user)
    user.must_change_password = True
    user.updated_at = ctx.now
    audit.record(
        ctx,
        tenant_id,
        "user.require_password_change",
        f"user:{user.id}",
        details={"upn": user.user_principal_name},
    )
    return user
