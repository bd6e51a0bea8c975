"""The one access decision (docs/architecture.md §2): what may this principal do in this
tenant, and why.

``permissions()`` answers with a ``Decision`` that carries every grant it found (role, path,
assignment), so a refusal can explain itself. Service functions call ``require()`` at their
entry points; nothing else in the code base checks roles. Callers use ``access.X``; the
modules, from the bottom up:

- ``roles``: permissions and the built-in roles (data, not logic);
- ``grants``: ``Grant`` and ``Decision``, and the wording that explains a decision;
- ``json_lists``: JSON lists of roles in SQL (holds, shares), for the paths and the SQL rule;
- ``paths``: the member and delegated paths into a tenant (standing roles and just-in-time
  activations), and the MFA rule for agents (a passkey where the partner requires one);
- ``principals``: the groups a principal acts through (a user's, an API client's) and what an
  API client never holds;
- ``sql``: the delegated rule as a SQL condition for sets (``restrict_to``, ``administrable``);
- ``gate``: ``permissions``, ``decide``, ``require``, ``deny`` and the audit of a refusal;
- ``privilege``: privileged groups and users, and the gates that guard them.
"""

from tenantry.access.gate import decide, deny, explain, permissions, require
from tenantry.access.grants import Decision, Grant
from tenantry.access.paths import (
    MFA_REQUIRED,
    PATHS,
    PathResolver,
    activated_links,
    delegated_links,
    delegated_path,
    member_path,
    partner_requires_passkey,
    provisioning_path,
    second_factor_held_back,
)
from tenantry.access.principals import (
    CLIENTS_NEVER_HOLD,
    held_back_for_clients,
    principal_groups,
)
from tenantry.access.privilege import (
    PARTNER_PROGRAMME_NEVER,
    GroupPower,
    at_home_refusal,
    group_power,
    is_privileged,
    managed_at_home,
    partner_may_mint_power,
    privileged_because,
    require_at_home,
    require_group_change,
    require_member_added,
    require_on_user,
    require_role_grant,
    require_sign_in_that_may_act_on_behalf,
    runs_partner_programme,
    user_roles,
)
from tenantry.access.sql import (
    administrable,
    granting_roles,
    json_has_any,
    json_holds,
    json_lists_share,
    own_partner_only,
    restrict_row_by_row,
    restrict_to,
)

__all__ = [
    "CLIENTS_NEVER_HOLD",
    "MFA_REQUIRED",
    "PARTNER_PROGRAMME_NEVER",
    "PATHS",
    "Decision",
    "Grant",
    "GroupPower",
    "PathResolver",
    "activated_links",
    "administrable",
    "at_home_refusal",
    "decide",
    "delegated_links",
    "delegated_path",
    "deny",
    "explain",
    "granting_roles",
    "group_power",
    "held_back_for_clients",
    "is_privileged",
    "json_has_any",
    "json_holds",
    "json_lists_share",
    "managed_at_home",
    "member_path",
    "own_partner_only",
    "partner_may_mint_power",
    "partner_requires_passkey",
    "permissions",
    "principal_groups",
    "privileged_because",
    "provisioning_path",
    "require",
    "require_at_home",
    "require_group_change",
    "require_member_added",
    "require_on_user",
    "require_role_grant",
    "require_sign_in_that_may_act_on_behalf",
    "restrict_row_by_row",
    "restrict_to",
    "runs_partner_programme",
    "second_factor_held_back",
    "user_roles",
]
