"""The HTTP API under /api/v1 (the contract of docs/architecture.md §5): thin routes over
the domain services, RFC 9457 problems for every refusal."""

from __future__ import annotations

from fastapi import FastAPI

from tenantry.api import oauth, problems, scim
from tenantry.api.routes import (
    access_templates,
    activations,
    api_clients,
    audit,
    auth,
    billing,
    customer_groups,
    customer_partners,
    devices,
    domains,
    jobs,
    offers,
    partner,
    reports,
    roles,
    scim_tokens,
    services,
    support,
    tenants,
    users,
    webhooks,
)

PREFIX = "/api/v1"


def install(app: FastAPI) -> None:
    problems.install(app)
    for module in (
        auth,
        tenants,
        users,
        roles,
        domains,
        billing,
        support,
        devices,
        audit,
        customer_partners,
        offers,
        partner,
        activations,
        jobs,
        api_clients,
        webhooks,
        access_templates,
        services,
        scim_tokens,
        customer_groups,
        reports,
    ):
        app.include_router(module.api, prefix=PREFIX)
    app.include_router(oauth.api)  # /oauth2/...: OAuth's own place, not under the prefix
    app.include_router(scim.api)  # /scim/v2/{tid}/...: SCIM's own place (RFC 7644)
