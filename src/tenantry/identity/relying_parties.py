"""Services that sign people in with Tenantry (OpenID Connect relying parties): registering
them, their secrets, and what a token says about the person signing in (README "Services sign
in with Tenantry").

Two kinds. A *platform service* is registered by the operator (``tenantry service register``):
every tenant's people may sign in to it, and it is also a service of the health page (the
``services`` row of the same name, made if missing), whose health it may post itself. A
*tenant's app* is registered by one of the tenant's own administrators (``roles.assign`` on
the member path, never on behalf: an app a partner registered would outlive the
relationship) and signs in that tenant's people only.

Secrets are 32 random bytes behind a public prefix, stored as SHA-256 and compared in constant
time, like API clients' (``identity.clients``). A public client has no secret: PKCE alone.
"""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, InvalidInput, NotFound
from tenantry.identity import clients as credentials
from tenantry.models import (
    LicenseAssignment,
    RelyingParty,
    RelyingPartyKind,
    Service,
    Sku,
    Subscription,
    Tenant,
)
from tenantry.models.billing import SubscriptionStatus
from tenantry.models.health import HealthStatus

CLIENT_ID_PREFIX = "tnrys_"
MAX_URIS = 20
MAX_URI_LENGTH = 2000
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
MANAGED_AT_HOME = (
    "An organisation's apps are registered only by its own administrators, never on behalf "
    "of it: an app registered by a partner would outlive the relationship."
)


def new_client_id() -> str:
    return CLIENT_ID_PREFIX + secrets.token_hex(12)


def is_relying_party_id(client_id: str) -> bool:
    return client_id.startswith(CLIENT_ID_PREFIX)


def secret_matches(row: RelyingParty, secret: str) -> bool:
    if row.secret_hash is None or not secret.startswith(credentials.SECRET_PREFIX):
        return False
    if len(secret) > credentials.MAX_TOKEN_LENGTH:
        return False
    return hmac.compare_digest(row.secret_hash, credentials.digest(secret))


def redirect_uris(values: Iterable[str], what: str = "redirect URI") -> list[str]:
    """Absolute https URIs (http only to this machine, for development), no fragment: an
    authorization response goes only to a URI registered exactly like this."""
    out: list[str] = []
    for value in values:
        uri = value.strip()
        if not uri or len(uri) > MAX_URI_LENGTH:
            raise InvalidInput(f"A {what} must have 1 to {MAX_URI_LENGTH} characters.")
        parts = urlsplit(uri)
        if parts.fragment or "#" in uri:
            raise InvalidInput(f"A {what} may not have a fragment (#...): {uri}")
        host = (parts.hostname or "").lower()
        if not host or parts.scheme not in ("https", "http"):
            raise InvalidInput(f"A {what} must be an absolute https address: {uri}")
        if parts.scheme == "http" and host not in LOOPBACK:
            raise InvalidInput(f"A {what} must use https (http only for localhost): {uri}")
        if parts.username or parts.password:
            raise InvalidInput(f"A {what} may not carry a user name or password: {uri}")
        if uri not in out:
            out.append(uri)
    if len(out) > MAX_URIS:
        raise InvalidInput(f"Give at most {MAX_URIS} of each kind of URI.")
    return out


def _licence(ctx: Context, value: str | None) -> str | None:
    """A SKU id or a service plan (a service one of the SKUs includes)."""
    if value is None or not value.strip():
        return None
    wanted = value.strip()
    skus = list(ctx.session.scalars(select(Sku)))
    known = {s.id for s in skus} | {plan for s in skus for plan in s.services}
    if wanted not in known:
        raise InvalidInput(
            f"'{wanted}' is neither a SKU nor a service plan. Known: {', '.join(sorted(known))}."
        )
    return wanted


def _name(value: str) -> str:
    name = value.strip()
    if not 1 <= len(name) <= 128:
        raise InvalidInput("A service's name has 1 to 128 characters.")
    return name


def _service_id(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64]
    return slug or "service"


@dataclass(frozen=True)
class Registered:
    party: RelyingParty
    secret: str | None  # shown once; None for a public client


