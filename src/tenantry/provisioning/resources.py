"""The SCIM resources Tenantry serves, declared on scim2-models, and the discovery documents
(ServiceProviderConfig, ResourceTypes, Schemas) built from them, so what the Schemas endpoint
publishes is exactly what the server reads and writes.

The User and Group schemas are the core schemas' URNs with the attributes Tenantry keeps:

* User: ``userName`` (the UPN, or a bare name completed with the default domain), ``displayName``
  and ``active`` (declared required: a Tenantry user always has a name and is enabled or not,
  so neither can be unassigned; a create without them takes userName and true), ``password``
  (write-only, never returned), ``emails``, ``externalId``, and ``groups`` (read-only).
* Group: ``displayName`` (required), ``externalId`` and ``members`` (users, by ``value`` and
  ``$ref``).

Admin roles are not an attribute: they are given by the organisation's Global Administrators,
never by provisioning.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    ETag,
    Filter,
    Mutability,
    Pagination,
    Patch,
    Reference,
    Required,
    Resource,
    ResourceType,
    Returned,
    Schema,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
)
from scim2_models import Meta as Meta
from scim2_models.resources.user import Email as Email

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
MAX_RESULTS = 200
DEFAULT_COUNT = 100


class GroupRef(ComplexAttribute):
    """A group the user is in (read-only: membership is changed on the group)."""

    value: Annotated[str | None, Mutability.read_only, CaseExact.true] = None
    ref: Annotated[Reference[Group] | None, Mutability.read_only] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    display: Annotated[str | None, Mutability.read_only] = None


class User(Resource[Any]):
    """A user of the tenant's directory."""

    __schema__ = URN(USER_SCHEMA)

    user_name: Annotated[str | None, Required.true, Uniqueness.server] = None
    """The user's sign-in name: its user principal name (name@domain, a verified domain of
    the organisation), or a bare name that the default domain completes."""

    display_name: Annotated[str | None, Required.true] = None
    """The name shown for the user."""

    active: Annotated[bool | None, Required.true] = None
    """Whether the user may sign in (a disabled user's sessions end at once)."""

    password: Annotated[str | None, Mutability.write_only, Returned.never] = None
    """A password of the user's own (never returned; not for privileged users)."""

    emails: list[Email] | None = None
    """The user's e-mail addresses."""

    groups: Annotated[list[GroupRef] | None, Mutability.read_only] = None
    """The groups the user is a member of."""


class Member(ComplexAttribute):
    """A member of a group: a user of the same organisation."""

    value: Annotated[str | None, Mutability.immutable, CaseExact.true] = None
    ref: Annotated[Reference[User] | None, Mutability.immutable] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )


class Group(Resource[Any]):
    """A security group of the tenant's directory."""

    __schema__ = URN(GROUP_SCHEMA)

    display_name: Annotated[str | None, Required.true, Uniqueness.server] = None
    """The group's name (unique in the organisation)."""

    members: list[Member] | None = None
    """The users in the group."""


def _schema(model: type[Resource[Any]], name: str, description: str, base: str) -> Schema:
    schema = model.to_schema()
    schema.name = name
    schema.description = description
    schema.meta = Meta(resource_type="Schema", location=f"{base}/Schemas/{schema.id}")
    return schema


def schemas(base: str) -> list[Schema]:
    return [
        _schema(User, "User", "A user of the organisation's directory", base),
        _schema(Group, "Group", "A security group of the organisation's directory", base),
    ]


def resource_types(base: str) -> list[ResourceType]:
    out = []
    for name, endpoint, schema, description in (
        ("User", "/Users", USER_SCHEMA, "User accounts"),
        ("Group", "/Groups", GROUP_SCHEMA, "Security groups"),
    ):
        out.append(
            ResourceType.model_validate(
                {
                    "id": name,
                    "name": name,
                    "endpoint": endpoint,
                    "description": description,
                    "schema": schema,
                    "meta": {
                        "resourceType": "ResourceType",
                        "location": f"{base}/ResourceTypes/{name}",
                    },
                }
            )
        )
    return out


def service_provider_config(base: str) -> ServiceProviderConfig:
    """What is supported, truthfully: PATCH, filtering (up to ``MAX_RESULTS`` a page), ETags,
    changing passwords (of unprivileged users), index paging; no bulk, no sorting."""
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=True),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        pagination=Pagination(
            cursor=False,
            index=True,
            default_pagination_method=Pagination.DefaultPaginationMethod.index,
            default_page_size=DEFAULT_COUNT,
            max_page_size=MAX_RESULTS,
        ),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Provisioning token",
                description=(
                    "A bearer token made by the organisation's Global Administrator at "
                    "POST /api/v1/tenants/{tid}/scim-tokens, sent as "
                    "'Authorization: Bearer tnryscim_...'."
                ),
                primary=True,
            )
        ],
        meta=Meta(resource_type="ServiceProviderConfig", location=f"{base}/ServiceProviderConfig"),
    )
