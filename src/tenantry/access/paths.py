"""How a role reaches a principal in a tenant (the access decision's ``path``)."""

from __future__ import annotations

from enum import StrEnum


class DecisionPath(StrEnum):
    """A member acts in its home tenant; a partner agent's roles are delegated, so they are
    cut by the relationship's roles and the delegation exclusions, and audited as such."""

    MEMBER = "member"
    DELEGATED = "delegated"