def _new(
    ctx: Context,
    *,
    kind: RelyingPartyKind,
    tenant_id: uuid.UUID | None,
    name: str,
    redirects: list[str],
    post_logout: list[str],
    required_license: str | None,
    public: bool,
) -> Registered:
    if not redirects:
        raise InvalidInput("Give at least one redirect URI.")
    secret = None if public else credentials.new_secret()
    party = RelyingParty(
        kind=kind,
        tenant_id=tenant_id,
        name=name,
        client_id=new_client_id(),
        secret_hash=None if secret is None else credentials.digest(secret),
        redirect_uris=redirects,
        post_logout_redirect_uris=post_logout,
        required_license=_licence(ctx, required_license),
        enabled=True,
        created_at=ctx.now,
        updated_at=ctx.now,
        created_by_user_id=ctx.principal.user_id if ctx.principal else None,
    )
    ctx.session.add(party)
    return Registered(party, secret)


# --- the operator's platform services ------------------------------------------------------


def register_platform_service(
    ctx: Context,
    name: str,
    redirects: list[str],
    post_logout: list[str],
    required_license: str | None = None,
    public: bool = False,
) -> Registered:
    """Operator (CLI): a service every tenant's people may sign in to, linked to the service
    of the same name on the health page (made if there is none)."""
    name = _name(name)
    taken = ctx.session.scalar(
        select(RelyingParty).where(
            RelyingParty.kind == RelyingPartyKind.PLATFORM,
            func.lower(RelyingParty.name) == name.lower(),
        )
    )
    if taken is not None:
        raise Conflict(f"A service named '{name}' is registered already.", slug="duplicate")
    service = ctx.session.scalar(
        select(Service).where(
            or_(func.lower(Service.name) == name.lower(), Service.id == _service_id(name))
        )
    )
    if service is None:
        service = Service(
            id=_service_id(name), name=name, status=HealthStatus.HEALTHY, updated_at=ctx.now
        )
        ctx.session.add(service)
    elif ctx.session.scalar(select(RelyingParty).where(RelyingParty.service_id == service.id)):
        raise Conflict(f"The service '{service.name}' is linked to another registration.")
    made = _new(
        ctx,
        kind=RelyingPartyKind.PLATFORM,
        tenant_id=None,
        name=name,
        redirects=redirect_uris(redirects),
        post_logout=redirect_uris(post_logout, "post-logout redirect URI"),
        required_license=required_license,
        public=public,
    )
    made.party.service_id = service.id
    ctx.session.flush()
    return made


def platform_services(ctx: Context) -> list[RelyingParty]:
    return list(
        ctx.session.scalars(
            select(RelyingParty)
            .where(RelyingParty.kind == RelyingPartyKind.PLATFORM)
            .order_by(RelyingParty.name)
        )
    )


def platform_service(ctx: Context, name_or_client_id: str) -> RelyingParty:
    row = ctx.session.scalar(
        select(RelyingParty).where(
            RelyingParty.kind == RelyingPartyKind.PLATFORM,
            or_(
                RelyingParty.client_id == name_or_client_id,
                func.lower(RelyingParty.name) == name_or_client_id.lower(),
            ),
        )
    )
    if row is None:
        raise NotFound(f"No registered service '{name_or_client_id}'.")
    return row


def rotate_secret(ctx: Context, party: RelyingParty) -> str:
    """A new secret at once; the old one stops working (tokens already issued live on)."""
    if party.secret_hash is None:
        raise InvalidInput("This is a public client: it has no secret (PKCE only).")
    secret = credentials.new_secret()
    party.secret_hash, party.updated_at = credentials.digest(secret), ctx.now
    return secret


def set_enabled(ctx: Context, party: RelyingParty, enabled: bool) -> None:
    """A disabled service gets no code and no token, and its refresh tokens stop working."""
    party.enabled, party.updated_at = enabled, ctx.now


# --- a tenant's own apps -------------------------------------------------------------------


def refusal(decision: access.Decision) -> str | None:
    """Why this decision may not manage the organisation's apps (None: it may), as
    ``_own_tenant`` would refuse: for a page that says so instead of offering its forms."""
    return access.at_home_refusal(decision, Permission.ROLES_ASSIGN, f"Denied: {MANAGED_AT_HOME}")


