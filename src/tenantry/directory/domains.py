"""Domains: add (gets a TXT record to publish), verify by a real DNS query, default, remove."""

from __future__ import annotations

import re
import secrets
import uuid

import dns.exception
import dns.resolver
from sqlalchemy import select, update

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.audit import chain as audit
from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, InvalidInput, NotFound, Unavailable
from tenantry.models import Domain, User
from tenantry.models.domains import DomainCapability, DomainStatus
from tenantry.operations import webhooks

FQDN = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
TXT_PREFIX = "tenantry-verification="


def verification_value(domain: Domain) -> str:
    return TXT_PREFIX + domain.verification_token


def normalise(name: str) -> str:
    return name.strip().lower().rstrip(".")


def list_domains(ctx: Context, tenant_id: uuid.UUID) -> list[Domain]:
    access.require(ctx, tenant_id, Permission.DOMAINS_READ)
    return list(
        ctx.session.scalars(
            select(Domain)
            .where(Domain.tenant_id == tenant_id)
            .order_by(Domain.is_initial.desc(), Domain.name)
        )
    )


def _get(ctx: Context, tenant_id: uuid.UUID, name: str) -> Domain:
    domain = ctx.session.scalar(
        select(Domain).where(Domain.tenant_id == tenant_id, Domain.name == normalise(name))
    )
    if domain is None:
        raise NotFound("Domain not found.")
    return domain


def get_domain(ctx: Context, tenant_id: uuid.UUID, name: str) -> Domain:
    access.require(ctx, tenant_id, Permission.DOMAINS_READ)
    return _get(ctx, tenant_id, name)


def add_domain(ctx: Context, tenant_id: uuid.UUID, name: str) -> Domain:
    access.require(ctx, tenant_id, Permission.DOMAINS_ADD)
    name = normalise(name)
    if not FQDN.match(name):
        raise InvalidInput(f"'{name}' is not a domain name.", slug="invalid-domain")
    existing = ctx.session.scalars(select(Domain).where(Domain.name == name)).all()
    if any(d.tenant_id == tenant_id for d in existing):
        raise Conflict(f"{name} is already added.", slug="duplicate-domain")
    if any(d.status == DomainStatus.VERIFIED for d in existing):
        raise Conflict(f"{name} is verified by another organisation.", slug="domain-taken")
    suffix = ctx.settings.initial_domain_suffix
    if name == suffix or name.endswith("." + suffix):
        raise InvalidInput(
            f"Names under {suffix} are initial domains, given at sign-up.", slug="reserved-domain"
        )
    domain = Domain(
        tenant_id=tenant_id,
        name=name,
        status=DomainStatus.UNVERIFIED,
        verification_token=secrets.token_hex(16),
        capabilities=[],
        created_at=ctx.now,
    )
    ctx.session.add(domain)
    ctx.session.flush()
    audit.record(ctx, tenant_id, "domain.add", f"domain:{name}")
    return domain


def lookup_txt(settings: Settings, name: str) -> list[str]:
    """TXT strings published at ``name``, asked of the configured resolver."""
    if settings.dns_resolver:
        resolver = dns.resolver.Resolver(configure=False)
        host, _, port = settings.dns_resolver.rpartition(":")
        if not host:
            host, port = port, "53"
        resolver.nameservers = [host.strip("[]")]
        resolver.port = int(port)
    else:
        resolver = dns.resolver.Resolver()
    resolver.lifetime = settings.dns_timeout_seconds
    try:
        answer = resolver.resolve(name, "TXT", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
        raise Unavailable(f"The DNS resolver did not answer for {name}; try again later.") from exc
    return [b"".join(record.strings).decode(errors="replace") for record in answer]


def verify_domain(ctx: Context, tenant_id: uuid.UUID, name: str) -> Domain:
    access.require(ctx, tenant_id, Permission.DOMAINS_VERIFY)
    domain = _get(ctx, tenant_id, name)
    if domain.status == DomainStatus.VERIFIED:
        return domain
    expected = verification_value(domain)
    if expected not in lookup_txt(ctx.settings, domain.name):
        raise Conflict(
            f"No TXT record '{expected}' found at {domain.name} yet. DNS changes can take a "
            "while to appear; try again later.",
            slug="verification-failed",
        )
    taken = ctx.session.scalar(
        select(Domain.id).where(Domain.name == domain.name, Domain.status == DomainStatus.VERIFIED)
    )
    if taken:
        raise Conflict(f"{domain.name} is verified by another organisation.", slug="domain-taken")
    domain.status, domain.verified_at = DomainStatus.VERIFIED, ctx.now
    domain.capabilities = [DomainCapability.EMAIL]
    audit.record(ctx, tenant_id, "domain.verify", f"domain:{domain.name}")
    webhooks.domain_changed(ctx, webhooks.EventType.DOMAIN_VERIFIED, domain)
    return domain


def set_default(ctx: Context, tenant_id: uuid.UUID, name: str) -> Domain:
    access.require(ctx, tenant_id, Permission.DOMAINS_UPDATE)
    domain = _get(ctx, tenant_id, name)
    if domain.status != DomainStatus.VERIFIED:
        raise Conflict("Only a verified domain can be the default.", slug="not-verified")
    ctx.session.execute(
        update(Domain)
        .where(Domain.tenant_id == tenant_id, Domain.id != domain.id)
        .values(is_default=False)
        .execution_options(synchronize_session="fetch")
    )
    domain.is_default = True
    audit.record(ctx, tenant_id, "domain.set_default", f"domain:{domain.name}")
    return domain


def remove_domain(ctx: Context, tenant_id: uuid.UUID, name: str) -> None:
    access.require(ctx, tenant_id, Permission.DOMAINS_REMOVE)
    domain = _get(ctx, tenant_id, name)
    if domain.is_initial:
        raise Conflict("The initial domain can't be removed.", slug="initial-domain")
    if domain.is_default:
        raise Conflict("Make another domain the default first.", slug="default-domain")
    in_use = ctx.session.scalar(
        select(User.id)
        .where(User.tenant_id == tenant_id, User.user_principal_name.endswith("@" + domain.name))
        .limit(1)
    )
    if in_use:
        raise Conflict(
            f"Users still sign in with @{domain.name}; rename them first.", slug="domain-in-use"
        )
    ctx.session.delete(domain)
    audit.record(ctx, tenant_id, "domain.remove", f"domain:{domain.name}")
