"""The organisation's profile, and the health of the services it uses."""

from __future__ import annotations

import uuid

from tenantry.api.converters import health_out
from tenantry.api.deps import Ctx
from tenantry.api.routes import router
from tenantry.api.schemas.directory import TenantOut, TenantPatch
from tenantry.api.schemas.support import HealthOut
from tenantry.core.context import Context
from tenantry.directory import tenants
from tenantry.models import Tenant
from tenantry.support import health

api = router("tenants")


def tenant_out(ctx: Context, tenant: Tenant) -> TenantOut:
    out = TenantOut.model_validate(tenant)
    out.default_domain = tenants.default_domain(ctx, tenant.id)
    return out


@api.get("/tenants/{tid}", response_model=TenantOut)
def get_tenant(tid: uuid.UUID, ctx: Ctx) -> TenantOut:
    return tenant_out(ctx, tenants.get_tenant(ctx, tid))


@api.patch("/tenants/{tid}", response_model=TenantOut)
def patch_tenant(tid: uuid.UUID, body: TenantPatch, ctx: Ctx) -> TenantOut:
    tenant = tenants.update_tenant(ctx, tid, body.model_dump(exclude_unset=True))
    return tenant_out(ctx, tenant)


@api.get("/tenants/{tid}/health", response_model=HealthOut)
def get_health(tid: uuid.UUID, ctx: Ctx) -> HealthOut:
    return HealthOut(services=[health_out(h) for h in health.tenant_health(ctx, tid)])
