"""Domains of a tenant: add one (and see the TXT record to publish, with a copy button),
verify it by a real DNS query, make it the default, remove it."""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import Response

from tenantry.api.schemas.directory import DomainIn
from tenantry.directory import domains
from tenantry.models.domains import DomainStatus
from tenantry.web.forms import parse_form
from tenantry.web.pages import Posted, SignedIn, page_tenant, redirect, render_admin, router

pages = router()


@pages.get("/admin/{tid}/domains")
def domain_list(request: Request, ctx: SignedIn, tid: uuid.UUID) -> Response:
    tenant = page_tenant(ctx, tid)
    rows = domains.list_domains(ctx, tid)
    return render_admin(
        request,
        ctx,
        tenant,
        "admin/domains.html",
        domains=rows,
        txt={
            d.id: domains.verification_value(d) for d in rows if d.status != DomainStatus.VERIFIED
        },
    )


@pages.post("/admin/{tid}/domains")
def add_domain(request: Request, ctx: SignedIn, tid: uuid.UUID, form: Posted) -> Response:
    domain = domains.add_domain(ctx, tid, parse_form(form, DomainIn).name)
    return redirect(
        request,
        f"/admin/{tid}/domains#domain-{domain.id}",
        f"{domain.name} added. Publish the TXT record shown below, then choose Verify.",
    )


@pages.post("/admin/{tid}/domains/{name}/verify")
def verify(request: Request, ctx: SignedIn, tid: uuid.UUID, name: str, form: Posted) -> Response:
    domain = domains.verify_domain(ctx, tid, name)
    return redirect(
        request, f"/admin/{tid}/domains", f"{domain.name} is verified: users can sign in with it."
    )


@pages.post("/admin/{tid}/domains/{name}/default")
def make_default(
    request: Request, ctx: SignedIn, tid: uuid.UUID, name: str, form: Posted
) -> Response:
    domain = domains.set_default(ctx, tid, name)
    return redirect(request, f"/admin/{tid}/domains", f"{domain.name} is now the default.")


@pages.post("/admin/{tid}/domains/{name}/remove")
def remove(request: Request, ctx: SignedIn, tid: uuid.UUID, name: str, form: Posted) -> Response:
    domains.remove_domain(ctx, tid, name)
    return redirect(request, f"/admin/{tid}/domains", f"{domains.normalise(name)} removed.")
