"""Partner center pages for customer groups (list, create with a simple rule builder, edit,
delete, a group's members) and a customer's custom fields: thin pages over
partners/customer_groups.py, which says who may do what (partner admins change; agents
read). The rule builder turns rows of conditions into the rule language
(partners/customer_group_rules.py), and says which row is wrong in words."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select

from tenantry.access.roles import Role
from tenantry.api.schemas.customer_groups import CustomerGroupIn
from tenantry.core.errors import InvalidInput
from tenantry.models import Sku
from tenantry.models.customer_groups import CustomerGroupKind
from tenantry.models.partners import RelationshipStatus
from tenantry.partners import customer_groups as service
from tenantry.partners import enrolment as partners
from tenantry.partners import views as partner_views
from tenantry.partners.customer_group_rules import (
    RULE_ADAPTER,
    Comparison,
    ConditionKind,
    Includes,
    SeatMeasure,
)
from tenantry.web.forms import parse_form, readable_error
from tenantry.web.pages import Posted, SignedIn, redirect, render, router, ticked

pages = router()
PAGE = 50
ROWS = 5
CHOOSABLE = 200
FIELD_OPS = ("equals", "in", "exists", "missing")
LABELS = {
    ConditionKind.RELATIONSHIP_STATUS: "Relationship status is one of",
    ConditionKind.RELATIONSHIP_ENDS: "Relationship ends within (days) or before (date)",
    ConditionKind.AUTO_EXTEND: "Relationship extends automatically (yes/no)",
    ConditionKind.ROLES: "Relationship grants roles",
    ConditionKind.SKUS: "Holds SKUs",
    ConditionKind.SEATS: "Seats (used/free/total) compared",
    ConditionKind.HEALTH: "A service it holds is (degraded/incident)",
    ConditionKind.FIELD: "Custom field",
}


def _page(request: Request, ctx: SignedIn, template: str, **values: Any) -> Response:
    partner = partners.require_partner(ctx, None)
    return render(
        request,
        ctx,
        template,
        partner=partner,
        section="customer_groups",
        may_manage=service.may_manage(ctx),
        **values,
    )


def _listed(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,\n]", value) if part.strip()]


def _row(form: dict[str, str], i: int) -> dict[str, Any] | None:
    """One row of the builder as a condition of the rule language (None: an empty row)."""
    kind = form.get(f"cond_{i}", "").strip()
    if not kind:
        return None
    value = form.get(f"value_{i}", "").strip()
    key = form.get(f"key_{i}", "").strip()
    op = form.get(f"op_{i}", "").strip()
    rule: dict[str, Any] = {"condition": kind}
    if kind == ConditionKind.RELATIONSHIP_STATUS:
        rule["in"] = _listed(value)
    elif kind == ConditionKind.RELATIONSHIP_ENDS:
        rule["within_days" if value.isdigit() else "before"] = value
    elif kind == ConditionKind.AUTO_EXTEND:
        rule["is"] = value.lower() not in ("no", "false", "0", "off")
    elif kind in (ConditionKind.ROLES, ConditionKind.SKUS):
        rule["includes"] = op if op in tuple(Includes) else Includes.ANY
        rule[kind] = _listed(value)
    elif kind == ConditionKind.SEATS:
        rule |= {"measure": form.get(f"measure_{i}", ""), "op": op, "value": value or "x"}
        if key:
            rule["sku"] = key
    elif kind == ConditionKind.HEALTH:
        if value:
            rule["in"] = _listed(value)
    elif kind == ConditionKind.FIELD:
        rule["key"] = key
        how = op if op in FIELD_OPS else ("equals" if value else "exists")
        if how == "equals":
            rule["equals"] = value
        elif how == "in":
            rule["in"] = _listed(value)
        else:
            rule["exists"] = how == "exists"
    if form.get(f"not_{i}") == "on":
        return {"not": rule}
    return rule


def _check(rule: Any, where: str) -> Any:
    try:
        return RULE_ADAPTER.validate_python(rule)
    except ValidationError as exc:
        raise InvalidInput(
            f"{where}: {readable_error(exc.errors())}", title="Check the rule"
        ) from exc


def rule_from_form(form: dict[str, str]) -> Any:
    """The rule of the form: the JSON box when filled, else the builder's rows (all or any of
    them); None when neither says anything (a static group)."""
    raw = form.get("rule_json", "").strip()
    if raw:
        try:
            loaded = json.loads(raw)
        except ValueError as exc:
            raise InvalidInput(
                f"Rule (JSON): not valid JSON ({exc}).", title="Check the rule"
            ) from exc
        return _check(loaded, "Rule (JSON)")
    rows = []
    for i in range(1, ROWS + 1):
        row = _row(form, i)
        if row is not None:
            _check(row, f"Condition {i}")
            rows.append(row)
    if not rows:
        return None
    match = "any" if form.get("match") == "any" else "all"
    return _check({match: rows}, "Rule")


def _chosen(form: dict[str, str]) -> list[uuid.UUID]:
    ids = ticked(form, "customer:") + _listed(form.get("customer_ids", ""))
    try:
        return [uuid.UUID(i) for i in ids]
    except ValueError as exc:
        raise InvalidInput("Customers: paste organisation ids, one per line.") from exc


def _builder(ctx: SignedIn) -> dict[str, Any]:
    return {
        "rows": range(1, ROWS + 1),
        "labels": LABELS,
        "measures": list(SeatMeasure),
        "comparisons": list(Comparison),
        "includes": list(Includes),
        "field_ops": FIELD_OPS,
        "statuses": list(RelationshipStatus),
        "roles": list(Role),
        "skus": list(ctx.session.scalars(select(Sku.id).order_by(Sku.id))),
    }


@pages.get("/partner/customer-groups")
def group_list(request: Request, ctx: SignedIn, cursor: str | None = None) -> Response:
    page = service.list_groups(ctx, cursor=cursor, limit=PAGE)
    # The new-group form (partner admins only) offers the first customers to tick.
    choosable = (
        partner_views.customers(ctx, search=None, cursor=None, limit=CHOOSABLE).items
        if service.may_manage(ctx)
        else []
    )
    return _page(
        request,
        ctx,
        "partner/customer_groups.html",
        page=page,
        choosable=choosable,
        **_builder(ctx),
    )


@pages.post("/partner/customer-groups")
def create_group(request: Request, ctx: SignedIn, form: Posted) -> Response:
    rule = rule_from_form(form) if form.get("kind") == CustomerGroupKind.DYNAMIC else None
    body = parse_form(form, CustomerGroupIn, tenant_ids=_chosen(form), rule=None)
    group = service.create_group(
        ctx,
        name=body.name,
        description=body.description or None,
        tenant_ids=body.tenant_ids,
        rule=rule,
    )
    return redirect(request, f"/partner/customer-groups/{group.id}", f"Group {group.name} made.")


@pages.get("/partner/customer-groups/{gid}")
def group_page(
    request: Request, ctx: SignedIn, gid: uuid.UUID, cursor: str | None = None
) -> Response:
    group = service.get_group(ctx, gid)
    members = service.members(ctx, gid, cursor=cursor, limit=PAGE)
    chosen = service.chosen_members(ctx, [group])[group.id]
    return _page(
        request,
        ctx,
        "partner/customer_group.html",
        group=group,
        members=members,
        chosen="\n".join(str(t) for t in chosen),
        rule_json=json.dumps(group.rule, indent=2) if group.rule else "",
    )


@pages.post("/partner/customer-groups/{gid}")
def edit_group(request: Request, ctx: SignedIn, gid: uuid.UUID, form: Posted) -> Response:
    rule = rule_from_form(form)
    body = parse_form(form, CustomerGroupIn, tenant_ids=_chosen(form), rule=None)
    changes = service.GroupChanges(
        given={"name", "description", "tenant_ids", "rule"},
        name=body.name,
        description=body.description or None,
        tenant_ids=body.tenant_ids,
        rule=rule,
    )
    group = service.update_group(ctx, gid, changes)
    return redirect(request, f"/partner/customer-groups/{group.id}", "Group saved.")


@pages.post("/partner/customer-groups/{gid}/delete")
def delete_group(request: Request, ctx: SignedIn, gid: uuid.UUID, form: Posted) -> Response:
    service.delete_group(ctx, gid)
    return redirect(request, "/partner/customer-groups", "Group deleted.")


@pages.post("/partner/customers/{tid}/fields")
def set_fields(request: Request, ctx: SignedIn, tid: uuid.UUID, form: Posted) -> Response:
    """Custom fields as ``key=value`` lines (partner admins)."""
    fields: dict[str, str] = {}
    for n, line in enumerate(form.get("fields", "").splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"Custom fields, line {n}: write name=value (like region=EU).")
        fields[key.strip()] = value.strip()
    service.set_customer_fields(ctx, tid, fields)
    return redirect(request, f"/partner/customers/{tid}#fields", "Custom fields saved.")
