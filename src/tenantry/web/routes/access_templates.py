"""Access templates in the Partner center (issue 14): the list, one template's groups and
roles, choosing customers, the preview of what applying changes, and the apply button.

Partner administrators only (``partner.manage``, checked by the service); the apply and
unapply forms post the same selection the preview showed, and the service plans again at
that moment, so a preview gone stale never applies what it no longer says."""

from __future__ import annotations

import uuid
from dataclasses import fields
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from tenantry.access.roles import Role
from tenantry.api.schemas.access_templates import AccessTemplateIn, TemplateEntryIn
from tenantry.api.schemas.selection import customer_selection_query
from tenantry.core.context import Context
from tenantry.core.errors import InvalidInput
from tenantry.models import Tenant
from tenantry.partners import access_templates as templates
from tenantry.partners import assignments, customer_groups
from tenantry.partners import enrolment as partners
from tenantry.partners.selection import CustomerSelection, partner_customers
from tenantry.web.forms import assignment_terms, optional_uuid, parse_form
from tenantry.web.pages import Posted, SignedIn, redirect, render, router

pages = router()
BASE = "/partner/access-templates"
# The choice of single customers lists at most this many; beyond, choose a customer group.
CUSTOMERS_LISTED = 1000


def _page(request: Request, ctx: Context, page: str, **values: Any) -> Response:
    partner = partners.require_partner(ctx)
    return render(request, ctx, page, partner=partner, section="access_templates", **values)


def _entry(form: dict[str, str]) -> TemplateEntryIn:
    """One group's terms from the form, read through the API's own input model."""
    return assignment_terms(form, TemplateEntryIn)


