"""Domains: add, verify by DNS, set default, remove."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Path, Response

from tenantry.api.deps import Ctx
from tenantry.api.routes import router
from tenantry.api.schemas.common import ItemList
from tenantry.api.schemas.directory import DomainIn, DomainOut, VerificationRecord
from tenantry.directory import domains
from tenantry.models import Domain
from tenantry.models.domains import DomainStatus

api = router("domains")
DomainName = Annotated[str, Path(min_length=1, max_length=253)]


def domain_out(domain: Domain) -> DomainOut:
    record = None
    if domain.status == DomainStatus.UNVERIFIED:
        record = VerificationRecord(name=domain.name, value=domains.verification_value(domain))
    return DomainOut(
        name=domain.name,
        status=domain.status,
        verification=record,
        capabilities=domain.capabilities,
        is_initial=domain.is_initial,
        is_default=domain.is_default,
        created_at=domain.created_at,
        verified_at=domain.verified_at,
    )


@api.get("/tenants/{tid}/domains", response_model=ItemList[DomainOut])
def list_domains(tid: uuid.UUID, ctx: Ctx) -> ItemList[DomainOut]:
    return ItemList(items=[domain_out(d) for d in domains.list_domains(ctx, tid)])


@api.post("/tenants/{tid}/domains", status_code=201, response_model=DomainOut)
def add_domain(tid: uuid.UUID, body: DomainIn, ctx: Ctx) -> DomainOut:
    return domain_out(domains.add_domain(ctx, tid, body.name))


@api.get("/tenants/{tid}/domains/{name}", response_model=DomainOut)
def get_domain(tid: uuid.UUID, name: DomainName, ctx: Ctx) -> DomainOut:
    return domain_out(domains.get_domain(ctx, tid, name))


@api.post("/tenants/{tid}/domains/{name}/verify", response_model=DomainOut)
def verify_domain(tid: uuid.UUID, name: DomainName, ctx: Ctx) -> DomainOut:
    return domain_out(domains.verify_domain(ctx, tid, name))


@api.post("/tenants/{tid}/domains/{name}/default", response_model=DomainOut)
def set_default(tid: uuid.UUID, name: DomainName, ctx: Ctx) -> DomainOut:
    return domain_out(domains.set_default(ctx, tid, name))


@api.delete("/tenants/{tid}/domains/{name}", status_code=204)
def remove_domain(tid: uuid.UUID, name: DomainName, ctx: Ctx) -> Response:
    domains.remove_domain(ctx, tid, name)
    return Response(status_code=204)
