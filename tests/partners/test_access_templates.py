"""Access templates (issue 14): a partner's groups and their roles applied to many customers,
only within what each customer approved; the preview is what applying does, a second apply
changes nothing, updating or unapplying touches only the template's own assignments — on both
databases, through the HTTP API, with the attacks a partner's insider or a stranger would try."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tenantry.access.roles import Role
from tenantry.audit import chain as audit
from tenantry.core.config import Settings
from tenantry.models import AccessAssignment, AuditEvent, Relationship
from tests.conftest import (
    FakeClock,
    Org,
    Partner,
    accepted,
    make_org,
    make_partner,
    sign_in,
)
from tests.partners.test_activations import Member, assign, group

GA, READER, USERS, PASSWORDS = (
    "global_administrator",
    "global_reader",
    "user_administrator",
    "password_administrator",
)
TEMPLATES = "/partner/access-templates"


def template(partner: Partner, name: str | None = None, **entry: Any) -> dict:
    gid = entry.pop("group_id")
    body = {
        "name": name or f"T {uuid.uuid4().hex[:8]}",
        "assignments": [{"group_id": gid, **entry}],
    }
    return dict(partner.admin.post(TEMPLATES, body, expect=201).json())


def only(*customers: Org) -> dict:
    return {"selection": {"customers": [c.tenant_id for c in customers]}}


def changes(plan: dict) -> list[tuple]:
    """The plan's items, comparable between a preview and an apply."""
    return sorted(
        (
            i["action"],
            i["customer_tenant_id"],
            str(i["relationship_id"]),
            str(i["group_id"]),
            tuple(i["roles"]),
            tuple(i["eligible_roles"]),
            i["reason"],
        )
        for i in plan["items"]
    )


def assignments_in(partner: Partner, relationship: dict, *groups: str) -> list[dict]:
    """The relationship's assignments (of these groups only, when named; accepting an offer
    already gives the agent groups theirs)."""
    url = f"/partner/relationships/{relationship['id']}/access-assignments"
    found = partner.admin.get(url).json()["items"]
    return [a for a in found if not groups or a["group_id"] in groups]


def past(sessions: sessionmaker[Session], relationship: dict, clock: FakeClock) -> None:
    with sessions.begin() as session:
        session.execute(
            update(Relationship)
            .where(Relationship.id == uuid.UUID(relationship["id"]))
            .values(ends_at=clock() - timedelta(minutes=1))
        )


def customers(client: Any, n: int) -> list[Org]:
    return [make_org(client, f"Customer{i}") for i in range(n)]


