"""Customer groups (/partner/customer-groups) and a customer's custom fields
(/partner/customers/{tid}/fields): thin routes over partners/customer_groups.py, which says
who may do what (admins change, agents read)."""

from __future__ import annotations

import uuid

from fastapi import Response

from tenantry.api.converters import customer_out
from tenantry.api.deps import Ctx, Cursor, Limit
from tenantry.api.routes import router
from tenantry.api.schemas.common import ItemList
from tenantry.api.schemas.customer_groups import (
    CustomerFieldsIn,
    CustomerFieldsOut,
    CustomerGroupIn,
    CustomerGroupOut,
    CustomerGroupPatch,
    RulePreviewIn,
    RulePreviewOut,
)
from tenantry.api.schemas.partners import CustomerOut
from tenantry.core.context import Context
from tenantry.models import CustomerGroup
from tenantry.partners import customer_groups as service

api = router("customer groups")


def _out(ctx: Context, groups: list[CustomerGroup]) -> list[CustomerGroupOut]:
    chosen = service.chosen_members(ctx, groups)
    return [
        CustomerGroupOut(
            id=g.id,
            name=g.name,
            description=g.description,
            kind=g.kind,
            rule=g.rule,
            tenant_ids=chosen[g.id],
            created_at=g.created_at,
            updated_at=g.updated_at,
        )
        for g in groups
    ]


@api.post("/partner/customer-groups", status_code=201, response_model=CustomerGroupOut)
def create_group(body: CustomerGroupIn, ctx: Ctx) -> CustomerGroupOut:
    """A partner admin makes a group: static (``tenant_ids``) or dynamic (``rule``). 409 when
    the partner has a group of that name."""
    group = service.create_group(
        ctx,
        name=body.name,
        description=body.description,
        tenant_ids=body.tenant_ids,
        rule=body.rule,
    )
    return _out(ctx, [group])[0]


@api.get("/partner/customer-groups", response_model=ItemList[CustomerGroupOut])
def list_groups(ctx: Ctx, cursor: Cursor = None, limit: Limit = 50) -> ItemList[CustomerGroupOut]:
    page = service.list_groups(ctx, cursor=cursor, limit=limit)
    return ItemList(items=_out(ctx, page.items), next_cursor=page.next_cursor)


@api.post("/partner/customer-groups/preview", response_model=RulePreviewOut)
def preview_rule(body: RulePreviewIn, ctx: Ctx, limit: Limit = 50) -> RulePreviewOut:
    """What a rule selects for the caller now, without saving it (partner admins)."""
    shown = service.preview(ctx, body.rule, limit=limit)
    return RulePreviewOut(count=shown.count, items=[customer_out(s) for s in shown.page.items])


@api.get("/partner/customer-groups/{gid}", response_model=CustomerGroupOut)
def get_group(gid: uuid.UUID, ctx: Ctx) -> CustomerGroupOut:
    return _out(ctx, [service.get_group(ctx, gid)])[0]


@api.patch("/partner/customer-groups/{gid}", response_model=CustomerGroupOut)
def patch_group(gid: uuid.UUID, body: CustomerGroupPatch, ctx: Ctx) -> CustomerGroupOut:
    changes = service.GroupChanges(
        given=set(body.model_fields_set),
        name=body.name,
        description=body.description,
        tenant_ids=body.tenant_ids,
        rule=body.rule,
    )
    return _out(ctx, [service.update_group(ctx, gid, changes)])[0]


@api.delete("/partner/customer-groups/{gid}", status_code=204)
def delete_group(gid: uuid.UUID, ctx: Ctx) -> Response:
    service.delete_group(ctx, gid)
    return Response(status_code=204)


@api.get("/partner/customer-groups/{gid}/customers", response_model=ItemList[CustomerOut])
def group_customers(
    gid: uuid.UUID, ctx: Ctx, cursor: Cursor = None, limit: Limit = 50
) -> ItemList[CustomerOut]:
    """The group's customers as the caller sees them (paged like /partner/customers)."""
    page = service.members(ctx, gid, cursor=cursor, limit=limit)
    return ItemList(items=[customer_out(s) for s in page.items], next_cursor=page.next_cursor)


@api.get("/partner/customers/{tid}/fields", response_model=CustomerFieldsOut)
def get_fields(tid: uuid.UUID, ctx: Ctx) -> CustomerFieldsOut:
    return CustomerFieldsOut(fields=service.customer_fields(ctx, tid))


@api.put("/partner/customers/{tid}/fields", response_model=CustomerFieldsOut)
def put_fields(tid: uuid.UUID, body: CustomerFieldsIn, ctx: Ctx) -> CustomerFieldsOut:
    """Replace the partner's custom fields on a customer (partner admins)."""
    return CustomerFieldsOut(fields=service.set_customer_fields(ctx, tid, body.fields))
