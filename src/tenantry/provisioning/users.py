"""SCIM Users mapped onto the directory's users: every change goes through
``directory.users`` (create, update, rename, set password, delete), so the directory's rules
and the one access decision hold — a provisioning token never touches a privileged user
(``access.require_on_user``: it holds no ``users.manage_privileged``), never the last Global
Administrator, never another organisation.

``userName`` is the user principal name: a name at one of the organisation's verified domains,
or a bare name, which the organisation's default domain completes (``alice`` is
``alice@contoso.example``). What the identity system sent is kept and returned as it was when
it differs from the UPN (another letter case, a bare name).
"""

from __future__ import annotations

import uuid
from typing import Any

from scim2_models import (
    Context as ScimContext,
)
from scim2_models import (
    InvalidValueException,
    MutabilityException,
    PatchOp,
)
from sqlalchemy import delete, select, true

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import InvalidInput, NotFound
from tenantry.core.scoped import get_scoped
from tenantry.directory import users as directory
from tenantry.models import Domain, Group, GroupMember, User, UserEmail
from tenantry.provisioning import filters, resources
from tenantry.provisioning.common import (
    NO_ROLES,
    PATCH_POLICY,
    Found,
    Paging,
    check_if_match,
    object_body,
    page,
    refuse_roles,
    version_of,
)
from tenantry.provisioning.common import (
    bounded as _bounded,
)

# The attributes a write reads, by their lower-cased name (attribute names are
# case-insensitive, RFC 7643 §2.1); anything else (id, meta, groups — read-only — and
# attributes or extensions Tenantry does not keep) is ignored, as RFC 7644 §3.3 allows.
WRITABLE = {
    "externalid": "externalId",
    "username": "userName",
    "displayname": "displayName",
    "active": "active",
    "password": "password",
    "emails": "emails",
}


def _default_domain(ctx: Context, tenant_id: uuid.UUID) -> str:
    name = ctx.session.scalar(
        select(Domain.name).where(Domain.tenant_id == tenant_id, Domain.is_default)
    )
    if name is None:  # pragma: no cover - every organisation has its initial domain
        raise InvalidInput("This organisation has no default domain.")
    return name


def upn_for(ctx: Context, tenant_id: uuid.UUID, user_name: str) -> tuple[str, str | None]:
    """(user principal name, userName to keep when it is not the UPN itself)."""
    name = user_name.strip()
    if not name:
        raise InvalidValueException(detail="userName is empty.")
    upn = name.lower() if "@" in name else f"{name.lower()}@{_default_domain(ctx, tenant_id)}"
    upn = directory.normalise_upn(ctx, tenant_id, upn)
    return upn, (None if name == upn else name)


# --- reading -------------------------------------------------------------------------------


def represent_all(ctx: Context, base: str, users: list[User]) -> list[resources.User]:
    ids = [u.id for u in users]
    emails: dict[uuid.UUID, list[resources.Email]] = {i: [] for i in ids}
    groups: dict[uuid.UUID, list[resources.GroupRef]] = {i: [] for i in ids}
    if ids:
        for row in ctx.session.scalars(
            select(UserEmail).where(UserEmail.user_id.in_(ids)).order_by(UserEmail.position)
        ):
            emails[row.user_id].append(
                resources.Email.model_validate(
                    {
                        "value": row.value,
                        "type": row.type,
                        "display": row.display,
                        "primary": row.primary,
                    }
                )
            )
        for user_id, group_id, name in ctx.session.execute(
            select(GroupMember.user_id, Group.id, Group.name)
            .join(Group, Group.id == GroupMember.group_id)
            .where(GroupMember.user_id.in_(ids))
            .order_by(Group.name, Group.id)
        ):
            groups[user_id].append(
                resources.GroupRef.model_validate(
                    {"value": str(group_id), "$ref": f"{base}/Groups/{group_id}", "display": name}
                )
            )
    out = []
    for user in users:
        resource = resources.User(
            id=str(user.id),
            external_id=user.external_id,
            user_name=user.user_name or user.user_principal_name,
            display_name=user.display_name,
            active=user.enabled,
            emails=emails[user.id] or None,
            groups=groups[user.id] or None,
        )
        resource.meta = resources.Meta(
            resource_type="User",
            created=user.created_at,
            last_modified=user.updated_at,
            location=f"{base}/Users/{user.id}",
            version=version_of(resource.model_dump(scim_ctx=ScimContext.RESOURCE_QUERY_RESPONSE)),
        )
        out.append(resource)
    return out


def represent(ctx: Context, base: str, user: User) -> resources.User:
    return represent_all(ctx, base, [user])[0]