def test_preview_equals_apply_only_approved_roles_and_a_second_apply_changes_nothing(
    partner: Partner,
    client: Any,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    full, reader_only, ended, expired, pending, never = customers(client, 6)
    rel_full = accepted(partner, full, {"roles": [READER, USERS, GA]})
    rel_reader = accepted(partner, reader_only, {"roles": [READER]})
    rel_ended = accepted(partner, ended, {"roles": [READER, USERS]})
    partner.admin.post(f"/partner/relationships/{rel_ended['id']}/terminate", expect=200)
    rel_expired = accepted(partner, expired, {"roles": [READER, USERS], "duration": "P1D"})
    offer = partner.offer({"roles": [READER], "customer_tenant_id": pending.tenant_id})
    assert offer
    # The customer removed the partner: nothing may come back.
    rel_removed = accepted(partner, never, {"roles": [READER, USERS]})
    never.admin.delete(f"{never.base}/partner-relationships/{rel_removed['id']}")
    # Still "active" but past its end (the sweeper has not run): not live.
    past(sessions, rel_expired, clock)

    helpdesk = group(partner, [], "Helpdesk EU")
    made = template(partner, group_id=helpdesk, roles=[USERS], eligible_roles=[GA])
    selection = only(full, reader_only, ended, expired, pending, never)
    preview = partner.admin.post(f"{TEMPLATES}/{made['id']}/preview", selection, expect=200).json()
    # Previewing changed nothing.
    assert assignments_in(partner, rel_full, helpdesk) == []
    applied = partner.admin.post(f"{TEMPLATES}/{made['id']}/apply", selection, expect=200).json()
    assert changes(preview) == changes(applied)

    by_customer = {i["customer_tenant_id"]: i for i in applied["items"]}
    assert by_customer[full.tenant_id]["action"] == "create"
    assert by_customer[full.tenant_id]["roles"] == [USERS]
    assert by_customer[full.tenant_id]["eligible_roles"] == [GA]
    # Approved neither role: nothing granted there, and said why.
    assert by_customer[reader_only.tenant_id]["action"] == "skipped"
    assert "approved none" in by_customer[reader_only.tenant_id]["reason"]
    for customer in (ended, expired, never):
        assert by_customer[customer.tenant_id]["action"] == "skipped", customer
    assert "ended" in by_customer[ended.tenant_id]["reason"]
    assert "expired" in by_customer[expired.tenant_id]["reason"]
    # A request for one customer, not approved yet.
    assert by_customer[pending.tenant_id]["action"] == "skipped"
    assert "not approved" in by_customer[pending.tenant_id]["reason"]
    assert applied["counts"]["create"] == 1

    made_here = assignments_in(partner, rel_full, helpdesk)
    assert [(a["group_id"], a["roles"], a["eligible_roles"]) for a in made_here] == [
        (helpdesk, [USERS], [GA])
    ]
    assert assignments_in(partner, rel_reader, helpdesk) == []
    assert assignments_in(partner, rel_ended, helpdesk) == []
    with sessions() as session:
        total = session.scalar(
            select(func.count())
            .select_from(AccessAssignment)
            .where(AccessAssignment.group_id == uuid.UUID(helpdesk))
        )
        assert total == 1
        # Audited in the customer's log (as the partner's action) and in the partner's.
        logged = session.execute(
            select(AuditEvent.tenant_id, AuditEvent.partner_tenant_id).where(
                AuditEvent.action == "partner.access_assignment.create",
                AuditEvent.details["template_id"].as_string() == made["id"],
            )
        ).all()
        assert {(str(t), str(p) if p else None) for t, p in logged} == {
            (full.tenant_id, partner.org.tenant_id),
            (partner.org.tenant_id, None),
        }
        for tenant_id in (full.tenant_id, partner.org.tenant_id):
            key = audit.audit_key(settings)
            assert list(audit.verify(session, key, uuid.UUID(tenant_id))) == []

    again = partner.admin.post(f"{TEMPLATES}/{made['id']}/apply", selection, expect=200).json()
    assert {i["action"] for i in again["items"]} <= {"unchanged", "skipped"}
    assert again["counts"]["unchanged"] == 1
    assert assignments_in(partner, rel_full, helpdesk)[0]["id"] == made_here[0]["id"]


def test_update_and_unapply_touch_only_what_the_template_made(
    partner: Partner, client: Any
) -> None:
    a, b = customers(client, 2)
    rel_a = accepted(partner, a, {"roles": [READER, USERS, PASSWORDS]})
    rel_b = accepted(partner, b, {"roles": [READER, USERS, PASSWORDS]})
    first, second, manual = (group(partner, [], n) for n in ("First", "Second", "Manual"))
    # Made one at a time, before: the template leaves it as it is.
    assign(partner, rel_a, manual, roles=[READER])
    body = {
        "name": "Support",
        "assignments": [
            {"group_id": first, "roles": [READER]},
            {"group_id": second, "roles": [PASSWORDS]},
            {"group_id": manual, "roles": [USERS]},
        ],
    }
    made = partner.admin.post(TEMPLATES, body, expect=201).json()
    url = f"{TEMPLATES}/{made['id']}"
    applied = partner.admin.post(f"{url}/apply", {}, expect=200).json()
    skipped = [i for i in applied["items"] if i["action"] == "skipped"]
    assert len(skipped) == 1 and skipped[0]["group_id"] == manual
    assert "not made by this template" in skipped[0]["reason"]
    assert applied["counts"]["create"] == 5

    # Second group dropped, First's roles changed.
    body["assignments"] = [{"group_id": first, "roles": [READER, USERS]}]
    partner.admin.patch(url, {"assignments": body["assignments"]})
    preview = partner.admin.post(f"{url}/preview", {}, expect=200).json()
    assert preview["counts"]["update"] == 2
    # Second and the Manual group's template assignment in b (2 + 1) are removed; the
    # assignment made one at a time in a is not the template's.
    assert preview["counts"]["remove"] == 3
    applied = partner.admin.post(f"{url}/apply", {}, expect=200).json()
    assert changes(applied) == changes(preview)
    ours = (first, second, manual)
    groups_a = {x["group_id"]: x["roles"] for x in assignments_in(partner, rel_a, *ours)}
    assert groups_a == {first: [READER, USERS], manual: [READER]}

    # Unapply from b only: a keeps everything.
    gone = partner.admin.post(f"{url}/unapply", only(b), expect=200).json()
    assert gone["counts"]["remove"] == 1
    assert assignments_in(partner, rel_b, *ours) == []
    assert {x["group_id"] for x in assignments_in(partner, rel_a, *ours)} == {first, manual}

    # Deleting the template keeps what it made, as ordinary assignments.
    partner.admin.delete(url)
    partner.admin.get(url, expect=404)
    assert {x["group_id"] for x in assignments_in(partner, rel_a, *ours)} == {first, manual}


def test_except_customers_and_an_agent_scoped_to_its_customers(
    partner: Partner, client: Any
) -> None:
    eu, eu_excluded, us = customers(client, 3)
    for customer in (eu, eu_excluded, us):
        accepted(partner, customer, {"roles": [READER, USERS]})
    technician = Member(partner)
    helpdesk_eu = group(partner, [technician], "Helpdesk EU")
    made = template(partner, group_id=helpdesk_eu, roles=[READER])
    selection = {
        "selection": {
            "customers": [eu.tenant_id, eu_excluded.tenant_id],
            "except_customers": [eu_excluded.tenant_id],
        }
    }
    plan = partner.admin.post(f"{TEMPLATES}/{made['id']}/apply", selection, expect=200).json()
    assert [i["customer_tenant_id"] for i in plan["items"]] == [eu.tenant_id]
    api = technician.fresh()
    api.get(f"{eu.base}/users", expect=200)
    # Read only: the template gave Global Reader, not User Administrator.
    name = f"n{uuid.uuid4().hex[:8]}"
    api.post(
        f"{eu.base}/users",
        {"user_principal_name": f"{name}@{eu.domain}", "display_name": name},
        expect=403,
    )
    for elsewhere in (eu_excluded, us):
        assert api.get(f"{elsewhere.base}/users", expect=None).status_code in (403, 404)
    # Unapplied: the technician's access in that customer ends with it.
    gone = partner.admin.post(f"{TEMPLATES}/{made['id']}/unapply", only(eu), expect=200).json()
    assert gone["counts"]["remove"] == 1
    assert api.get(f"{eu.base}/users", expect=None).status_code in (403, 404)


def test_refusals(
    partner: Partner,
    client: Any,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
    org: Org,
) -> None:
    other = make_partner(client, sessions, settings, clock, "Rival")
    accepted(partner, org, {"roles": [READER]})
    mine = group(partner, [], "Mine")
    theirs = group(other, [], "Theirs")
    base = partner.org.base
    mailing = partner.admin.post(
        f"{base}/groups", {"name": "List", "kind": "distribution"}, expect=201
    ).json()["id"]

    def create(entry: dict, expect: int) -> Any:
        body = {"name": f"T {uuid.uuid4().hex[:6]}", "assignments": [entry]}
        return partner.admin.post(TEMPLATES, body, expect=expect).json()

    create({"group_id": theirs, "roles": [READER]}, 404)  # another partner's group
    create({"group_id": org.admin_id, "roles": [READER]}, 404)  # not a group at all
    assert "security groups" in create({"group_id": mailing, "roles": [READER]}, 422)["detail"]
    create({"group_id": mine, "roles": []}, 422)
    create({"group_id": mine, "roles": [READER], "eligible_roles": [READER]}, 422)
    create({"group_id": mine, "eligible_roles": [USERS], "approval_required": True}, 422)
    create({"group_id": mine, "eligible_roles": [USERS], "approver_group_id": theirs}, 404)
    create({"group_id": mine, "roles": [READER], "max_activation_minutes": 481}, 422)
    twice = {
        "name": "Twice",
        "assignments": [{"group_id": mine, "roles": [READER]}] * 2,
    }
    partner.admin.post(TEMPLATES, twice, expect=422)

    made = template(partner, "Same name", group_id=mine, roles=[READER])
    template_again = {"name": "Same name", "assignments": [{"group_id": mine, "roles": [READER]}]}
    partner.admin.post(TEMPLATES, template_again, expect=409)
    other_one = template(partner, "Other name", group_id=mine, roles=[READER])
    partner.admin.patch(f"{TEMPLATES}/{other_one['id']}", {"name": "Same name"}, 409)
    url = f"{TEMPLATES}/{made['id']}"

    # Another partner's template is unknown, whatever the verb.
    for method, path, body in [
        ("GET", url, None),
        ("PATCH", url, {"name": "Mine now"}),
        ("DELETE", url, None),
        ("POST", f"{url}/preview", {}),
        ("POST", f"{url}/apply", {}),
        ("POST", f"{url}/unapply", {}),
    ]:
        kwargs = {"json": body} if body is not None else {}
        assert other.admin.request(method, path, 404, **kwargs)
    assert other.admin.get(TEMPLATES).json()["items"] == []
    # Nor may its template name another partner's group.
    partner.admin.patch(url, {"assignments": [{"group_id": theirs, "roles": [READER]}]}, 404)

    # An agent (not an administrator of the partner) is refused.
    agent = partner.agent("full")
    assert "partner.manage" in agent.post(f"{url}/apply", {}, expect=403).json()["detail"]
    agent.get(TEMPLATES, expect=403)

    # A partner administrator whose sign-in has no second factor may preview, not apply.
    admin_id = partner.org.create_user(roles=(Role.GLOBAL_ADMINISTRATOR,))
    password_only = sign_in(client, partner.org.users[admin_id])
    password_only.post(f"{url}/preview", {}, expect=200)
    refused = password_only.post(f"{url}/apply", {}, expect=403).json()
    assert "act on behalf" in refused["detail"]
    with sessions() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(AccessAssignment)
                .where(AccessAssignment.group_id == uuid.UUID(mine))
            )
            == 0
        )

    # A customer that never consented: its id selects nothing.
    stranger = make_org(client, "Stranger")
    plan = partner.admin.post(f"{url}/apply", only(stranger), expect=200).json()
    assert plan["items"] == []
    # A selection naming an unknown customer group is a 4xx, never a 500.
    bad = {"selection": {"groups": [str(uuid.uuid4())]}}
    assert 400 <= partner.admin.post(f"{url}/preview", bad).status_code < 500


