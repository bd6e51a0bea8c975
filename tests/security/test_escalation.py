"""The escalation search (issue 9): random sequences of the API's writes, by attackers and by
honest administrators, against the real app; after every step, no path to power without
consent (docs/architecture.md §2).

The world is the one of finding 1: partner A (Fabrikam, the attacker's home) is partner B's
(Litware) partner, and B is C's (Adatum) partner; D (Northwind) starts unrelated. The attacker
controls a Full and a Limited agent, a User Administrator and a Password Administrator of A,
and every account it creates or whose password it sets (and can then sign in as).

Invariants, checked on the database with ``access.permissions()`` (MFA assumed: the worst
case):

* I1 consent: an attacker-controlled account acts outside its home tenant only in a tenant
  that consented (its Global Administrator, not the attacker, accepted) to that home tenant,
  and only when the home tenant is the attacker's own A — an account the attacker planted in
  a customer never reaches that customer's customers.
* I2 delegated permissions never exceed the accepted relationships' roles (minus exclusions
  and the customer's partner policy).
* I3 no standing power minted on behalf: an account created or password-set on behalf holds
  no admin role beyond the unprivileged ones, unless the customer opted in; never an agent
  group.
* I4 insiders don't self-promote: the attacker's accounts in A hold no role or agent group
  (nor access-assignment or approver group) beyond what they started with.
* I5 just-in-time activations: none was approved by its own requester (on either side), an
  activation that gives power now is of a role of its relationship, and one that needed an
  approval has it.
* I6 API clients: no client holds Global Administrator in any tenant; a client's delegated
  permissions stay within what the customer consented to (as I2), and a client the attacker
  made (or holds the secret of) acts outside its home only where I1 lets the attacker act.
* I7 provisioning (SCIM): the attacker holds A's provisioning token (a compromised identity
  system). The token's decision reaches A only, with no role and nothing of power
  (``roles.assign``, ``users.manage_privileged``); elsewhere it is 404. Accounts it creates or
  sets the password of become the attacker's, and I4 holds for them: nothing beyond the
  unprivileged roles they held when taken, never a power group.
* I8 services (OpenID Connect): a token a service gets for an account says the roles of the
  access decision at that moment, in the tenant signed in to; outside the account's home it
  carries ``act`` naming the account and its home, and only where I1 lets it act.
* No response is a 5xx.

I1 and I2 hold with activations too: the decision (``access.permissions``) is what is checked,
and activations are requested, approved, denied and ended by attackers and honest admins
alike among the other writes.

``TENANTRY_FUZZ_EXAMPLES`` (``make fuzz``) runs it longer.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import pyotp
from hypothesis import HealthCheck
from hypothesis import settings as search_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tenantry import access
from tenantry.access.roles import (
    DELEGATION_EXCLUSIONS,
    ROLE_PERMISSIONS,
    UNPRIVILEGED_ROLES,
    Permission,
    Role,
)
from tenantry.core.config import Settings
from tenantry.core.context import Principal
from tenantry.identity import clients as client_credentials
from tenantry.identity import signing_keys
from tenantry.models import (
    AccessAssignment,
    AccessTemplate,
    Activation,
    ActivationStatus,
    ApiClient,
    Group,
    GroupMember,
    Relationship,
    Tenant,
    User,
)
from tenantry.models.partners import LIVE_STATUSES
from tenantry.partners import job_runner
from tenantry.provisioning import tokens as provisioning_tokens
from tests.conftest import (
    PASSWORD,
    Api,
    FakeClock,
    accepted,
    make_org,
    make_partner,
    sign_in,
    unique_label,
)
from tests.scim.helpers import PATCH as SCIM_PATCH
from tests.scim.helpers import USER as SCIM_USER
from tests.services.oidc_helpers import code_for, redeem, register

EXAMPLES = int(os.environ.get("TENANTRY_FUZZ_EXAMPLES", "6"))
STEPS = int(os.environ.get("TENANTRY_FUZZ_STEPS", "25"))
DELEGABLE = [r.value for r in Role if r is not Role.DEVICE_ADMINISTRATOR]
POLICY_CHOICES = ["users.create", "users.reset_password", "roles.assign", "groups.update"]


@dataclass
class Account:
    user_id: str
    home: str
    upn: str
    api: Api
    attacker: bool
    password: str = PASSWORD
    secret: str | None = None


@dataclass
class Consent:
    """An accepted relationship, as the customer's (honest) Global Administrator saw it."""

    customer: str
    partner: str
    roles: frozenset[str]


@dataclass
class World:
    client: Any
    sessions: sessionmaker[Session]
    settings: Settings
    clock: FakeClock
    steps: list[int] = field(default_factory=lambda: [0])
    # What the search did of the kinds it checks the outcome of: accounts taken through the
    # provisioning token, tokens services got.
    seen: dict[str, int] = field(default_factory=dict)


def _code(clock: FakeClock, secret: str) -> str:
    """A fresh code (codes are single-use, so move time to the next step first)."""
    clock.advance(seconds=31)
    return pyotp.TOTP(secret).at(clock())