def _customers(ctx: Context, partner_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    return [
        (tid, name)
        for tid, name in ctx.session.execute(
            select(Tenant.id, Tenant.name)
            .where(Tenant.id.in_(partner_customers(partner_id).scalar_subquery()))
            .order_by(Tenant.name)
            .limit(CUSTOMERS_LISTED)
        ).all()
    ]


def _selection_fields(selection: CustomerSelection | None) -> list[tuple[str, str]]:
    """The selection as hidden form fields, so apply posts what the preview showed."""
    if selection is None:
        return []
    return [
        *(("group", str(g)) for g in selection.groups),
        *(("customer", str(c)) for c in selection.customers),
        *(("except_group", str(g)) for g in selection.except_groups),
        *(("except_customer", str(c)) for c in selection.except_customers),
    ]


@pages.get(BASE)
def template_list(request: Request, ctx: SignedIn) -> Response:
    found = templates.list_templates(ctx)
    entries = templates.entries_of(ctx, [t.id for t in found])
    return _page(
        request,
        ctx,
        "partner/access_templates.html",
        templates=found,
        entries=entries,
        groups=assignments.assignable_groups(ctx),
        roles=list(Role),
    )


@pages.post(BASE)
def create(request: Request, ctx: SignedIn, form: Posted) -> Response:
    entry = _entry(form)
    body = parse_form(form, AccessTemplateIn, assignments=[entry])
    made = templates.create_template(ctx, body.name, body.description, [entry.to_terms()])
    return redirect(request, f"{BASE}/{made.id}", f"Template '{made.name}' created.")


@pages.get(BASE + "/{tid}")
def template_page(
    request: Request,
    ctx: SignedIn,
    tid: uuid.UUID,
    selection: Annotated[CustomerSelection | None, Depends(customer_selection_query)],
    preview: bool = False,
) -> Response:
    """The template, the choice of customers and, once chosen, the preview."""
    template = templates.get_template(ctx, tid)
    plan = templates.plan(ctx, tid, selection) if preview else None
    return _page(
        request,
        ctx,
        "partner/access_template.html",
        access_template=template,
        entries=templates.entries_of(ctx, [tid])[tid],
        groups=assignments.assignable_groups(ctx),
        roles=list(Role),
        customers=_customers(ctx, template.partner_tenant_id),
        customer_groups=customer_groups.group_choices(ctx),
        customers_listed=CUSTOMERS_LISTED,
        selection=selection or CustomerSelection(),
        selection_fields=_selection_fields(selection),
        plan=plan,
    )


def _terms(ctx: Context, tid: uuid.UUID) -> list[templates.EntryTerms]:
    """The template's entries as they stand (its owner only: another partner's is 404)."""
    templates.get_template(ctx, tid)
    return [
        templates.EntryTerms(
            e.group_id,
            list(e.roles),
            list(e.eligible_roles),
            e.max_activation_minutes,
            e.approval_required,
            e.approver_group_id,
        )
        for e, _ in templates.entries_of(ctx, [tid])[tid]
    ]


@pages.post(BASE + "/{tid}/entries")
def add_entry(request: Request, ctx: SignedIn, tid: uuid.UUID, form: Posted) -> Response:
    """Add a group, or replace the terms of a group already in the template."""
    entry = _entry(form).to_terms()
    kept = [e for e in _terms(ctx, tid) if e.group_id != entry.group_id]
    templates.update_template(ctx, tid, entries=[*kept, entry])
    return redirect(request, f"{BASE}/{tid}", "Template saved; preview, then apply it.")


@pages.post(BASE + "/{tid}/entries/{gid}/remove")
def remove_entry(
    request: Request, ctx: SignedIn, tid: uuid.UUID, gid: uuid.UUID, form: Posted
) -> Response:
    kept = [e for e in _terms(ctx, tid) if e.group_id != gid]
    if not kept:
        raise InvalidInput("A template keeps at least one group: delete the template instead.")
    templates.update_template(ctx, tid, entries=kept)
    return redirect(request, f"{BASE}/{tid}", "Group removed; apply again to remove its access.")


@pages.post(BASE + "/{tid}/delete")
def delete(request: Request, ctx: SignedIn, tid: uuid.UUID, form: Posted) -> Response:
    templates.delete_template(ctx, tid)
    return redirect(request, BASE, "Template deleted; the access it gave stays.")


async def posted_selection(request: Request) -> CustomerSelection | None:
    """The selection posted back (the preview's hidden fields), named as in the query."""
    form = await request.form()

    def ids(name: str) -> tuple[uuid.UUID, ...]:
        found = []
        for value in form.getlist(name):
            parsed = optional_uuid(str(value), "A chosen customer or group is not valid.")
            if parsed is not None:
                found.append(parsed)
        return tuple(found)

    # Each field under its query-string name: groups -> group, except_customers -> ...
    selection = CustomerSelection(
        **{f.name: ids(f.name.removesuffix("s")) for f in fields(CustomerSelection)}
    )
    return None if selection == CustomerSelection() else selection


PostedSelection = Annotated[CustomerSelection | None, Depends(posted_selection)]


def _done(plan: templates.Plan, verb: str) -> str:
    counts = plan.counts
    return (
        f"{verb}: {counts[templates.PlanAction.CREATE]} created, "
        f"{counts[templates.PlanAction.UPDATE]} updated, "
        f"{counts[templates.PlanAction.REMOVE]} removed, "
        f"{counts[templates.PlanAction.UNCHANGED]} unchanged, "
        f"{counts[templates.PlanAction.SKIPPED]} skipped."
    )


@pages.post(BASE + "/{tid}/apply")
def apply(
    request: Request, ctx: SignedIn, tid: uuid.UUID, form: Posted, selection: PostedSelection
) -> Response:
    plan = templates.apply(ctx, tid, selection)
    return redirect(request, f"{BASE}/{tid}", _done(plan, "Applied"))


@pages.post(BASE + "/{tid}/unapply")
def unapply(
    request: Request, ctx: SignedIn, tid: uuid.UUID, form: Posted, selection: PostedSelection
) -> Response:
    plan = templates.unapply(ctx, tid, selection)
    return redirect(request, f"{BASE}/{tid}", _done(plan, "Unapplied"))
