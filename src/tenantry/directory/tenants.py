"""Tenants: sign-up (tenant + initial domain + first Global Administrator) and the profile."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tenantry import access
from tenantry.access.roles import Permission, Role
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, InvalidInput, NotFound
from tenantry.identity import passwords
from tenantry.models import Domain, RoleAssignment, Tenant, User
from tenantry.models.domains import DomainCapability, DomainStatus

LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
PROFILE_FIELDS = (
    "name",
    "street",
    "city",
    "postal_code",
    "country",
    "phone",
    "technical_contact_email",
)


@dataclass(frozen=True)
class NewTenant:
    tenant: Tenant
    admin: User


def initial_domain_name(ctx: Context, label: str) -> str:
    label = label.strip().lower()
    suffix = "." + ctx.settings.initial_domain_suffix
    if label.endswith(suffix):
        label = label[: -len(suffix)]
    if not LABEL.match(label):
        raise InvalidInput(
            "The initial domain is a label of letters, digits and hyphens "
            f"(for example 'contoso', giving contoso{suffix}).",
            slug="invalid-domain",
        )
    return label + suffix


def create_tenant(
    ctx: Context,
    *,
    organization_name: str,
    initial_domain: str,
    admin_password: str,
    admin_display_name: str | None = None,
    admin_name: str = "admin",
    contact: dict[str, Any] | None = None,
    must_change_password: bool = False,
) -> NewTenant:
    """A new organisation with its initial domain and its first Global Administrator."""
    name = clean_name(organization_name)
    if not name:
        raise InvalidInput("The organisation needs a name.")
    domain_name = initial_domain_name(ctx, initial_domain)
    passwords.check_policy(admin_password)
    taken = ctx.session.scalar(
        select(Domain.id).where(Domain.name == domain_name, Domain.status == DomainStatus.VERIFIED)
    )
    if taken:
        raise Conflict(f"The domain {domain_name} is already taken.", slug="domain-taken")
    tenant = Tenant(
        id=uuid.uuid4(), name=name, created_at=ctx.now, updated_at=ctx.now, **(contact or {})
    )
    ctx.session.add(tenant)
    ctx.session.flush()
    ctx.session.add(
        Domain(
            tenant_id=tenant.id,
            name=domain_name,
            status=DomainStatus.VERIFIED,
            verification_token="",
            capabilities=[DomainCapability.EMAIL],
            is_initial=True,
            is_default=True,
            created_at=ctx.now,
            verified_at=ctx.now,
        )
    )
    upn = f"{admin_name}@{domain_name}"
    admin = User(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        user_principal_name=upn,
        display_name=(admin_display_name or "").strip() or f"{name} Administrator",
        password_hash=passwords.hash_password(ctx.settings, admin_password),
        must_change_password=must_change_password,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(admin)
    ctx.session.flush()
    ctx.session.add(
        RoleAssignment(
            tenant_id=tenant.id,
            role=Role.GLOBAL_ADMINISTRATOR.value,
            user_id=admin.id,
            created_at=ctx.now,
        )
    )
    audit.record(
        ctx,
        tenant.id,
        "tenant.create",
        f"tenant:{tenant.id}",
        details={"name": name, "initial_domain": domain_name, "admin": upn},
    )
    return NewTenant(tenant, admin)


def lock_tenant(ctx: Context, tenant_id: uuid.UUID) -> None:
    """Queue behind other transactions that hold the tenant's row lock, for rules counted over
    many rows (the last Global Administrator, one trial per product): on PostgreSQL each such
    check then runs after the previous writer committed. SQLite already serialises writers.
    FOR NO KEY UPDATE, so rows that merely reference the tenant are still inserted freely."""
    ctx.session.execute(
        select(Tenant.id).where(Tenant.id == tenant_id).with_for_update(key_share=True)
    )


def get_tenant(ctx: Context, tenant_id: uuid.UUID) -> Tenant:
    access.require(ctx, tenant_id, Permission.TENANT_READ)
    tenant = ctx.session.get(Tenant, tenant_id)
    assert tenant is not None
    return tenant


def update_tenant(ctx: Context, tenant_id: uuid.UUID, changes: dict[str, Any]) -> Tenant:
    access.require(ctx, tenant_id, Permission.TENANT_UPDATE)
    tenant = ctx.session.get(Tenant, tenant_id)
    assert tenant is not None
    changed = {k: v for k, v in changes.items() if k in PROFILE_FIELDS and v is not None}
    if "name" in changed:
        changed["name"] = clean_name(str(changed["name"]))
        if not changed["name"]:
            raise InvalidInput("The organisation needs a name.")
    if tenant.is_partner and "name" in changed:
        claim_partner_name(ctx, tenant, str(changed["name"]))
    for key, value in changed.items():
        setattr(tenant, key, value.strip() if isinstance(value, str) else value)
    tenant.updated_at = ctx.now
    audit.record(
        ctx, tenant_id, "tenant.update", f"tenant:{tenant_id}", details={"fields": sorted(changed)}
    )
    return tenant


def partner_name_taken(name: str) -> Conflict:
    return Conflict(
        f"Another partner is called '{name}'; partner names are unique so that customers can "
        "tell partners apart.",
        slug="partner-name-taken",
    )


# Letters of other scripts that look like Latin ones (after case folding): a partner name
# written with them would pass as another's. Not all of Unicode TR39, the ones that matter.
CONFUSABLES = str.maketrans(
    {
        **dict(zip("авсеһіјкмнорѕтухԁԛԝӏ", "abcehijkmhopstyxdqwl", strict=True)),
        **dict(zip("αβεηικνορτυχ", "abenikvoptux", strict=True)),
    }
)


def clean_name(name: str) -> str:
    """NFKC, without invisible (format) characters and with single spaces: the name shown is
    the name checked."""
    normal = unicodedata.normalize("NFKC", name)
    visible = "".join(c for c in normal if unicodedata.category(c) != "Cf")
    return " ".join(visible.split())


def name_key(name: str) -> str:
    """What two partner names must not share: the cleaned name case-folded, look-alike
    letters of other scripts mapped to Latin."""
    return unicodedata.normalize("NFKC", clean_name(name).casefold()).translate(CONFUSABLES)


def claim_partner_name(ctx: Context, tenant: Tenant, name: str) -> None:
    """Give a partner (or a tenant becoming one) this name. Partner names are unique by
    ``name_key`` (case, width, invisible characters and look-alike letters aside): no partner
    passes itself off as another. The unique key column decides races; the lookup first only
    makes the usual clash a clear 409 before anything is written."""
    cleaned = clean_name(name) or name
    key = name_key(cleaned)
    with ctx.session.no_autoflush:
        clash = ctx.session.scalar(
            select(Tenant.id).where(Tenant.partner_name_key == key, Tenant.id != tenant.id)
        )
    if clash is not None:
        raise partner_name_taken(cleaned)
    tenant.name, tenant.partner_name_key = cleaned, key
    try:
        ctx.session.flush()
    except IntegrityError as exc:  # a concurrent rename or enrolment took the name first
        raise partner_name_taken(cleaned) from exc


def default_domain(ctx: Context, tenant_id: uuid.UUID) -> str:
    return default_domains(ctx, {tenant_id}).get(tenant_id, "")


def default_domains(ctx: Context, tenant_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each tenant's verified default domain, in one query for any number of tenants: a
    domain is proof of identity a name is not (shown beside a partner's name)."""
    if not tenant_ids:
        return {}
    rows = ctx.session.execute(
        select(Domain.tenant_id, Domain.name).where(
            Domain.tenant_id.in_(tenant_ids),
            Domain.is_default,
            Domain.status == DomainStatus.VERIFIED,
        )
    )
    return {tenant_id: name for tenant_id, name in rows}


def with_domain(name: str, domain: str) -> str:
    """'Fabrikam (fabrikam.example)': how a partner is named to customers."""
    return f"{name} ({domain})" if domain else name


def names(ctx: Context, tenant_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Display names of the tenants a page mentions (partners in an audit log, customers of
    relationships), in one query. Names only: callers have already been scoped."""
    if not tenant_ids:
        return {}
    rows = ctx.session.execute(select(Tenant.id, Tenant.name).where(Tenant.id.in_(tenant_ids)))
    return {tenant_id: name for tenant_id, name in rows}


def find_tenant(ctx: Context, reference: str) -> Tenant:
    """By id or by any verified domain (for the operator's CLI)."""
    try:
        tenant = ctx.session.get(Tenant, uuid.UUID(reference))
    except ValueError:
        tenant = ctx.session.scalar(
            select(Tenant)
            .join(Domain, Domain.tenant_id == Tenant.id)
            .where(Domain.name == reference.strip().lower(), Domain.status == DomainStatus.VERIFIED)
        )
    if tenant is None:
        raise NotFound(f"No tenant with id or domain '{reference}'.")
    return tenant