def build_machine(world: World) -> type[RuleBasedStateMachine]:
    client, sessions, clock = world.client, world.sessions, world.clock

    class Escalation(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.accounts: dict[str, Account] = {}
            self.consents: dict[str, Consent] = {}
            self.offers: list[str] = []
            self.policy_blocked: dict[str, frozenset[str]] = {}
            self.opted_in: set[str] = set()  # customers that ever let partners give admin roles
            self.minted_on_behalf: set[str] = set()
            self.initial_roles: dict[str, set[Role]] = {}
            self.initial_agent_groups: dict[str, set[str]] = {}
            # API clients whose secret the attacker holds: client_id -> (id, secret).
            self.attacker_clients: dict[str, tuple[str, str]] = {}
            self.log: list[str] = []
            # Accounts the attacker took through A's provisioning token.
            self.provisioned: set[str] = set()
            # A platform service every tenant's people (and agents, on behalf) sign in to.
            self.service = register(sessions, world.settings)

            a = make_partner(client, sessions, world.settings, clock, "Fabrikam")
            b = make_partner(client, sessions, world.settings, clock, "Litware")
            c = make_org(client, "Adatum")
            d = make_org(client, "Northwind")
            self.a, self.b, self.c, self.d = (
                a.org.tenant_id,
                b.org.tenant_id,
                c.tenant_id,
                d.tenant_id,
            )
            self.tenants = [self.a, self.b, self.c, self.d]
            self.domains = {
                self.a: a.org.domain,
                self.b: b.org.domain,
                self.c: c.domain,
                self.d: d.domain,
            }
            b_to_c = accepted(b, c)
            self._consent(b_to_c, self.c)
            a_to_b = accepted(a, b.org, {"roles": ["user_administrator", "password_administrator"]})
            self._consent(a_to_b, self.b)
            # Just in time from the start: A's Helpdesk agents (the attacker's Limited agent)
            # may activate User Administrator in B, approved by A's Admin agents (the
            # attacker's Full agent among them); B's Admin agents may activate C's Global
            # Administrator without approval.
            self._eligible(a, a_to_b["id"], "limited", "full")
            self._eligible(b, b_to_c["id"], "full", None)
            for org, tid in ((a.org, self.a), (b.org, self.b), (c, self.c), (d, self.d)):
                self.accounts[org.admin_id] = Account(
                    org.admin_id, tid, org.admin_upn, org.admin, False
                )
            # An honest Full agent of B, who administers C.
            self._insider(b.org, self.b, (), "full", attacker=False)
            # The attacker's accounts in A.
            self._insider(a.org, self.a, (), "full", attacker=True)
            self._insider(a.org, self.a, (), "limited", attacker=True)
            self._insider(a.org, self.a, (Role.USER_ADMINISTRATOR,), None, attacker=True)
            self._insider(a.org, self.a, (Role.PASSWORD_ADMINISTRATOR,), None, attacker=True)
            # Every agent asks for its eligible roles at once, so the search starts with a
            # live activation (B's honest agent: Global Administrator in C) and a waiting one
            # (the attacker's Limited agent: User Administrator in B).
            for acc in list(self.accounts.values()):
                if acc.secret and acc.home in (self.a, self.b):
                    a_side = acc.home == self.a
                    self._sign_in(acc)
                    self.call(
                        acc,
                        "POST",
                        "/partner/activations",
                        json={
                            "relationship_id": a_to_b["id"] if a_side else b_to_c["id"],
                            "role": "user_administrator" if a_side else "global_administrator",
                            "minutes": 60,
                            "justification": "start of the search",
                        },
                    )
            # The attacker's compromised identity system: A's provisioning token, made by A's
            # honest Global Administrator.
            made = a.org.admin.post(
                f"/tenants/{self.a}/scim-tokens", {"name": "Compromised IdP"}, expect=201
            )
            self.scim_token = made.json()["token"]
            with sessions() as session:
                for acc in self.controlled():
                    self.initial_roles[acc.user_id] = self._roles(session, acc.user_id)
                    self.initial_agent_groups[acc.user_id] = self._power_groups(
                        session, acc.user_id
                    )

        # --- the world -----------------------------------------------------------------

        def _insider(
            self, org: Any, tid: str, roles: tuple[Role, ...], level: str | None, attacker: bool
        ) -> None:
            uid = org.create_user(roles=roles)
            if level:
                org.admin.request("PUT", f"/partner/agents/{uid}", 200, json={"access": level})
            acc = Account(uid, tid, org.users[uid], sign_in(client, org.users[uid]), attacker)
            self.accounts[uid] = acc
            if level:
                self._enrol(acc)

        def _eligible(
            self, partner: Any, relationship: str, level: str, approvers: str | None
        ) -> None:
            """An assignment of the partner's agent group ``level`` on ``relationship``
            making the relationship's roles eligible (approved by group ``approvers``)."""
            with sessions() as session:
                groups = dict(
                    session.execute(
                        select(Group.agent_level, Group.id).where(
                            Group.tenant_id == uuid.UUID(partner.org.tenant_id),
                            Group.agent_level.is_not(None),
                        )
                    ).all()
                )
                roles = session.scalar(
                    select(Relationship.roles).where(Relationship.id == uuid.UUID(relationship))
                )
            path = f"/partner/relationships/{relationship}/access-assignments"
            listed = partner.admin.get(path).json()["items"]
            for existing in listed:
                if existing["group_id"] == str(groups[level]):
                    partner.admin.delete(f"{path}/{existing['id']}")
            body: dict[str, Any] = {"group_id": str(groups[level]), "eligible_roles": roles}
            if approvers:
                body |= {"approval_required": True, "approver_group_id": str(groups[approvers])}
            partner.admin.post(path, body, expect=201)

        def _consent(self, relationship: dict[str, Any], customer: str) -> None:
            self.consents[relationship["id"]] = Consent(
                customer, relationship["partner_tenant_id"], frozenset(relationship["roles"])
            )

        def controlled(self) -> list[Account]:
            return [acc for acc in self.accounts.values() if acc.attacker]

        def call(self, actor: Account, method: str, path: str, **kw: Any) -> Any:
            response = actor.api.request(method, path, **kw)
            self.log.append(
                f"{'attacker' if actor.attacker else 'honest'} {actor.upn}: {method} {path} "
                f"{kw.get('json')} -> {response.status_code}"
            )
            assert response.status_code < 500, self.log[-1] + " " + response.text
            world.steps[0] += 1
            return response

        def _enrol(self, acc: Account) -> None:
            """Enrol TOTP (with the password, as the contract asks) and sign in again with a
            code: works whether or not confirming upgrades the session."""
            started = self.call(acc, "POST", "/me/mfa/totp", json={"password": acc.password})
            if started.status_code != 200:
                return
            secret = started.json()["secret"]
            confirmed = self.call(
                acc, "POST", "/me/mfa/totp/confirm", json={"code": _code(clock, secret)}
            )
            if confirmed.status_code != 200:
                return
            acc.secret = secret
            self._sign_in(acc)

        def _sign_in(self, acc: Account) -> bool:
            body = {"username": acc.upn, "password": acc.password}
            if acc.secret:
                body["totp_code"] = _code(clock, acc.secret)
            response = Api(client).post("/auth/token", body)
            assert response.status_code < 500, response.text
            if response.status_code != 200:
                return False
            acc.api = Api(client, response.json()["access_token"])
            return True

        def _take(
            self, upn: str, home: str, password: str, on_behalf: bool, provisioned: bool = False
        ) -> None:
            """The attacker knows this account's password: if it can sign in, it controls it
            (``provisioned``: through A's provisioning token, which could already take over
            any unprivileged account of A, so its unprivileged roles count as its start)."""
            with sessions() as session:
                user = session.scalar(select(User).where(User.user_principal_name == upn))
                if user is None:
                    return
                uid, secret = str(user.id), None
                if user.mfa_enabled:
                    known = self.accounts.get(uid)
                    if not (known and known.attacker and known.secret):
                        return  # its second factor is not the attacker's
                    secret = known.secret
            acc = Account(uid, home, upn, Api(client), True, password, secret)
            if not self._sign_in(acc):
                return
            if acc.api.get("/me", expect=None).json().get("must_change_password"):
                new = PASSWORD + "-mine"
                changed = self.call(
                    acc,
                    "POST",
                    "/me/password",
                    json={"current_password": password, "new_password": new},
                )
                if changed.status_code != 204:
                    return
                acc.password = new
                if not self._sign_in(acc):
                    return
            self.accounts[uid] = acc
            if on_behalf:
                self.minted_on_behalf.add(uid)
            if provisioned and uid not in self.provisioned:
                self.provisioned.add(uid)
                world.seen["taken by provisioning"] = world.seen.get("taken by provisioning", 0) + 1
                with sessions() as session:
                    self.initial_roles.setdefault(uid, set()).update(
                        self._roles(session, uid) & UNPRIVILEGED_ROLES
                    )

        # --- choices -------------------------------------------------------------------

        def _pick(self, data: st.DataObject, items: list[Any], label: str) -> Any:
            """One draw whatever the world holds (the world is real, so it differs between
            runs of one example: an index keeps the draws the same)."""
            index = data.draw(st.integers(0, 63), label=label)
            return items[index % len(items)] if items else None

        def _actor(self, data: st.DataObject) -> Account:
            return self._pick(data, list(self.accounts.values()), "actor")

        def _users(self, tenant: str, actor: Account) -> list[str]:
            with sessions() as session:
                ids = session.scalars(
                    select(User.id)
                    .where(User.tenant_id == uuid.UUID(tenant))
                    .order_by(User.created_at, User.user_principal_name)
                ).all()
            # Honest administrators don't act on the attacker's accounts (so whatever power
            # those hold came from the attacker).
            return [
                str(i)
                for i in ids
                if actor.attacker or not self.accounts.get(str(i), actor).attacker
            ]

        def _groups(self, tenant: str) -> list[str]:
            with sessions() as session:
                return [
                    str(g)
                    for g in session.scalars(
                        select(Group.id)
                        .where(Group.tenant_id == uuid.UUID(tenant))
                        .order_by(Group.created_at, Group.name)
                    ).all()
                ]

        def _groups_to_empower(self, tenant: str, actor: Account) -> list[str]:
            """Groups an actor may give power to (a role, an access assignment). Honest
            administrators, as with users, don't empower a group that holds an attacker's
            account: the attacker's power must come from the attacker (found by a long run
            on PostgreSQL, where an honest Global Administrator gave *Admin agents*, with the
            attacker's Full agent in it, Global Administrator at home)."""
            groups = self._groups(tenant)
            if actor.attacker:
                return groups
            attackers = [uuid.UUID(acc.user_id) for acc in self.controlled()]
            with sessions() as session:
                holding = {
                    str(g)
                    for g in session.scalars(
                        select(GroupMember.group_id).where(GroupMember.user_id.in_(attackers))
                    )
                }
            return [g for g in groups if g not in holding]

        def _relationships(self) -> list[tuple[str, str, str]]:
            with sessions() as session:
                rows = session.execute(
                    select(
                        Relationship.id,
                        Relationship.partner_tenant_id,
                        Relationship.customer_tenant_id,
                    ).order_by(Relationship.created_at)
                ).all()
            return [(str(r), str(p), str(c)) for r, p, c in rows]

        def _target(self, data: st.DataObject, actor: Account) -> tuple[str, str | None]:
            tenant = self._pick(data, self.tenants, "tenant")
            return tenant, self._pick(data, self._users(tenant, actor), "user")

        # --- users ---------------------------------------------------------------------

        @rule(data=st.data(), privileged_name=st.booleans())
        def create_user(self, data: st.DataObject, privileged_name: bool) -> None:
            actor = self._actor(data)
            tenant = self._pick(data, self.tenants, "tenant")
            upn = f"{unique_label('x')}@{self.domains[tenant]}"
            body = {
                "user_principal_name": upn,
                "display_name": "Admin agents" if privileged_name else "New",
                "password": PASSWORD,
                "must_change_password": False,
            }
            made = self.call(actor, "POST", f"/tenants/{tenant}/users", json=body)
            if made.status_code == 201 and actor.attacker:
                self._take(upn, tenant, PASSWORD, on_behalf=tenant != actor.home)

        @rule(data=st.data(), enabled=st.booleans())
        def update_user(self, data: st.DataObject, enabled: bool) -> None:
            actor = self._actor(data)
            tenant, user = self._target(data, actor)
            if user:
                self.call(
                    actor,
                    "PATCH",
                    f"/tenants/{tenant}/users/{user}",
                    json={"enabled": enabled, "display_name": "Changed"},
                )

        @rule(data=st.data())
        def delete_user(self, data: st.DataObject) -> None:
            actor = self._actor(data)
            tenant, user = self._target(data, actor)
            if not user or user == actor.user_id:
                return
            deleted = self.call(actor, "DELETE", f"/tenants/{tenant}/users/{user}")
            if deleted.status_code == 204:
                self.accounts.pop(user, None)

        @rule(data=st.data())
        def reset_password(self, data: st.DataObject) -> None:
            actor = self._actor(data)
            tenant, user = self._target(data, actor)
            if not user or not actor.attacker:
                return  # an honest reset hands the attacker nothing
            reset = self.call(actor, "POST", f"/tenants/{tenant}/users/{user}/reset-password")
            if reset.status_code != 200:
                return
            with sessions() as session:
                target = session.get(User, uuid.UUID(user))
                assert target is not None
                upn = target.user_principal_name
            known = self.accounts.get(user)
            if known and not known.attacker:
                self.accounts.pop(user)  # its owner's password no longer works
            self._take(upn, tenant, reset.json()["temporary_password"], tenant != actor.home)

        # --- groups, members, roles ----------------------------------------------------

        @rule(data=st.data())
        def create_group(self, data: st.DataObject) -> None:
            actor = self._actor(data)
            tenant = self._pick(data, self.tenants, "tenant")
            self.call(actor, "POST", f"/tenants/{tenant}/groups", json={"name": unique_label("g")})

        @rule(data=st.data(), agent_name=st.booleans())
        def rename_group(self, data: st.DataObject, agent_name: bool) -> None:
            actor = self._actor(data)
            tenant = self._pick(data, self.tenants, "tenant")
            group = self._pick(data, self._groups(tenant), "group")
            if group:
                name = "Admin agents" if agent_name else unique_label("g")
                self.call(actor, "PATCH", f"/tenants/{tenant}/groups/{group}", json={"name": name})

        @rule(data=st.data())
        def delete_group(self, data: st.DataObject) -> None:
            actor = self._actor(data)
            tenant = self._pick(data, self.tenants, "tenant")
            group = self._pick(data, self._groups(tenant), "group")
            if group:
                self.call(actor, "DELETE", f"/tenants/{tenant}/groups/{group}")

        @rule(data=st.data(), add=st.booleans())
        def change_member(self, data: st.DataObject, add: bool) -> None:
            actor = self._actor(data)
            tenant, user = self._target(data, actor)
            group = self._pick(data, self._groups(tenant), "group")
            if not (user and group):
                return
            base = f"/tenants/{tenant}/groups/{group}/members"
            if add:
                self.call(actor, "POST", base, json={"user_id": user})
            else:
                self.call(actor, "DELETE", f"{base}/{user}")

        @rule(data=st.data(), role=st.sampled_from([r.value for r in Role]), to_group=st.booleans())
        def assign_role(self, data: st.DataObject, role: str, to_group: bool) -> None:
            actor = self._actor(data)
            tenant, user = self._target(data, actor)
            body: dict[str, Any] = {"role": role}
            if to_group:
                group = self._pick(data, self._groups_to_empower(tenant, actor), "group")
                if not group:
                    return
                body["group_id"] = group
            elif user:
                body["user_id"] = user
            else:
                return
            self.call(actor, "POST", f"/tenants/{tenant}/role-assignments", json=body)

        @rule(data=st.data())
        def unassign_role(self, data: st.DataObject) -> None:
            actor = self._actor(data)
            tenant = self._pick(data, self.tenants, "tenant")
            listed = self.call(actor, "GET", f"/tenants/{tenant}/role-assignments?limit=200")
            ids = [a["id"] for a in listed.json()["items"]] if listed.status_code == 200 else []
            chosen = self._pick(data, ids, "assignment")
            if chosen:
                self.call(actor, "DELETE", f"/tenants/{tenant}/role-assignments/{chosen}")

        # --- the partner programme -----------------------------------------------------

        @rule(
            data=st.data(),
            roles=st.none() | st.lists(st.sampled_from(DELEGABLE), min_size=1, max_size=3),
            aimed=st.booleans(),
        )
        def make_offer(self, data: st.DataObject, roles: list[str] | None, aimed: bool) -> None:
            actor = self._actor(data)
            body: dict[str, Any] = {}
            if roles is not None:
                body["roles"] = sorted(set(roles))
            if aimed:
                body["customer_tenant_id"] = self._pick(data, self.tenants, "customer")
                body.setdefault("roles", ["global_reader"])
            made = self.call(actor, "POST", "/partner/offers", json=body)
            if made.status_code == 201:
                self.offers.append(made.json()["token"])

        @rule(data=st.data())
        def accept_offer(self, data: st.DataObject) -> None:
            actor = self._actor(data)
            token = self._pick(data, self.offers, "offer")
            if not token:
                return
            done = self.call(actor, "POST", f"/offers/{token}/accept")
            if done.status_code == 201:
                relationship = done.json()
                # Consent only when the customer's own (honest) administrator accepted, or
                # the customer had let partners give admin roles (it handed the keys over).
                if not actor.attacker or actor.home in self.opted_in:
                    self._consent(relationship, relationship["customer_tenant_id"])

        @rule(data=st.data(), level=st.sampled_from(["full", "limited", "none"]))
        def set_agent(self, data: st.DataObject, level: str) -> None:
            actor = self._actor(data)
            user = self._pick(data, self._users(actor.home, actor), "user")
            if user:
                self.call(actor, "PUT", f"/partner/agents/{user}", json={"access": level})

        @rule(
            data=st.data(),
            roles=st.lists(st.sampled_from(DELEGABLE), max_size=3),
            eligible=st.lists(st.sampled_from(DELEGABLE), max_size=3),
            approval=st.booleans(),
        )
        def add_access_assignment(
            self, data: st.DataObject, roles: list[str], eligible: list[str], approval: bool
        ) -> None:
            actor = self._actor(data)
            relationship = self._pick(data, self._relationships(), "relationship")
            group = self._pick(data, self._groups_to_empower(actor.home, actor), "group")
            if relationship and group:
                body: dict[str, Any] = {
                    "group_id": group,
                    "roles": sorted(set(roles)),
                    "eligible_roles": sorted(set(eligible) - set(roles)),
                }
                if approval:
                    approvers = self._pick(
                        data, self._groups_to_empower(actor.home, actor), "approvers"
                    )
                    body |= {"approval_required": True, "approver_group_id": approvers}
                self.call(
                    actor,
                    "POST",
                    f"/partner/relationships/{relationship[0]}/access-assignments",
                    json=body,
                )

        @rule(
            data=st.data(),
            roles=st.lists(st.sampled_from(DELEGABLE), max_size=3),
            eligible=st.lists(st.sampled_from(DELEGABLE), max_size=3),
            everyone=st.booleans(),
        )
        def apply_access_template(
            self, data: st.DataObject, roles: list[str], eligible: list[str], everyone: bool
        ) -> None:
            """Access templates (issue 14): assignments in bulk, to every customer of the
            actor's home or to one customer (of any partner: another's is not selected)."""
            actor = self._actor(data)
            group = self._pick(data, self._groups_to_empower(actor.home, actor), "group")
            if not group:
                return
            entry = {
                "group_id": group,
                "roles": sorted(set(roles)),
                "eligible_roles": sorted(set(eligible) - set(roles)),
            }
            body = {"name": unique_label("tpl"), "assignments": [entry]}
            made = self.call(actor, "POST", "/partner/access-templates", json=body)
            if made.status_code != 201:
                return
            selection: dict[str, Any] = {}
            relationship = self._pick(data, self._relationships(), "relationship")
            if not everyone and relationship:
                selection = {"selection": {"customers": [relationship[2]]}}
            path = f"/partner/access-templates/{made.json()['id']}/apply"
            self.call(actor, "POST", path, json=selection)

        @rule(data=st.data())
        def unapply_access_template(self, data: st.DataObject) -> None:
            actor = self._actor(data)
            with sessions() as session:
                ids = session.scalars(select(AccessTemplate.id).order_by(AccessTemplate.id)).all()
            chosen = self._pick(data, [str(i) for i in ids], "template")
            if chosen:
                self.call(actor, "POST", f"/partner/access-templates/{chosen}/unapply", json={})

        # --- bulk jobs (issue 14) --------------------------------------------------------

        @rule(
            data=st.data(),
            action=st.sampled_from(
                ["reset_password", "add_to_group", "remove_from_group", "unblock_sign_in"]
            ),
            run_now=st.booleans(),
        )
        def bulk_job(self, data: st.DataObject, action: str, run_now: bool) -> None:
            """A job over one user of any tenant, made by any account, run by the runner as
            its maker (each item passes the same decision as the API call). An attacker's
            reset job hands it the temporary passwords (downloaded once) of what it reset."""
            actor = self._actor(data)
            tenant, user = self._target(data, actor)
            if not user:
                return
            params: dict[str, str] = {}
            if action in ("add_to_group", "remove_from_group"):
                group = self._pick(data, self._groups_to_empower(tenant, actor), "group")
                if not group:
                    return
                with sessions() as session:
                    found = session.get(Group, uuid.UUID(group))
                    assert found is not None
                    params = {"group": found.name}
            body = {
                "action": action,
                "params": params,
                "targets": [{"tenant_id": tenant, "user_id": user}],
            }
            made = self.call(actor, "POST", "/partner/jobs", json=body)
            if made.status_code != 202:
                return
            world.seen["jobs"] = world.seen.get("jobs", 0) + 1
            if run_now:
                self.run_jobs()
            if action != "reset_password" or not actor.attacker:
                return
            self.run_jobs()
            path = f"/partner/jobs/{made.json()['id']}/passwords"
            download = self.call(actor, "GET", path)
            if download.status_code != 200:
                return
            for line in download.text.strip().splitlines()[1:]:
                upn, home, uid, password = line.split(",")
                known = self.accounts.get(uid)
                if known and not known.attacker:
                    self.accounts.pop(uid)  # its owner's password no longer works
                world.seen["jobs: passwords taken"] = world.seen.get("jobs: passwords taken", 0) + 1
                self._take(upn, home, password, home != actor.home)

        @rule()
        def run_jobs(self) -> None:
            """The runner, as ``serve`` runs it (a job made long ago runs now)."""
            job_runner.run_pending(sessions, world.settings, clock())

        # --- just-in-time activations ----------------------------------------------------

        def _activations(self) -> list[tuple[str, str]]:
            """(activation, customer) of every activation, oldest first."""
            with sessions() as session:
                rows = session.execute(
                    select(Activation.id, Activation.customer_tenant_id).order_by(
                        Activation.requested_at, Activation.id
                    )
                ).all()
            return [(str(a), str(c)) for a, c in rows]

        @rule(
            data=st.data(),
            role=st.none() | st.sampled_from(DELEGABLE),
            minutes=st.sampled_from([30, 480]),
        )
        def request_activation(self, data: st.DataObject, role: str | None, minutes: int) -> None:
            """An account with a second factor (agents, mostly) asks for a role: one of the
            relationship's (None) or any."""
            with_factor = [a for a in self.accounts.values() if a.secret]
            actor = self._pick(data, with_factor, "actor")
            relationship = self._pick(data, self._relationships(), "relationship")
            if not (actor and relationship):
                return
            if role is None:
                with sessions() as session:
                    roles = session.scalar(
                        select(Relationship.roles).where(
                            Relationship.id == uuid.UUID(relationship[0])
                        )
                    )
                role = self._pick(data, sorted(roles or []), "role")
            self._sign_in(actor)  # a recent second factor, as activating needs
            self.call(
                actor,
                "POST",
                "/partner/activations",
                json={
                    "relationship_id": relationship[0],
                    "role": role,
                    "minutes": minutes,
                    "justification": "search",
                },
            )

        @rule(
            data=st.data(),
            verb=st.sampled_from(["approve", "deny", "end"]),
            by_customer=st.booleans(),
        )
        def decide_activation(self, data: st.DataObject, verb: str, by_customer: bool) -> None:
            actor = self._actor(data)
            chosen = self._pick(data, self._activations(), "activation")
            if not chosen:
                return
            if actor.secret and verb == "approve":
                self._sign_in(actor)
            activation, customer = chosen
            if by_customer:
                path = f"/tenants/{customer}/partner-activations/{activation}/{verb}"
            else:
                path = f"/partner/activations/{activation}/{verb}"
            self.call(actor, "POST", path)

        @rule(data=st.data())
        def remove_access_assignment(self, data: st.DataObject) -> None:
            actor = self._actor(data)
            with sessions() as session:
                rows = session.execute(
                    select(AccessAssignment.relationship_id, AccessAssignment.id).order_by(
                        AccessAssignment.created_at
                    )
                ).all()
            chosen = self._pick(data, [(str(r), str(a)) for r, a in rows], "assignment")
            if chosen:
                self.call(
                    actor,
                    "DELETE",
                    f"/partner/relationships/{chosen[0]}/access-assignments/{chosen[1]}",
                )

        @rule(
            data=st.data(),
            blocked=st.lists(st.sampled_from(POLICY_CHOICES), max_size=2),
            allow=st.booleans(),
            ga_approval=st.booleans(),
        )
        def set_policy(
            self, data: st.DataObject, blocked: list[str], allow: bool, ga_approval: bool
        ) -> None:
            actor = self._actor(data)
            tenant = self._pick(data, self.tenants, "tenant")
            body = {
                "blocked_permissions": sorted(set(blocked)),
                "allow_privileged_roles": allow,
                "require_customer_approval_for_global_admin": ga_approval,
            }
            done = self.call(actor, "PUT", f"/tenants/{tenant}/partner-policy", json=body)
            if done.status_code == 200:
                self.policy_blocked[tenant] = frozenset(body["blocked_permissions"])
                if allow:
                    self.opted_in.add(tenant)

        @rule(data=st.data(), by_customer=st.booleans())
        def end_relationship(self, data: st.DataObject, by_customer: bool) -> None:
            actor = self._actor(data)
            relationship = self._pick(data, self._relationships(), "relationship")
            if not relationship:
                return
            rid, _, customer = relationship
            if by_customer:
                self.call(actor, "DELETE", f"/tenants/{customer}/partner-relationships/{rid}")
            else:
                self.call(actor, "POST", f"/partner/relationships/{rid}/terminate")

        @rule(data=st.data())
        def enrol_mfa(self, data: st.DataObject) -> None:
            candidates = [a for a in self.controlled() if not a.secret]
            acc = self._pick(data, candidates, "account")
            if acc:
                self._enrol(acc)

        # --- API clients ---------------------------------------------------------------

        @rule(
            data=st.data(),
            partner_side=st.booleans(),
            roles=st.lists(st.sampled_from([r.value for r in Role]), min_size=1, max_size=2),
        )
        def create_api_client(
            self, data: st.DataObject, partner_side: bool, roles: list[str]
        ) -> None:
            actor = self._actor(data)
            name = unique_label("app")
            if partner_side:
                group = self._pick(data, self._groups_to_empower(actor.home, actor), "group")
                if not group:
                    return
                made = self.call(
                    actor,
                    "POST",
                    "/partner/api-clients",
                    json={"name": name, "group_ids": [group]},
                )
            else:
                tenant = self._pick(data, self.tenants, "tenant")
                made = self.call(
                    actor,
                    "POST",
                    f"/tenants/{tenant}/api-clients",
                    json={"name": name, "roles": sorted(set(roles))},
                )
            if made.status_code == 201 and actor.attacker:
                body = made.json()
                self.attacker_clients[body["client_id"]] = (body["id"], body["client_secret"])

        @rule(data=st.data())
        def api_client_acts(self, data: st.DataObject) -> None:
            """The attacker uses one of its apps: it makes a user wherever it can (and then
            controls that account)."""
            chosen = self._pick(data, sorted(self.attacker_clients), "client")
            if not chosen:
                return
            _, secret = self.attacker_clients[chosen]
            issued = client.post(
                "https://testserver/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(chosen, secret),
            )
            assert issued.status_code < 500, issued.text
            if issued.status_code != 200:
                return
            with sessions() as session:
                row = session.scalar(select(ApiClient).where(ApiClient.client_id == chosen))
                home = str(row.tenant_id) if row else self.a
            app = Account(
                chosen, home, f"app {chosen}", Api(client, issued.json()["access_token"]), True
            )
            tenant = self._pick(data, self.tenants, "tenant")
            upn = f"{unique_label('x')}@{self.domains[tenant]}"
            made = self.call(
                app,
                "POST",
                f"/tenants/{tenant}/users",
                json={
                    "user_principal_name": upn,
                    "display_name": "Automated",
                    "password": PASSWORD,
                    "must_change_password": False,
                },
            )
            if made.status_code == 201:
                self._take(upn, tenant, PASSWORD, on_behalf=tenant != home)

        # --- provisioning (SCIM) with A's token, held by the attacker --------------------

        def scim(self, method: str, tenant: str, path: str, **kw: Any) -> Any:
            response = client.request(
                method,
                f"/scim/v2/{tenant}{path}",
                headers={"Authorization": f"Bearer {self.scim_token}"},
                **kw,
            )
            self.log.append(
                f"attacker's provisioning token of A: {method} {self._name(tenant)} {path} "
                f"{kw.get('json')} -> {response.status_code}"
            )
            assert response.status_code < 500, self.log[-1] + " " + response.text
            if tenant != self.a:
                assert response.status_code == 404, f"I7: {self.log[-1]} {response.text}"
            world.steps[0] += 1
            return response

        def _scim_tenant(self, data: st.DataObject) -> str:
            """A, the token's own, more often than not; sometimes another (404 there)."""
            return (
                self.a
                if data.draw(st.booleans(), label="home")
                else self._pick(data, self.tenants, "tenant")
            )

        @rule(data=st.data())
        def scim_create_user(self, data: st.DataObject) -> None:
            tenant = self._scim_tenant(data)
            upn = f"{unique_label('s')}@{self.domains[tenant]}"
            body = {"schemas": [SCIM_USER], "userName": upn, "password": PASSWORD}
            if self.scim("POST", tenant, "/Users", json=body).status_code == 201:
                self._take(upn, tenant, PASSWORD, tenant != self.a, provisioned=True)

        @rule(data=st.data())
        def scim_set_password(self, data: st.DataObject) -> None:
            tenant = self._scim_tenant(data)
            user = self._pick(data, self._users(tenant, self.accounts[self.scim_actor]), "user")
            if not user:
                return
            password = PASSWORD + "-idp"
            body = {
                "schemas": [SCIM_PATCH],
                "Operations": [{"op": "replace", "path": "password", "value": password}],
            }
            if self.scim("PATCH", tenant, f"/Users/{user}", json=body).status_code != 200:
                return
            with sessions() as session:
                target = session.get(User, uuid.UUID(user))
                assert target is not None
                upn = target.user_principal_name
            known = self.accounts.get(user)
            if known and not known.attacker:
                self.accounts.pop(user)  # its owner's password no longer works
            self._take(upn, tenant, password, tenant != self.a, provisioned=True)

        @property
        def scim_actor(self) -> str:
            """Any attacker account (for the choice of users: the attacker's view)."""
            return next(acc.user_id for acc in self.accounts.values() if acc.attacker)

        @rule(data=st.data(), add=st.booleans())
        def scim_change_member(self, data: st.DataObject, add: bool) -> None:
            tenant = self._scim_tenant(data)
            user = self._pick(data, self._users(tenant, self.accounts[self.scim_actor]), "user")
            group = self._pick(data, self._groups(tenant), "group")
            if not (user and group):
                return
            operation = (
                {"op": "add", "path": "members", "value": [{"value": user}]}
                if add
                else {"op": "remove", "path": f'members[value eq "{user}"]'}
            )
            body = {"schemas": [SCIM_PATCH], "Operations": [operation]}
            self.scim("PATCH", tenant, f"/Groups/{group}", json=body)

        @rule(data=st.data(), delete=st.booleans())
        def scim_change_group(self, data: st.DataObject, delete: bool) -> None:
            tenant = self._scim_tenant(data)
            group = self._pick(data, self._groups(tenant), "group")
            if not group:
                return
            if delete:
                self.scim("DELETE", tenant, f"/Groups/{group}")
                return
            operation = {"op": "replace", "path": "displayName", "value": "Admin agents"}
            body = {"schemas": [SCIM_PATCH], "Operations": [operation]}
            self.scim("PATCH", tenant, f"/Groups/{group}", json=body)

        # --- services (OpenID Connect) ---------------------------------------------------

        @rule(data=st.data())
        def sign_in_to_a_service(self, data: st.DataObject) -> None:
            """An account signs in to the platform service, at home or on behalf of a tenant;
            the token the service gets says what the access decision gives now (I8)."""
            actor = self._actor(data)
            # Its home, a customer of its home (on behalf), or any tenant.
            customers = [c for _, p, c in self._relationships() if p == actor.home]
            tenant = self._pick(data, [actor.home, *customers, *self.tenants], "tenant")
            if actor.secret:
                self._sign_in(actor)  # a fresh sign-in with its second factor
            extra = {"tenant_id": tenant} if tenant != actor.home else {}
            try:
                code, verifier = code_for(client, actor.api.token or "", self.service, **extra)
            except (AssertionError, KeyError):
                # Refused on our page (no path, no role, no second factor): nothing issued.
                self.log.append(f"{actor.upn}: sign in to the service in {tenant}: refused")
                return
            issued = redeem(client, self.service, code, verifier)
            assert issued.status_code < 500, issued.text
            if issued.status_code != 200:
                return
            kind = "service tokens" + (" on behalf" if tenant != actor.home else "")
            world.seen[kind] = world.seen.get(kind, 0) + 1
            with sessions() as session:
                claims = signing_keys.verify(session, issued.json()["access_token"])
                principal = self._principal(session, actor.user_id)
                assert principal is not None
                decision = access.permissions(session, principal, uuid.UUID(tenant), world.clock())
                consents = self._live_consents(session)
            where = "\n  ".join(self.log[-40:])
            assert claims["aud"] == self.service.client_id and claims["tid"] == tenant
            assert sorted(claims["roles"]) == sorted(r.value for r in decision.roles), (
                f"I8: {actor.upn}'s token in {self._name(tenant)} says {claims['roles']}, the "
                f"decision {sorted(r.value for r in decision.roles)}\n  {where}"
            )
            if tenant == actor.home:
                assert "act" not in claims, f"I8: act at home\n  {where}"
                return
            assert claims.get("act", {}).get("sub") == actor.user_id, f"I8: no act\n  {where}"
            assert claims["act"].get("tid") == actor.home, f"I8: act's tid\n  {where}"
            if actor.attacker:
                assert (tenant, actor.home) in consents and actor.home == self.a, (
                    f"I8: attacker account {actor.upn} signed in to a service in "
                    f"{self._name(tenant)} without its consent\n  {where}"
                )

        # --- invariants ----------------------------------------------------------------

        def _roles(self, session: Session, user_id: str) -> set[Role]:
            return access.user_roles(session, [uuid.UUID(user_id)])[uuid.UUID(user_id)]

        def _power_groups(self, session: Session, user_id: str) -> set[str]:
            """Groups of this user whose members act in customers."""
            rows = session.scalars(
                select(Group.id)
                .join(GroupMember, GroupMember.group_id == Group.id)
                .where(
                    GroupMember.user_id == uuid.UUID(user_id),
                    (Group.agent_level.is_not(None))
                    | Group.id.in_(select(AccessAssignment.group_id))
                    | Group.id.in_(select(AccessAssignment.approver_group_id)),
                )
            ).all()
            return {str(g) for g in rows}

        def _live_consents(self, session: Session) -> dict[tuple[str, str], set[Permission]]:
            """(customer, partner) -> what the customer consented to, for live relationships."""
            live = {
                str(r)
                for r in session.scalars(
                    select(Relationship.id).where(Relationship.status.in_(LIVE_STATUSES))
                ).all()
            }
            out: dict[tuple[str, str], set[Permission]] = {}
            for rid, consent in self.consents.items():
                if rid in live:
                    perms = out.setdefault((consent.customer, consent.partner), set())
                    for role in consent.roles:
                        perms |= ROLE_PERMISSIONS[Role(role)]
            return out

        def _principal(self, session: Session, user_id: str) -> Principal | None:
            user = session.get(User, uuid.UUID(user_id))
            if user is None:
                return None
            return Principal(
                user.id, user.tenant_id, user.user_principal_name, "", True, False, None
            )

        @invariant()
        def no_path_to_power_without_consent(self) -> None:
            where = "\n  ".join(self.log[-40:])
            with sessions() as session:
                consents = self._live_consents(session)
                agents = session.scalars(
                    select(User.id).where(
                        User.tenant_id.in_([uuid.UUID(self.a), uuid.UUID(self.b)])
                    )
                ).all()
                checked = {str(u) for u in agents} | {a.user_id for a in self.controlled()}
                for user_id in sorted(checked):
                    principal = self._principal(session, user_id)
                    if principal is None:
                        continue
                    home = str(principal.tenant_id)
                    attacker = user_id in self.accounts and self.accounts[user_id].attacker
                    for tenant in self.tenants:
                        if tenant == home:
                            continue
                        decision = access.permissions(
                            session, principal, uuid.UUID(tenant), world.clock()
                        )
                        held = decision.permissions
                        if not held:
                            continue
                        consented = consents.get((tenant, home))
                        if attacker:
                            assert consented is not None and home == self.a, (
                                f"I1: attacker account {principal.user_principal_name} "
                                f"(home {self._name(home)}) acts in {self._name(tenant)} "
                                f"without its consent: {sorted(held)}\n  {where}"
                            )
                        allowed = (
                            (consented or set())
                            - DELEGATION_EXCLUSIONS
                            - {Permission(p) for p in self.policy_blocked.get(tenant, ())}
                        )
                        assert held <= allowed, (
                            f"I2: {principal.user_principal_name} holds {sorted(held - allowed)} "
                            f"in {self._name(tenant)} beyond what it consented to\n  {where}"
                        )
                for acc in self.controlled():
                    if session.get(User, uuid.UUID(acc.user_id)) is None:
                        continue
                    roles = self._roles(session, acc.user_id)
                    power = self._power_groups(session, acc.user_id)
                    if acc.user_id in self.minted_on_behalf:
                        assert not power, f"I3: {acc.upn} joined an agent group\n  {where}"
                        if acc.home not in self.opted_in:
                            assert roles <= UNPRIVILEGED_ROLES, (
                                f"I3: {acc.upn}, minted on behalf, holds {sorted(roles)}\n  {where}"
                            )
                    if acc.home == self.a:
                        assert roles <= self.initial_roles.get(acc.user_id, set()), (
                            f"I4: {acc.upn} promoted itself to {sorted(roles)}\n  {where}"
                        )
                        assert power <= self.initial_agent_groups.get(acc.user_id, set()), (
                            f"I4: {acc.upn} joined agent/access groups\n  {where}"
                        )

        @invariant()
        def activations_are_consented(self) -> None:
            """I5: never approved by the requester; power only within the relationship's
            roles; every approval it needed is in before it counts."""
            where = "\n  ".join(self.log[-40:])
            now = world.clock()
            with sessions() as session:
                rows = session.execute(
                    select(Activation, Relationship.roles).join(
                        Relationship, Relationship.id == Activation.relationship_id
                    )
                ).all()
                for activation, roles in rows:
                    approvers = {
                        activation.partner_approved_by_user_id,
                        activation.customer_approved_by_user_id,
                    }
                    assert activation.requester_user_id not in approvers, (
                        f"I5: {activation.requester_upn} approved its own activation\n  {where}"
                    )
                    if activation.status_at(now) != ActivationStatus.ACTIVE:
                        continue
                    assert activation.role in roles, f"I5: {activation.role} not consented"
                    if activation.partner_approval_required:
                        assert activation.partner_approved_at is not None, (
                            f"I5: started without its partner approval\n  {where}"
                        )
                    if activation.customer_approval_required:
                        assert activation.customer_approved_at is not None, (
                            f"I5: started without the customer's approval\n  {where}"
                        )

        @invariant()
        def api_clients_stay_within_consent(self) -> None:
            """I6: no client holds Global Administrator; a client's delegated power stays
            within consent; the attacker's clients act only where the attacker may."""
            where = "\n  ".join(self.log[-40:])
            with sessions() as session:
                consents = self._live_consents(session)
                for row, tenant_name in session.execute(
                    select(ApiClient, Tenant.name)
                    .join(Tenant, Tenant.id == ApiClient.tenant_id)
                    .where(ApiClient.tenant_id.in_([uuid.UUID(t) for t in self.tenants]))
                ).all():
                    principal = client_credentials.principal_of(row, tenant_name)
                    home = str(row.tenant_id)
                    attacker = row.client_id in self.attacker_clients
                    for tenant in self.tenants:
                        decision = access.permissions(
                            session, principal, uuid.UUID(tenant), world.clock()
                        )
                        assert Role.GLOBAL_ADMINISTRATOR not in decision.roles, (
                            f"I6: {principal.name} holds Global Administrator in "
                            f"{self._name(tenant)}\n  {where}"
                        )
                        held = decision.permissions
                        if tenant == home or not held:
                            continue
                        consented = consents.get((tenant, home))
                        if attacker:
                            assert consented is not None and home == self.a, (
                                f"I6: the attacker's {principal.name} acts in "
                                f"{self._name(tenant)} without its consent\n  {where}"
                            )
                        allowed = (
                            (consented or set())
                            - DELEGATION_EXCLUSIONS
                            - {Permission(p) for p in self.policy_blocked.get(tenant, ())}
                        )
                        assert held <= allowed, (
                            f"I6: {principal.name} holds {sorted(held - allowed)} in "
                            f"{self._name(tenant)} beyond consent\n  {where}"
                        )

        @invariant()
        def provisioning_stays_at_home_without_power(self) -> None:
            """I7: A's provisioning token reaches A only, with no role and nothing of power."""
            with sessions() as session:
                principal = provisioning_tokens.principal_for_token(
                    session, self.scim_token, world.clock()
                )
                assert principal is not None
                for tenant in self.tenants:
                    decision = access.permissions(
                        session, principal, uuid.UUID(tenant), world.clock()
                    )
                    if tenant != self.a:
                        assert not decision.reachable and not decision.permissions, "I7"
                        continue
                    assert not decision.roles, f"I7: the token holds {decision.roles}"
                    assert Permission.ROLES_ASSIGN not in decision.permissions, "I7"
                    assert Permission.USERS_MANAGE_PRIVILEGED not in decision.permissions, "I7"

        def _name(self, tenant: str) -> str:
            names = {self.a: "A", self.b: "B", self.c: "C", self.d: "D"}
            return names.get(tenant, tenant)

    return Escalation


def test_no_path_to_power_without_consent(
    client: Any, sessions: sessionmaker[Session], settings: Settings, clock: FakeClock
) -> None:
    world = World(client, sessions, settings, clock)
    run_state_machine_as_test(
        build_machine(world),
        settings=settings_for_search(),
    )
    with sessions() as session:
        made = session.execute(
            select(Activation.status, func.count()).group_by(Activation.status)
        ).all()
    print(
        f"escalation search: {world.steps[0]} API calls; activations by status: {made}; "
        f"{world.seen}"
    )


def settings_for_search() -> search_settings:
    return search_settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize="TENANTRY_FUZZ_EXAMPLES" not in os.environ,
        database=None,
    )
