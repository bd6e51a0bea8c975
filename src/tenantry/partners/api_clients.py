"""Managing automation identities (API clients): a partner's clients, which act in customers
through the partner's groups, and a tenant's own clients, which hold roles at home
(README "Automation identities"; tokens come from ``identity.oauth``).

Both kinds share one model and one set of rules, so they live together here, above the
directory they read (groups, roles):

* **Member path only, by a person.** A tenant's clients are reached only by its own
  administrators: ``roles.assign`` on the member path (never on behalf: a partner can't mint
  an app in its customer, however much it may do there); a partner's clients need the partner
  programme (``partner.manage``) and ``roles.assign`` in the partner, as agents do. A client
  never manages clients.
* **No more than a person could give.** A partner client joins only the partner's own security
  groups; putting it in a group is a change of that group's power, so it needs what changing
  an agent's level needs. A tenant client is never given Global Administrator, and no client
  exercises it (``access.CLIENTS_NEVER_HOLD``).
* **Audited** in the client's tenant: created, changed, disabled, enabled, secret rotated,
  deleted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from tenantry import access
from tenantry.access.roles import Permission, Role
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, InvalidInput, NotFound
from tenantry.core.pagination import Page, paginate
from tenantry.identity import clients as credentials
from tenantry.models import (
    ApiClient,
    ApiClientGroup,
    ApiClientKind,
    ApiClientRole,
    Group,
    GroupKind,
    Tenant,
)
from tenantry.partners import enrolment as partners

DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)
MANAGED_AT_HOME = (
    "API clients are managed only by the organisation's own administrators, never on behalf "
    "of it: an app made by a partner would outlive the relationship."
)
NO_GLOBAL_ADMINISTRATOR = (
    "An API client can't be given Global Administrator: a secret or key in a script is a "
    "standing credential with no person behind each use, so the role that changes who the "
    "administrators are stays with people who sign in with a second factor. Give the app "
    "the narrower roles it needs."
)


@dataclass
class ClientChanges:
    """What a PATCH asks to change; a field left out (not in ``given``) stays as it is."""

    given: set[str] = field(default_factory=set)
    name: str | None = None
    enabled: bool | None = None
    group_ids: list[uuid.UUID] | None = None
    roles: list[Role] | None = None
    allowed_ips: list[str] | None = None
    expires_at: datetime | None = None
    public_jwk: dict[str, Any] | None = None


@dataclass(frozen=True)
class Made:
    """A client just made or given a new secret: the secret is shown this once."""

    client: ApiClient
    secret: str | None


# --- who may manage which clients --------------------------------------------------------


def _partner(ctx: Context) -> Tenant:
    """The caller's partner tenant, managed by one of its own administrators (a person)."""
    partner = partners.require_partner(ctx)
    access.require(ctx, partner.id, Permission.ROLES_ASSIGN)
    ctx.require_user()
    return partner


ARMS_AN_APP = (
    "Denied: a partner's app acts on behalf of its customers with a token that counts as "
    "multi-factor (and, with a key, as phishing-resistant), so making it, giving it groups, a "
    "key or a secret, or enabling it needs a sign-in that could act on behalf itself. "
)


def _may_arm(ctx: Context, partner: Tenant) -> None:
    """A partner's client acts on behalf like an agent of its groups, with a token that counts
    as multi-factor: whoever makes it or adds to its power must hold a sign-in that would not
    be held back as an agent's (``access.second_factor_held_back``), or a password-only or
    relayed TOTP session would mint the power its own sign-in is refused."""
    why = access.second_factor_held_back(ctx.session, ctx.require_principal())
    if why is not None:
        decision = access.decide(ctx, partner.id)
        raise access.deny(ctx, decision, Permission.PARTNER_MANAGE, ARMS_AN_APP + why)


def _tenant(ctx: Context, tenant_id: uuid.UUID) -> Tenant:
    """The tenant, managed on its member path by one of its administrators (a person)."""
    decision = access.require(ctx, tenant_id, Permission.ROLES_ASSIGN)
    if decision.delegated:
        raise access.deny(ctx, decision, Permission.ROLES_ASSIGN, f"Denied: {MANAGED_AT_HOME}")
    ctx.require_user()
    tenant = ctx.session.get(Tenant, tenant_id)
    assert tenant is not None
    return tenant


def _one(ctx: Context, tenant: Tenant, kind: ApiClientKind, client_id: uuid.UUID) -> ApiClient:
    client = ctx.session.get(ApiClient, client_id)
    if client is None or client.tenant_id != tenant.id or client.kind != kind:
        raise NotFound("API client not found.")
    return client


