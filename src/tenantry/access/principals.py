"""Who a principal acts as, written once for every path and for the rule's SQL form: the
groups it acts through, and what an API client can never hold.

A person acts through the groups it is a member of; a partner's API client acts through the
partner groups it was put in (an agent group or another security group of the partner), so it
gets exactly the delegated decision of an agent of those groups; a tenant's API client has no
groups, only the roles given to it (``member_path``).
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from sqlalchemy import Select, select

from tenantry.access.grants import Decision
from tenantry.access.roles import Role
from tenantry.core.context import Principal
from tenantry.models import ApiClientGroup, GroupMember

# Roles an API client never holds, on any path: Global Administrator (a tenant client is
# refused it when created, a partner client's grant of it through its groups is held back).
# A secret or key in a script is a standing credential with no person behind each use, so
# the role that can change everything — who the administrators are, the partner programme,
# the API clients themselves — stays with people who sign in with a second factor.
CLIENTS_NEVER_HOLD: frozenset[Role] = frozenset({Role.GLOBAL_ADMINISTRATOR})

CLIENTS_NEVER_NOTE = (
    "API clients never hold Global Administrator, whatever their groups or roles give; "
    "give the app the narrower roles it needs."
)


def principal_groups(principal: Principal) -> Select[uuid.UUID]:
    """The ids of the groups ``principal`` acts through, as a subquery: a user's group
    memberships, or an API client's groups."""
    if principal.client_id is not None:
        return select(ApiClientGroup.group_id).where(
            ApiClientGroup.client_id == principal.client_id
        )
    return select(GroupMember.group_id).where(GroupMember.user_id == principal.user_id)


def held_back_for_clients(decision: Decision) -> Decision:
    """The decision without the grants an API client never holds (``CLIENTS_NEVER_HOLD``),
    on whichever path they came; the explanation names what was held back."""
    if not decision.principal.is_client:
        return decision
    kept = tuple(g for g in decision.grants if g.role not in CLIENTS_NEVER_HOLD)
    if len(kept) == len(decision.grants):
        return decision
    dropped = "; ".join(g.describe() for g in decision.grants if g.role in CLIENTS_NEVER_HOLD)
    note = f"{CLIENTS_NEVER_NOTE} Held back: {dropped}."
    return replace(decision, grants=kept, notes=(*decision.notes, note))
