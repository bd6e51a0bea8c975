"""The one shape of a set of customers in the API (partners/selection.py): in a body
(``CustomerSelectionIn``) and in a query string (``customer_selection_query``, repeatable
``group``, ``customer``, ``except_group``, ``except_customer``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query
from pydantic import Field

from tenantry.api.schemas.common import Body
from tenantry.partners.selection import CustomerSelection

MAX_CHOSEN = 10_000


class CustomerSelectionIn(Body):
    """Customers in any of ``groups`` or among ``customers`` (every customer when both are
    empty), except those in ``except_groups`` or ``except_customers``."""

    groups: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    customers: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_CHOSEN)
    except_groups: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    except_customers: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_CHOSEN)

    def to_selection(self) -> CustomerSelection:
        return CustomerSelection(
            groups=tuple(self.groups),
            customers=tuple(self.customers),
            except_groups=tuple(self.except_groups),
            except_customers=tuple(self.except_customers),
        )


def customer_selection_query(
    group: Annotated[list[uuid.UUID] | None, Query(max_length=100)] = None,
    customer: Annotated[list[uuid.UUID] | None, Query(max_length=1000)] = None,
    except_group: Annotated[list[uuid.UUID] | None, Query(max_length=100)] = None,
    except_customer: Annotated[list[uuid.UUID] | None, Query(max_length=1000)] = None,
) -> CustomerSelection | None:
    """A FastAPI dependency: the selection in the query string, None when none is given."""
    if not (group or customer or except_group or except_customer):
        return None
    return CustomerSelection(
        groups=tuple(group or ()),
        customers=tuple(customer or ()),
        except_groups=tuple(except_group or ()),
        except_customers=tuple(except_customer or ()),
    )