# --- what a client may be given ----------------------------------------------------------


def _partner_groups(ctx: Context, partner: Tenant, group_ids: list[uuid.UUID]) -> list[Group]:
    """The partner's own security groups (agent groups or others), each once."""
    wanted = list(dict.fromkeys(group_ids))
    if not wanted:
        raise InvalidInput("Put the client in at least one of the partner's groups.")
    found = {
        g.id: g
        for g in ctx.session.scalars(
            select(Group).where(Group.id.in_(wanted), Group.tenant_id == partner.id)
        )
    }
    missing = [str(g) for g in wanted if g not in found]
    if missing:
        raise NotFound(f"Group not found: {', '.join(missing)}.")
    for group in found.values():
        if group.kind != GroupKind.SECURITY:
            raise InvalidInput(f"'{group.name}' is a distribution group: use a security group.")
    return [found[g] for g in wanted]


def _tenant_roles(roles: list[Role]) -> list[Role]:
    chosen = sorted(set(roles), key=list(Role).index)
    if not chosen:
        raise InvalidInput("Give the client at least one role.")
    if any(r in access.CLIENTS_NEVER_HOLD for r in chosen):
        raise InvalidInput(NO_GLOBAL_ADMINISTRATOR, slug="global-administrator-not-for-clients")
    return chosen


def _expiry(ctx: Context, expires_at: datetime | None) -> datetime | None:
    if expires_at is None:
        return None
    try:
        expires_at = expires_at.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"{expires_at.isoformat()} is out of range.") from None
    if expires_at <= ctx.now:
        raise InvalidInput("expires_at must be in the future.")
    return expires_at


def _name(ctx: Context, tenant: Tenant, name: str, client: ApiClient | None = None) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("Give the client a name.")
    taken = ctx.session.scalar(
        select(ApiClient.id).where(ApiClient.tenant_id == tenant.id, ApiClient.name == name)
    )
    if taken is not None and (client is None or taken != client.id):
        raise Conflict(f"{tenant.name} already has an API client named '{name}'.", slug="duplicate")
    return name


# --- reading -----------------------------------------------------------------------------


def partner_clients(ctx: Context, cursor: str | None, limit: int) -> Page[ApiClient]:
    partner = _partner(ctx)
    return _page(ctx, partner, ApiClientKind.PARTNER, cursor, limit)


def tenant_clients(
    ctx: Context, tenant_id: uuid.UUID, cursor: str | None, limit: int
) -> Page[ApiClient]:
    tenant = _tenant(ctx, tenant_id)
    return _page(ctx, tenant, ApiClientKind.TENANT, cursor, limit)


def _page(
    ctx: Context, tenant: Tenant, kind: ApiClientKind, cursor: str | None, limit: int
) -> Page[ApiClient]:
    stmt = select(ApiClient).where(ApiClient.tenant_id == tenant.id, ApiClient.kind == kind)
    return paginate(ctx.session, stmt, [ApiClient.created_at, ApiClient.id], cursor, limit)


def partner_client(ctx: Context, client_id: uuid.UUID) -> ApiClient:
    return _one(ctx, _partner(ctx), ApiClientKind.PARTNER, client_id)


def tenant_client(ctx: Context, tenant_id: uuid.UUID, client_id: uuid.UUID) -> ApiClient:
    return _one(ctx, _tenant(ctx, tenant_id), ApiClientKind.TENANT, client_id)