def test_parallel_applies_make_each_assignment_once(partner: Partner, client: Any) -> None:
    several = customers(client, 4)
    for customer in several:
        accepted(partner, customer, {"roles": [READER, USERS]})
    helpdesk = group(partner, [], "Parallel")
    made = template(partner, group_id=helpdesk, roles=[READER], eligible_roles=[USERS])
    url = f"{TEMPLATES}/{made['id']}/apply"
    selection = only(*several)

    def run(_: int) -> Any:
        return partner.admin.post(url, selection, expect=None)

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(run, range(6)))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    created = sum(r.json()["counts"]["create"] for r in responses)
    assert created == 4
    for customer in several:
        rel = partner.admin.get(
            f"/partner/relationships?customer_tenant_id={customer.tenant_id}"
        ).json()["items"][0]
        assert len(assignments_in(partner, rel, helpdesk)) == 1


def test_a_relationship_past_its_end_is_skipped(
    partner: Partner, client: Any, clock: FakeClock, sessions: sessionmaker[Session]
) -> None:
    (customer,) = customers(client, 1)
    rel = accepted(partner, customer, {"roles": [READER], "duration": "P3D"})
    helpdesk = group(partner, [], "Short")
    made = template(partner, group_id=helpdesk, roles=[READER])
    url = f"{TEMPLATES}/{made['id']}"
    assert partner.admin.post(f"{url}/apply", {}, expect=200).json()["counts"]["create"] == 1
    past(sessions, rel, clock)
    # Past ends_at: not live any more, skipped (and what was made there is left, powerless).
    plan = partner.admin.post(f"{url}/preview", {}, expect=200).json()
    assert [i["action"] for i in plan["items"]] == ["skipped"]
    assert len(assignments_in(partner, rel, helpdesk)) == 1