def _id(user_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(user_id)
    except ValueError:
        raise _not_found() from None


def _not_found() -> Exception:
    return NotFound("User not found.")


def get_user(ctx: Context, tenant_id: uuid.UUID, base: str, user_id: str) -> resources.User:
    return represent(ctx, base, directory.get_user(ctx, tenant_id, _id(user_id)))


def list_users(
    ctx: Context, tenant_id: uuid.UUID, base: str, filter_text: str | None, paging: Paging
) -> Found[resources.User]:
    access.require(ctx, tenant_id, Permission.USERS_READ)
    condition = filters.users(filter_text) if filter_text else true()
    total, rows = page(
        ctx.session,
        select(User).where(User.tenant_id == tenant_id),
        condition,
        [User.created_at, User.id],
        paging,
    )
    return Found(total, paging.start_index, represent_all(ctx, base, rows))


# --- writing -------------------------------------------------------------------------------


def _input(body: Any, *, current: resources.User | None) -> resources.User:
    """The resource a POST (``current`` None) or PUT asks for. On a create, a missing
    displayName is the userName and a missing active is true; on a replace they stay."""
    picked: dict[str, Any] = {}
    for key, value in object_body(body).items():
        lowered = key.lower()
        if lowered in ROLES_KEYS:
            refuse_roles(value)
        elif lowered == resources.USER_SCHEMA.lower() and isinstance(value, dict):
            # The core schema's attributes named under its URN: roles there are refused too.
            refuse_roles(next((v for k, v in value.items() if k.lower() == "roles"), None))
        elif lowered in WRITABLE:
            picked[WRITABLE[lowered]] = value
    user_name = picked.get("userName")
    if not isinstance(user_name, str) or not user_name.strip():
        raise InvalidValueException(detail="userName is required.")
    if picked.get("displayName") in (None, ""):
        picked["displayName"] = current.display_name if current else user_name
    if picked.get("active") is None:
        picked["active"] = current.active if current else True
    return resources.User.model_validate(picked)


# ``roles`` by its name, or fully qualified by the core schema's URN (RFC 7644 §3.10).
ROLES_KEYS = frozenset({"roles", resources.USER_SCHEMA.lower() + ":roles"})
MAX_EMAILS = 20
MAX_EXTERNAL_ID = 512


def _check(data: resources.User) -> None:
    _bounded(data.external_id, MAX_EXTERNAL_ID, "externalId")
    _bounded(data.user_name, 320, "userName")
    _bounded(data.display_name, 256, "displayName")
    if len(data.emails or []) > MAX_EMAILS:
        raise InvalidValueException(detail=f"A user has at most {MAX_EMAILS} emails.")
    for email in data.emails or []:
        if not email.value:
            raise InvalidValueException(detail="Each of emails needs a value.")
        _bounded(email.value, 320, "emails.value")
        _bounded(email.type, 64, "emails.type")
        _bounded(email.display, 256, "emails.display")


def _write_emails(ctx: Context, user: User, emails: list[resources.Email] | None) -> None:
    ctx.session.execute(delete(UserEmail).where(UserEmail.user_id == user.id))
    for position, email in enumerate(emails or []):
        ctx.session.add(
            UserEmail(
                user_id=user.id,
                position=position,
                value=str(email.value),
                type=str(email.type) if email.type is not None else None,
                display=email.display,
                primary=email.primary,
            )
        )
    ctx.session.flush()


def _dump_emails(emails: list[resources.Email] | None) -> list[dict[str, Any]]:
    return [e.model_dump() for e in emails or []]


def create_user(ctx: Context, tenant_id: uuid.UUID, base: str, body: Any) -> resources.User:
    access.require(ctx, tenant_id, Permission.USERS_CREATE)
    data = _input(body, current=None)
    assert data.user_name is not None and data.display_name is not None
    _check(data)
    upn, kept = upn_for(ctx, tenant_id, data.user_name)
    created = directory.create_user(
        ctx,
        tenant_id,
        user_principal_name=upn,
        display_name=data.display_name,
        password=data.password,
        # A password from the identity system is the user's own; without one the user has a
        # random one nobody knows (it signs in elsewhere, or its password is reset).
        must_change_password=data.password is None,
    )
    user = created.user
    user.user_name = kept
    user.external_id = data.external_id
    _write_emails(ctx, user, data.emails)
    if data.external_id is not None or data.emails or kept is not None:
        audit.record(
            ctx,
            tenant_id,
            "user.update",
            f"user:{user.id}",
            details={
                "upn": user.user_principal_name,
                "fields": [
                    f
                    for f, v in (
                        ("external_id", data.external_id),
                        ("emails", data.emails),
                        ("user_name", kept),
                    )
                    if v
                ],
            },
        )
    if data.active is False:
        directory.update_user(ctx, tenant_id, user.id, display_name=None, enabled=False)
    return represent(ctx, base, user)


def _locked(ctx: Context, tenant_id: uuid.UUID, user_id: str) -> User:
    """The user, its row locked until commit: of two writes with the same If-Match one waits,
    then finds the version changed (412)."""
    access.require(ctx, tenant_id, Permission.USERS_READ)
    return get_scoped(ctx.session, User, _id(user_id), tenant_id, "User", lock=True)


def _apply(
    ctx: Context,
    tenant_id: uuid.UUID,
    user: User,
    before: resources.User,
    after: resources.User,
) -> None:
    """Make ``after`` true through the directory's own functions (each decides for itself)."""
    if after.user_name is None or not after.user_name.strip():
        raise MutabilityException(detail="userName is required.")
    if after.display_name is None or not after.display_name.strip():
        raise MutabilityException(detail="displayName is required.")
    if after.active is None:
        raise MutabilityException(detail="active is required (true or false).")
    _check(after)
    changed = False
    if after.user_name != before.user_name:
        upn, kept = upn_for(ctx, tenant_id, after.user_name)
        if upn != user.user_principal_name:
            directory.rename_user(ctx, tenant_id, user.id, upn)
        else:
            access.require_on_user(ctx, tenant_id, Permission.USERS_UPDATE, user)
        user.user_name = kept
        changed = True
    name = after.display_name if after.display_name != before.display_name else None
    enabled = after.active if after.active != before.active else None
    if name is not None or enabled is not None:
        directory.update_user(ctx, tenant_id, user.id, display_name=name, enabled=enabled)
    fields = []
    if after.external_id != before.external_id:
        fields.append("external_id")
    if _dump_emails(after.emails) != _dump_emails(before.emails):
        fields.append("emails")
    if fields:
        access.require_on_user(ctx, tenant_id, Permission.USERS_UPDATE, user)
        user.external_id = after.external_id
        if "emails" in fields:
            _write_emails(ctx, user, after.emails)
        audit.record(
            ctx,
            tenant_id,
            "user.update",
            f"user:{user.id}",
            details={"upn": user.user_principal_name, "fields": fields},
        )
        changed = True
    if after.password is not None:
        directory.set_password(ctx, tenant_id, user.id, after.password)
    if changed:
        user.updated_at = ctx.now
    ctx.session.flush()


def replace_user(
    ctx: Context, tenant_id: uuid.UUID, base: str, user_id: str, body: Any, if_match: str | None
) -> resources.User:
    user = _locked(ctx, tenant_id, user_id)
    current = represent(ctx, base, user)
    assert current.meta is not None and current.meta.version is not None
    check_if_match(if_match, current.meta.version)
    after = _input(body, current=current)
    _apply(ctx, tenant_id, user, current, after)
    return represent(ctx, base, user)


def _refuse_role_patches(body: dict[str, Any]) -> None:
    for operation in body.get("Operations") or body.get("operations") or []:
        if not isinstance(operation, dict):
            continue
        path = str(operation.get("path") or "").lower()
        if path.startswith(("roles", "urn:ietf:params:scim:schemas:core:2.0:user:roles")):
            raise MutabilityException(detail=NO_ROLES)
        value = operation.get("value")
        if not path and isinstance(value, dict):
            for key, item in value.items():
                if key.lower() == "roles":
                    refuse_roles(item)


def patch_user(
    ctx: Context, tenant_id: uuid.UUID, base: str, user_id: str, body: Any, if_match: str | None
) -> resources.User:
    user = _locked(ctx, tenant_id, user_id)
    current = represent(ctx, base, user)
    assert current.meta is not None and current.meta.version is not None
    check_if_match(if_match, current.meta.version)
    body = object_body(body)
    _refuse_role_patches(body)
    before = current.model_copy(deep=True)
    before.meta = None
    after = before.model_copy(deep=True)
    with PATCH_POLICY:
        patch = PatchOp[resources.User].model_validate(
            body, scim_ctx=ScimContext.RESOURCE_PATCH_REQUEST
        )
        patch.patch(after)
    _apply(ctx, tenant_id, user, before, after)
    return represent(ctx, base, user)


def delete_user(
    ctx: Context, tenant_id: uuid.UUID, base: str, user_id: str, if_match: str | None
) -> None:
    user = _locked(ctx, tenant_id, user_id)
    if if_match is not None:
        current = represent(ctx, base, user)
        assert current.meta is not None and current.meta.version is not None
        check_if_match(if_match, current.meta.version)
    directory.delete_user(ctx, tenant_id, user.id)
