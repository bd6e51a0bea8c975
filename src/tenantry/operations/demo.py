"""Demo data for ``make run``: two partners and a few customers, created through the services:
Fabrikam's classic offer is accepted by Contoso and Northwind, Litware's by Contoso. Fabrikam's
on-call group may activate Global Administrator in Northwind just in time, approved by a member
of its on-call approvers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from tenantry.access.roles import AgentLevel, Role
from tenantry.billing import subscriptions as billing
from tenantry.core.context import Context, Principal, SecondFactor
from tenantry.directory import groups, tenants, users
from tenantry.models import Domain, GroupKind, Relationship, Severity, User
from tenantry.partners import agents, assignments, offers
from tenantry.partners import enrolment as partners
from tenantry.support import requests as support

DEMO_PASSWORD = "Tenantry-Demo-2026"
PARTNER = (
    "Fabrikam IT Services",
    "fabrikam",
    {
        "street": "1 Harbour Road",
        "city": "Bristol",
        "postal_code": "BS1 5TY",
        "country": "GB",
        "phone": "+44 117 496 0000",
        "technical_contact_email": "support@fabrikam.example",
    },
)
SECOND_PARTNER = (
    "Litware Managed Services",
    "litware",
    {
        "city": "Seattle",
        "country": "US",
        "phone": "+1 206 555 0142",
        "technical_contact_email": "desk@litware.example",
    },
)
# Customers that accept Fabrikam's classic offer (Adatum has no partner: a non-customer).
FABRIKAM_CUSTOMERS = ("contoso", "northwind")
# Where Fabrikam's on-call group may activate Global Administrator just in time.
ON_CALL_CUSTOMER = "northwind"
ON_CALL, ON_CALL_APPROVERS = "On call", "On-call approvers"
CUSTOMERS = [
    ("Contoso", "contoso", ["Megan Bowen", "Alex Wilber", "Diego Siciliani"]),
    ("Northwind Traders", "northwind", ["Nestor Wilke", "Lidia Holloway"]),
    ("Adatum", "adatum", ["Isaiah Langer", "Grady Archie", "Joni Sherman"]),
]


@dataclass(frozen=True)
class SignIn:
    organisation: str
    user_principal_name: str
    role: str


def _as(ctx: Context, user: User) -> Context:
    """The seed acting as one of its people, as if signed in with a TOTP code just now: some
    of what it sets up (agents, access assignments) is handed out only by such a sign-in."""
    acting = ctx.with_session(ctx.session)
    acting.principal = Principal(
        user.id,
        user.tenant_id,
        user.user_principal_name,
        user.display_name,
        mfa=True,
        must_change_password=False,
        mfa_at=ctx.now,
        second_factor=SecondFactor.TOTP,
    )
    return acting


def seeded(ctx: Context) -> bool:
    name = tenants.initial_domain_name(ctx, PARTNER[1])
    return ctx.session.scalar(select(Domain.id).where(Domain.name == name)) is not None


def seed(ctx: Context) -> list[SignIn]:
    """Create the demo organisations once; later runs only list the sign-ins."""
    if not seeded(ctx):
        _create(ctx)
    return sign_ins(ctx)


def _create(ctx: Context) -> None:
    name, label, contact = PARTNER
    partner = tenants.create_tenant(
        ctx,
        organization_name=name,
        initial_domain=label,
        admin_password=DEMO_PASSWORD,
        admin_display_name="Fabrikam Admin",
        contact=contact,
    )
    as_partner = _as(ctx, partner.admin)
    tech = users.create_user(
        as_partner,
        partner.tenant.id,
        user_principal_name=f"tech@{label}.{ctx.settings.initial_domain_suffix}",
        display_name="Taylor Tech",
        password=DEMO_PASSWORD,
        must_change_password=False,
    ).user
    partners.enroll(ctx, partner.tenant)
    agents.set_agent_access(as_partner, tech.id, AgentLevel.LIMITED)

    classic = offers.create_offer(as_partner)
    second = tenants.create_tenant(
        ctx,
        organization_name=SECOND_PARTNER[0],
        initial_domain=SECOND_PARTNER[1],
        admin_password=DEMO_PASSWORD,
        admin_display_name="Litware Admin",
        contact=SECOND_PARTNER[2],
    )
    partners.enroll(ctx, second.tenant)
    litware_offer = offers.create_offer(_as(ctx, second.admin))

    for org, label, people in CUSTOMERS:
        new = tenants.create_tenant(
            ctx,
            organization_name=org,
            initial_domain=label,
            admin_password=DEMO_PASSWORD,
            admin_display_name=f"{org} Admin",
            contact={"technical_contact_email": f"it@{label}.example", "country": "US"},
        )
        as_admin = _as(ctx, new.admin)
        suffix = f"{label}.{ctx.settings.initial_domain_suffix}"
        created = [
            users.create_user(
                as_admin,
                new.tenant.id,
                user_principal_name=f"{person.split()[0].lower()}@{suffix}",
                display_name=person,
                password=DEMO_PASSWORD,
                must_change_password=False,
            ).user
            for person in people
        ]
        subscription = billing.purchase(
            as_admin, new.tenant.id, sku_id="business_standard", seats=10, trial=False
        )
        for user in [new.admin, *created]:
            billing.assign_license(as_admin, new.tenant.id, subscription.id, user.id)
        support.create_request(
            as_admin,
            new.tenant.id,
            title="Mail delivery delays",
            description="Some messages to external recipients arrive late.",
            severity=Severity.MEDIUM,
        )
        if label in FABRIKAM_CUSTOMERS:
            relationship = offers.accept(as_admin, offers.token_for(ctx, classic))
            if label == ON_CALL_CUSTOMER:
                _on_call(as_partner, relationship, tech, partner.admin)
        if label == "contoso":
            offers.accept(as_admin, offers.token_for(ctx, litware_offer))


def _on_call(as_partner: Context, relationship: Relationship, agent: User, approver: User) -> None:
    """Just-in-time elevation to show: the agent (in *On call*) may activate Global
    Administrator in the relationship's customer for up to two hours, once a member of
    *On-call approvers* (the partner's admin) approves."""
    partner_id = relationship.partner_tenant_id
    made = {}
    for name, member, description in (
        (ON_CALL, agent, "Agents who may activate admin roles in customers when needed."),
        (ON_CALL_APPROVERS, approver, "Approve the on-call group's activations."),
    ):
        group = groups.create_group(
            as_partner, partner_id, name=name, kind=GroupKind.SECURITY, description=description
        )
        groups.add_member(as_partner, partner_id, group.id, member.id)
        made[name] = group
    assignments.add_assignment(
        as_partner,
        relationship.id,
        made[ON_CALL].id,
        [],
        eligible_roles=[Role.GLOBAL_ADMINISTRATOR.value],
        max_activation_minutes=120,
        approval_required=True,
        approver_group_id=made[ON_CALL_APPROVERS].id,
    )


def sign_ins(ctx: Context) -> list[SignIn]:
    suffix = ctx.settings.initial_domain_suffix
    out = [
        SignIn(PARTNER[0], f"admin@{PARTNER[1]}.{suffix}", "Partner admin (Admin agents)"),
        SignIn(
            PARTNER[0],
            f"tech@{PARTNER[1]}.{suffix}",
            "Partner agent (Helpdesk agents; On call: may activate Global Administrator in "
            "Northwind, approved by the admin)",
        ),
    ]
    out += [
        SignIn(
            org,
            f"admin@{label}.{suffix}",
            "Global Administrator"
            + (" (Fabrikam customer)" if label in FABRIKAM_CUSTOMERS else ""),
        )
        for org, label, _ in CUSTOMERS
    ]
    out.append(
        SignIn(
            SECOND_PARTNER[0],
            f"admin@{SECOND_PARTNER[1]}.{suffix}",
            "Partner admin (Contoso's second partner)",
        )
    )
    return out
