"""Access templates (issue 14): a partner's groups and their roles, applied to many customers
at once. Partner administrators only (``partner.manage``); another partner's template is 404."""

from __future__ import annotations

import uuid

from fastapi import Response

from tenantry.access.roles import Role
from tenantry.api.deps import Ctx
from tenantry.api.routes import router
from tenantry.api.schemas.access_templates import (
    AccessTemplateIn,
    AccessTemplateOut,
    AccessTemplatePatch,
    PlanItemOut,
    PlanOut,
    SelectionBody,
    TemplateEntryOut,
)
from tenantry.api.schemas.common import ItemList
from tenantry.core.context import Context
from tenantry.models import AccessTemplate, AccessTemplateEntry
from tenantry.partners import access_templates as templates

api = router("access templates")


def template_out(ctx: Context, template: AccessTemplate) -> AccessTemplateOut:
    entries = templates.entries_of(ctx, [template.id])[template.id]
    return _out(template, entries)


def _out(
    template: AccessTemplate, entries: list[tuple[AccessTemplateEntry, str]]
) -> AccessTemplateOut:
    return AccessTemplateOut(
        id=template.id,
        name=template.name,
        description=template.description,
        created_at=template.created_at,
        updated_at=template.updated_at,
        applied_at=template.applied_at,
        assignments=[
            TemplateEntryOut(
                group_id=e.group_id,
                group_name=name,
                roles=[Role(r) for r in e.roles],
                eligible_roles=[Role(r) for r in e.eligible_roles],
                max_activation_minutes=e.max_activation_minutes,
                approval_required=e.approval_required,
                approver_group_id=e.approver_group_id,
            )
            for e, name in entries
        ],
    )


def plan_out(plan: templates.Plan) -> PlanOut:
    return PlanOut(
        template_id=plan.template_id,
        template_name=plan.template_name,
        unapply=plan.unapply,
        counts=plan.counts,
        items=[PlanItemOut.model_validate(vars(item)) for item in plan.items],
    )


@api.get("/partner/access-templates", response_model=ItemList[AccessTemplateOut])
def list_access_templates(ctx: Ctx) -> ItemList[AccessTemplateOut]:
    found = templates.list_templates(ctx)
    entries = templates.entries_of(ctx, [t.id for t in found])
    return ItemList(items=[_out(t, entries[t.id]) for t in found])


@api.post("/partner/access-templates", status_code=201, response_model=AccessTemplateOut)
def create_access_template(body: AccessTemplateIn, ctx: Ctx) -> AccessTemplateOut:
    """Which of the partner's security groups get which standing and eligible roles; nothing
    changes in any customer until it is applied."""
    template = templates.create_template(
        ctx, body.name, body.description, [e.to_terms() for e in body.assignments]
    )
    return template_out(ctx, template)


@api.get("/partner/access-templates/{tid}", response_model=AccessTemplateOut)
def get_access_template(tid: uuid.UUID, ctx: Ctx) -> AccessTemplateOut:
    return template_out(ctx, templates.get_template(ctx, tid))


@api.patch("/partner/access-templates/{tid}", response_model=AccessTemplateOut)
def update_access_template(
    tid: uuid.UUID, body: AccessTemplatePatch, ctx: Ctx
) -> AccessTemplateOut:
    """Customers change only when the template is applied again (preview first)."""
    template = templates.update_template(
        ctx,
        tid,
        name=body.name,
        description=body.description,
        entries=None if body.assignments is None else [e.to_terms() for e in body.assignments],
    )
    return template_out(ctx, template)


@api.delete("/partner/access-templates/{tid}", status_code=204)
def delete_access_template(tid: uuid.UUID, ctx: Ctx) -> Response:
    """What the template made stays (unapply first to remove it)."""
    templates.delete_template(ctx, tid)
    return Response(status_code=204)


@api.post("/partner/access-templates/{tid}/preview", response_model=PlanOut)
def preview_access_template(tid: uuid.UUID, body: SelectionBody, ctx: Ctx) -> PlanOut:
    """What applying would change in the selected customers, changing nothing."""
    return plan_out(templates.plan(ctx, tid, body.selection.to_selection()))


@api.post("/partner/access-templates/{tid}/apply", response_model=PlanOut)
def apply_access_template(tid: uuid.UUID, body: SelectionBody, ctx: Ctx) -> PlanOut:
    """Apply to the selected customers: planned afresh, then exactly that done."""
    return plan_out(templates.apply(ctx, tid, body.selection.to_selection()))


@api.post("/partner/access-templates/{tid}/unapply", response_model=PlanOut)
def unapply_access_template(tid: uuid.UUID, body: SelectionBody, ctx: Ctx) -> PlanOut:
    """Remove what this template made in the selected customers, nothing else."""
    return plan_out(templates.unapply(ctx, tid, body.selection.to_selection()))