def _own_tenant(ctx: Context, tenant_id: uuid.UUID) -> Tenant:
    decision = access.require(ctx, tenant_id, Permission.ROLES_ASSIGN)
    if decision.delegated:
        raise access.deny(ctx, decision, Permission.ROLES_ASSIGN, f"Denied: {MANAGED_AT_HOME}")
    ctx.require_user()
    tenant = ctx.session.get(Tenant, tenant_id)
    assert tenant is not None
    return tenant


def _audit(ctx: Context, party: RelyingParty, action: str, **details: Any) -> None:
    assert party.tenant_id is not None
    audit.record(
        ctx,
        party.tenant_id,
        action,
        f"oidc_app:{party.id}",
        details={"name": party.name, "client_id": party.client_id, **details},
    )


def register_tenant_app(
    ctx: Context,
    tenant_id: uuid.UUID,
    name: str,
    redirects: list[str],
    post_logout: list[str],
    required_license: str | None = None,
    public: bool = False,
) -> Registered:
    tenant = _own_tenant(ctx, tenant_id)
    name = _name(name)
    if ctx.session.scalar(
        select(RelyingParty.id).where(
            RelyingParty.tenant_id == tenant.id, func.lower(RelyingParty.name) == name.lower()
        )
    ):
        raise Conflict(f"An app named '{name}' exists already.", slug="duplicate")
    made = _new(
        ctx,
        kind=RelyingPartyKind.TENANT,
        tenant_id=tenant.id,
        name=name,
        redirects=redirect_uris(redirects),
        post_logout=redirect_uris(post_logout, "post-logout redirect URI"),
        required_license=required_license,
        public=public,
    )
    ctx.session.flush()
    _audit(ctx, made.party, "oidc_app.register", public=public)
    return made


def tenant_apps(ctx: Context, tenant_id: uuid.UUID) -> list[RelyingParty]:
    _own_tenant(ctx, tenant_id)
    return list(
        ctx.session.scalars(
            select(RelyingParty)
            .where(RelyingParty.tenant_id == tenant_id)
            .order_by(RelyingParty.name)
        )
    )


def tenant_app(ctx: Context, tenant_id: uuid.UUID, app_id: uuid.UUID) -> RelyingParty:
    _own_tenant(ctx, tenant_id)
    row = ctx.session.get(RelyingParty, app_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound("App not found.")
    return row


def rotate_tenant_app_secret(ctx: Context, tenant_id: uuid.UUID, app_id: uuid.UUID) -> str:
    row = tenant_app(ctx, tenant_id, app_id)
    secret = rotate_secret(ctx, row)
    _audit(ctx, row, "oidc_app.rotate_secret")
    return secret


def delete_tenant_app(ctx: Context, tenant_id: uuid.UUID, app_id: uuid.UUID) -> None:
    row = tenant_app(ctx, tenant_id, app_id)
    _audit(ctx, row, "oidc_app.delete")
    ctx.session.delete(row)


# --- what a token says about the person ----------------------------------------------------


def licences_of(ctx: Context, user_id: uuid.UUID, tenant_id: uuid.UUID) -> list[str]:
    """The SKUs the user holds a licence of in the tenant (of a subscription not expired) and
    the service plans they include."""
    rows = ctx.session.execute(
        select(Sku.id, Sku.services, Subscription.status, Subscription.trial_ends_at)
        .join(Subscription, Subscription.sku_id == Sku.id)
        .join(LicenseAssignment, LicenseAssignment.subscription_id == Subscription.id)
        .where(
            LicenseAssignment.user_id == user_id,
            LicenseAssignment.tenant_id == tenant_id,
            Subscription.status != SubscriptionStatus.EXPIRED,
        )
    ).all()
    out: set[str] = set()
    for sku_id, services, status, trial_ends_at in rows:
        if status == SubscriptionStatus.TRIAL and trial_ends_at and trial_ends_at <= ctx.now:
            continue
        out.add(sku_id)
        out.update(services or [])
    return sorted(out)