def groups_of(ctx: Context, clients: list[ApiClient]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Each client's group ids, for a page of clients in one query."""
    out: dict[uuid.UUID, list[uuid.UUID]] = {c.id: [] for c in clients}
    for client_id, group_id in ctx.session.execute(
        select(ApiClientGroup.client_id, ApiClientGroup.group_id)
        .where(ApiClientGroup.client_id.in_(list(out)))
        .order_by(ApiClientGroup.added_at, ApiClientGroup.group_id)
    ):
        out[client_id].append(group_id)
    return out


def roles_of(ctx: Context, clients: list[ApiClient]) -> dict[uuid.UUID, list[Role]]:
    """Each client's roles, for a page of clients in one query."""
    out: dict[uuid.UUID, list[Role]] = {c.id: [] for c in clients}
    for client_id, role in ctx.session.execute(
        select(ApiClientRole.client_id, ApiClientRole.role).where(
            ApiClientRole.client_id.in_(list(out))
        )
    ):
        if role in Role._value2member_map_:
            out[client_id].append(Role(role))
    for roles in out.values():
        roles.sort(key=list(Role).index)
    return out


# --- making and changing -----------------------------------------------------------------


def create_partner_client(
    ctx: Context,
    *,
    name: str,
    group_ids: list[uuid.UUID],
    allowed_ips: list[str] | None = None,
    expires_at: datetime | None = None,
    public_jwk: dict[str, Any] | None = None,
) -> Made:
    partner = _partner(ctx)
    _may_arm(ctx, partner)
    groups = _partner_groups(ctx, partner, group_ids)
    made = _create(ctx, partner, ApiClientKind.PARTNER, name, allowed_ips, expires_at, public_jwk)
    for group in groups:
        ctx.session.add(
            ApiClientGroup(client_id=made.client.id, group_id=group.id, added_at=ctx.now)
        )
    ctx.session.flush()
    _audit(ctx, made.client, "api_client.create", groups=[g.name for g in groups])
    return made


def create_tenant_client(
    ctx: Context,
    tenant_id: uuid.UUID,
    *,
    name: str,
    roles: list[Role],
    allowed_ips: list[str] | None = None,
    expires_at: datetime | None = None,
    public_jwk: dict[str, Any] | None = None,
) -> Made:
    tenant = _tenant(ctx, tenant_id)
    chosen = _tenant_roles(roles)
    made = _create(ctx, tenant, ApiClientKind.TENANT, name, allowed_ips, expires_at, public_jwk)
    for role in chosen:
        ctx.session.add(ApiClientRole(client_id=made.client.id, role=role.value, added_at=ctx.now))
    ctx.session.flush()
    _audit(ctx, made.client, "api_client.create", roles=[r.value for r in chosen])
    return made


def _create(
    ctx: Context,
    tenant: Tenant,
    kind: ApiClientKind,
    name: str,
    allowed_ips: list[str] | None,
    expires_at: datetime | None,
    public_jwk: dict[str, Any] | None,
) -> Made:
    jwk = credentials.stored_jwk(public_jwk) if public_jwk is not None else None
    secret = None if jwk is not None else credentials.new_secret()
    client = ApiClient(
        tenant_id=tenant.id,
        kind=kind,
        name=_name(ctx, tenant, name),
        client_id=credentials.new_client_id(),
        secret_hash=credentials.digest(secret) if secret else None,
        public_jwk=jwk,
        allowed_ips=credentials.networks(allowed_ips or []),
        expires_at=_expiry(ctx, expires_at),
        enabled=True,
        created_at=ctx.now,
        updated_at=ctx.now,
        created_by_user_id=ctx.require_user(),
    )
    ctx.session.add(client)
    ctx.session.flush()
    return Made(client, secret)


def update_partner_client(ctx: Context, client_id: uuid.UUID, changes: ClientChanges) -> ApiClient:
    partner = _partner(ctx)
    client = _one(ctx, partner, ApiClientKind.PARTNER, client_id)
    if changes.roles is not None:
        raise InvalidInput("A partner's client acts through groups: change group_ids.")
    # Renaming and disabling take no power; anything else may add to it.
    enabling = "enabled" in changes.given and changes.enabled and not client.enabled
    if enabling or changes.group_ids is not None or changes.given - {"name", "enabled"}:
        _may_arm(ctx, partner)
    done: dict[str, Any] = {}
    if changes.group_ids is not None:
        groups = _partner_groups(ctx, partner, changes.group_ids)
        ctx.session.execute(delete(ApiClientGroup).where(ApiClientGroup.client_id == client.id))
        for group in groups:
            ctx.session.add(
                ApiClientGroup(client_id=client.id, group_id=group.id, added_at=ctx.now)
            )
        done["groups"] = [g.name for g in groups]
    return _update(ctx, partner, client, changes, done)


def update_tenant_client(
    ctx: Context, tenant_id: uuid.UUID, client_id: uuid.UUID, changes: ClientChanges
) -> ApiClient:
    tenant = _tenant(ctx, tenant_id)
    client = _one(ctx, tenant, ApiClientKind.TENANT, client_id)
    if changes.group_ids is not None:
        raise InvalidInput("An organisation's own client holds roles: change roles.")
    done: dict[str, Any] = {}
    if changes.roles is not None:
        chosen = _tenant_roles(changes.roles)
        ctx.session.execute(delete(ApiClientRole).where(ApiClientRole.client_id == client.id))
        for role in chosen:
            ctx.session.add(ApiClientRole(client_id=client.id, role=role.value, added_at=ctx.now))
        done["roles"] = [r.value for r in chosen]
    return _update(ctx, tenant, client, changes, done)


def _update(
    ctx: Context, tenant: Tenant, client: ApiClient, changes: ClientChanges, done: dict[str, Any]
) -> ApiClient:
    given = changes.given
    if "name" in given and changes.name is not None and changes.name != client.name:
        done["name"] = {"from": client.name, "to": _name(ctx, tenant, changes.name, client)}
        client.name = done["name"]["to"]
    if "allowed_ips" in given:
        client.allowed_ips = credentials.networks(changes.allowed_ips or [])
        done["allowed_ips"] = client.allowed_ips
    if "expires_at" in given:
        client.expires_at = _expiry(ctx, changes.expires_at)
        done["expires_at"] = client.expires_at.isoformat() if client.expires_at else None
    if "public_jwk" in given:
        # A new key (or none) ends the tokens the old one got; with a key there is no secret.
        client.public_jwk = (
            credentials.stored_jwk(changes.public_jwk) if changes.public_jwk is not None else None
        )
        if client.public_jwk is not None:
            client.secret_hash = client.previous_secret_hash = None
            client.previous_secret_until = None
        credentials.revoke_client_tokens(ctx, client)
        done["public_jwk"] = "replaced" if client.public_jwk is not None else "removed"
    action = "api_client.update"
    if "enabled" in given and changes.enabled is not None and changes.enabled != client.enabled:
        client.enabled = changes.enabled
        action = "api_client.enable" if client.enabled else "api_client.disable"
        if not client.enabled:
            credentials.revoke_client_tokens(ctx, client)
    client.updated_at = ctx.now
    ctx.session.flush()
    _audit(ctx, client, action, **done)
    return client


def rotate_partner_secret(
    ctx: Context, client_id: uuid.UUID, overlap: timedelta | None = None
) -> Made:
    partner = _partner(ctx)
    client = _one(ctx, partner, ApiClientKind.PARTNER, client_id)
    _may_arm(ctx, partner)
    return _rotate(ctx, client, overlap)


def rotate_tenant_secret(
    ctx: Context, tenant_id: uuid.UUID, client_id: uuid.UUID, overlap: timedelta | None = None
) -> Made:
    client = _one(ctx, _tenant(ctx, tenant_id), ApiClientKind.TENANT, client_id)
    return _rotate(ctx, client, overlap)


def _rotate(ctx: Context, client: ApiClient, overlap: timedelta | None) -> Made:
    """A new secret, shown once; the current one keeps working for ``overlap`` (24 hours by
    default; zero ends it now, with the tokens it got) so the app can be redeployed."""
    if client.public_jwk is not None:
        raise Conflict(
            "This client signs with a key (private_key_jwt): replace its public_jwk instead.",
            slug="client-uses-a-key",
        )
    overlap = DEFAULT_OVERLAP if overlap is None else overlap
    if overlap < timedelta() or overlap > MAX_OVERLAP:
        raise InvalidInput("The overlap is between 0 seconds and 7 days.")
    secret = credentials.new_secret()
    keep = client.secret_hash is not None and overlap > timedelta()
    client.previous_secret_hash = client.secret_hash if keep else None
    client.previous_secret_until = ctx.now + overlap if keep else None
    client.secret_hash = credentials.digest(secret)
    client.updated_at = ctx.now
    if not keep:
        credentials.revoke_client_tokens(ctx, client)
    ctx.session.flush()
    _audit(
        ctx,
        client,
        "api_client.rotate_secret",
        previous_secret_until=client.previous_secret_until.isoformat()
        if client.previous_secret_until
        else None,
    )
    return Made(client, secret)


def delete_partner_client(ctx: Context, client_id: uuid.UUID) -> None:
    _delete(ctx, _one(ctx, _partner(ctx), ApiClientKind.PARTNER, client_id))


def delete_tenant_client(ctx: Context, tenant_id: uuid.UUID, client_id: uuid.UUID) -> None:
    _delete(ctx, _one(ctx, _tenant(ctx, tenant_id), ApiClientKind.TENANT, client_id))


def _delete(ctx: Context, client: ApiClient) -> None:
    """Gone with its tokens (the rows cascade): the next request with one is refused."""
    _audit(ctx, client, "api_client.delete")
    ctx.session.delete(client)
    ctx.session.flush()


def _audit(ctx: Context, client: ApiClient, action: str, **details: Any) -> None:
    audit.record(
        ctx,
        client.tenant_id,
        action,
        f"api_client:{client.id}",
        details={"name": client.name, "client_id": client.client_id, **details},
    )
