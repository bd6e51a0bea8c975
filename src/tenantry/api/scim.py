"""The SCIM 2.0 service provider of each organisation, at /scim/v2/{tid}/ (RFC 7644): thin
routes over ``tenantry.provisioning``; answers in ``application/scim+json``, refusals as SCIM
Error responses (RFC 7644 §3.12: ``status`` and ``scimType``), never problem+json.

Authentication is a provisioning token of the organisation (``Authorization: Bearer
tnryscim_...``); a person's or an app's token is not one (401). Another organisation's id in
the path is not found (404), whichever token asks.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from scim2_models import (
    Context as ScimContext,
)
from scim2_models import (
    Error,
    ListResponse,
    ResponseParameters,
    SCIMException,
    SearchRequest,
)

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.api.deps import new_context
from tenantry.api.routing import TransactionalRoute
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, NotFound, ServiceError, Unauthenticated
from tenantry.provisioning import groups, resources, search, tokens, users
from tenantry.provisioning.common import Found, Paging, object_body

log = logging.getLogger("tenantry.scim")
MEDIA_TYPE = "application/scim+json"
PREFIX = "/scim/v2/{tid}"
UNIQUENESS_SLUGS = {"duplicate", "duplicate-upn"}


class ScimResponse(JSONResponse):
    media_type = MEDIA_TYPE


def error_response(status: int, detail: str, scim_type: str | None = None) -> ScimResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if status == 401 else None
    body = Error(status=status, scim_type=scim_type, detail=detail).model_dump()
    return ScimResponse(body, status_code=status, headers=headers)


def _refusal(request: Request, exc: BaseException) -> ScimResponse:
    """Any refusal as a SCIM Error: the directory's and the access decision's (their status,
    with SCIM's keyword where one fits), scim2-models' (their own), bad JSON (invalidSyntax)."""
    if isinstance(exc, SCIMException):
        error = exc.to_error()
        return error_response(int(error.status or 400), error.detail or str(exc), error.scim_type)
    if isinstance(exc, ValidationError):
        error = Error.from_validation_errors(exc)[0]
        return error_response(int(error.status or 400), error.detail or "Invalid.", error.scim_type)
    if isinstance(exc, RequestValidationError):
        return error_response(400, "The request body is not valid JSON.", "invalidSyntax")
    if isinstance(exc, ServiceError):
        request.state.problem_slug = exc.slug  # counted by the metrics (app.py)
        status, scim_type = exc.status, None
        if status == 422:  # SCIM has no 422: a value the directory refuses
            status, scim_type = 400, "invalidValue"
        elif isinstance(exc, Conflict) and exc.slug in UNIQUENESS_SLUGS:
            scim_type = "uniqueness"
        response = error_response(status, exc.detail, scim_type)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "Something went wrong on our side; the request id helps us find it.")


class ScimRoute(TransactionalRoute):
    """One transaction per request (``TransactionalRoute``), and every refusal answered as a
    SCIM Error after the rollback."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                return _refusal(request, exc)

        return run


api = APIRouter(route_class=ScimRoute, include_in_schema=False, tags=["scim"])


def _tenant(tid: str) -> uuid.UUID:
    try:
        return uuid.UUID(tid)
    except ValueError:
        raise NotFound("Organisation not found.") from None


def scim_context(request: Request, tid: str) -> Context:
    """The request's context with the provisioning token's principal (401 without one)."""
    ctx = new_context(request)
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated("Send 'Authorization: Bearer <provisioning token>'.")
    principal = tokens.principal_for_token(ctx.session, value.strip(), ctx.now)
    if principal is None:
        raise Unauthenticated(
            "The provisioning token is unknown, revoked or expired.", slug="invalid-token"
        )
    ctx.principal = principal
    return ctx


ScimCtx = Annotated[Context, Depends(scim_context)]
IfMatch = Annotated[str | None, Header(max_length=512)]


def _base(request: Request, tid: uuid.UUID) -> str:
    return str(request.base_url).rstrip("/") + f"/scim/v2/{tid}"


def _parameters(request: Request) -> ResponseParameters:
    params = request.query_params
    return ResponseParameters.model_validate(
        {
            "attributes": params.get("attributes") or None,
            "excludedAttributes": params.get("excludedAttributes") or None,
        }
    )


def _one(
    resource: resources.User | resources.Group,
    context: ScimContext,
    parameters: ResponseParameters | None = None,
    status: int = 200,
) -> ScimResponse:
    body = resource.model_dump(scim_ctx=context, response_parameters=parameters)
    headers = {}
    if resource.meta is not None and resource.meta.version:
        headers["ETag"] = resource.meta.version
    if status == 201 and resource.meta is not None and resource.meta.location:
        headers["Location"] = resource.meta.location
    return ScimResponse(body, status_code=status, headers=headers)


def _list(found: Found[Any], model: Any, parameters: ResponseParameters) -> ScimResponse:
    listed = ListResponse[model](
        total_results=found.total,
        start_index=found.start_index,
        items_per_page=len(found.items),
        resources=found.items,
    )
    return ScimResponse(
        listed.model_dump(
            scim_ctx=ScimContext.RESOURCE_QUERY_RESPONSE, response_parameters=parameters
        )
    )


# --- discovery -------------------------------------------------------------------------------


def _discovery(ctx: Context, tid: str) -> uuid.UUID:
    tenant_id = _tenant(tid)
    access.require(ctx, tenant_id, Permission.TENANT_READ)
    return tenant_id


@api.get(PREFIX + "/ServiceProviderConfig")
def service_provider_config(tid: str, ctx: ScimCtx, request: Request) -> ScimResponse:
    tenant_id = _discovery(ctx, tid)
    config = resources.service_provider_config(_base(request, tenant_id))
    return ScimResponse(config.model_dump(scim_ctx=ScimContext.RESOURCE_QUERY_RESPONSE))


def _listed(items: list[Any], model: Any) -> ScimResponse:
    listed = ListResponse[model](
        total_results=len(items), start_index=1, items_per_page=len(items), resources=items
    )
    return ScimResponse(listed.model_dump(scim_ctx=ScimContext.RESOURCE_QUERY_RESPONSE))


@api.get(PREFIX + "/Schemas")
def list_schemas(tid: str, ctx: ScimCtx, request: Request) -> ScimResponse:
    tenant_id = _discovery(ctx, tid)
    return _listed(resources.schemas(_base(request, tenant_id)), resources.Schema)


@api.get(PREFIX + "/Schemas/{schema_id}")
def get_schema(tid: str, schema_id: str, ctx: ScimCtx, request: Request) -> ScimResponse:
    tenant_id = _discovery(ctx, tid)
    for schema in resources.schemas(_base(request, tenant_id)):
        if schema.id == schema_id:
            return ScimResponse(schema.model_dump(scim_ctx=ScimContext.RESOURCE_QUERY_RESPONSE))
    raise NotFound(f"There is no schema {schema_id}.")


@api.get(PREFIX + "/ResourceTypes")
def list_resource_types(tid: str, ctx: ScimCtx, request: Request) -> ScimResponse:
    tenant_id = _discovery(ctx, tid)
    return _listed(resources.resource_types(_base(request, tenant_id)), resources.ResourceType)


@api.get(PREFIX + "/ResourceTypes/{type_id}")
def get_resource_type(tid: str, type_id: str, ctx: ScimCtx, request: Request) -> ScimResponse:
    tenant_id = _discovery(ctx, tid)
    for resource_type in resources.resource_types(_base(request, tenant_id)):
        if resource_type.id == type_id:
            return ScimResponse(
                resource_type.model_dump(scim_ctx=ScimContext.RESOURCE_QUERY_RESPONSE)
            )
    raise NotFound(f"There is no resource type {type_id}.")


# --- Users -----------------------------------------------------------------------------------


@api.get(PREFIX + "/Users")
def list_users(tid: str, ctx: ScimCtx, request: Request) -> ScimResponse:
    tenant_id = _tenant(tid)
    params = request.query_params
    found = users.list_users(
        ctx,
        tenant_id,
        _base(request, tenant_id),
        params.get("filter"),
        Paging.read(params.get("startIndex"), params.get("count")),
    )
    return _list(found, resources.User, _parameters(request))


def _search(body: Any) -> tuple[SearchRequest[Any], Paging]:
    search: SearchRequest[Any] = SearchRequest.model_validate(
        object_body(body), scim_ctx=ScimContext.SEARCH_REQUEST
    )
    return search, Paging.read(search.start_index, search.count)


def _search_parameters(search: SearchRequest[Any]) -> ResponseParameters:
    return ResponseParameters(
        attributes=search.attributes, excluded_attributes=search.excluded_attributes
    )


@api.post(PREFIX + "/Users/.search")
def search_users(
    tid: str, ctx: ScimCtx, request: Request, body: Annotated[Any, Body()] = None
) -> ScimResponse:
    tenant_id = _tenant(tid)
    search, paging = _search(body)
    found = users.list_users(
        ctx, tenant_id, _base(request, tenant_id), str(search.filter or "") or None, paging
    )
    return _list(found, resources.User, _search_parameters(search))


@api.post(PREFIX + "/Users")
def create_user(
    tid: str, ctx: ScimCtx, request: Request, body: Annotated[Any, Body()] = None
) -> ScimResponse:
    tenant_id = _tenant(tid)
    user = users.create_user(ctx, tenant_id, _base(request, tenant_id), body)
    return _one(user, ScimContext.RESOURCE_CREATION_RESPONSE, _parameters(request), 201)


@api.get(PREFIX + "/Users/{user_id}")
def get_user(tid: str, user_id: str, ctx: ScimCtx, request: Request) -> ScimResponse:
    tenant_id = _tenant(tid)
    user = users.get_user(ctx, tenant_id, _base(request, tenant_id), user_id)
    return _one(user, ScimContext.RESOURCE_QUERY_RESPONSE, _parameters(request))


@api.put(PREFIX + "/Users/{user_id}")
def replace_user(
    tid: str,
    user_id: str,
    ctx: ScimCtx,
    request: Request,
    body: Annotated[Any, Body()] = None,
    if_match: IfMatch = None,
) -> ScimResponse:
    tenant_id = _tenant(tid)
    user = users.replace_user(ctx, tenant_id, _base(request, tenant_id), user_id, body, if_match)
    return _one(user, ScimContext.RESOURCE_REPLACEMENT_RESPONSE, _parameters(request))


@api.patch(PREFIX + "/Users/{user_id}")
def patch_user(
    tid: str,
    user_id: str,
    ctx: ScimCtx,
    request: Request,
    body: Annotated[Any, Body()] = None,
    if_match: IfMatch = None,
) -> ScimResponse:
    tenant_id = _tenant(tid)
    user = users.patch_user(ctx, tenant_id, _base(request, tenant_id), user_id, body, if_match)
    return _one(user, ScimContext.RESOURCE_PATCH_RESPONSE, _parameters(request))


@api.delete(PREFIX + "/Users/{user_id}", status_code=204)
def delete_user(
    tid: str, user_id: str, ctx: ScimCtx, request: Request, if_match: IfMatch = None
) -> Response:
    tenant_id = _tenant(tid)
    users.delete_user(ctx, tenant_id, _base(request, tenant_id), user_id, if_match)
    return Response(status_code=204)


# --- Groups ----------------------------------------------------------------------------------


@api.get(PREFIX + "/Groups")
def list_groups(tid: str, ctx: ScimCtx, request: Request) -> ScimResponse:
    tenant_id = _tenant(tid)
    params = request.query_params
    found = groups.list_groups(
        ctx,
        tenant_id,
        _base(request, tenant_id),
        params.get("filter"),
        Paging.read(params.get("startIndex"), params.get("count")),
    )
    return _list(found, resources.Group, _parameters(request))


@api.post(PREFIX + "/Groups/.search")
def search_groups(
    tid: str, ctx: ScimCtx, request: Request, body: Annotated[Any, Body()] = None
) -> ScimResponse:
    tenant_id = _tenant(tid)
    search, paging = _search(body)
    found = groups.list_groups(
        ctx, tenant_id, _base(request, tenant_id), str(search.filter or "") or None, paging
    )
    return _list(found, resources.Group, _search_parameters(search))


@api.post(PREFIX + "/Groups")
def create_group(
    tid: str, ctx: ScimCtx, request: Request, body: Annotated[Any, Body()] = None
) -> ScimResponse:
    tenant_id = _tenant(tid)
    group = groups.create_group(ctx, tenant_id, _base(request, tenant_id), body)
    return _one(group, ScimContext.RESOURCE_CREATION_RESPONSE, _parameters(request), 201)


@api.get(PREFIX + "/Groups/{group_id}")
def get_group(tid: str, group_id: str, ctx: ScimCtx, request: Request) -> ScimResponse:
    tenant_id = _tenant(tid)
    group = groups.get_group(ctx, tenant_id, _base(request, tenant_id), group_id)
    return _one(group, ScimContext.RESOURCE_QUERY_RESPONSE, _parameters(request))


@api.put(PREFIX + "/Groups/{group_id}")
def replace_group(
    tid: str,
    group_id: str,
    ctx: ScimCtx,
    request: Request,
    body: Annotated[Any, Body()] = None,
    if_match: IfMatch = None,
) -> ScimResponse:
    tenant_id = _tenant(tid)
    group = groups.replace_group(
        ctx, tenant_id, _base(request, tenant_id), group_id, body, if_match
    )
    return _one(group, ScimContext.RESOURCE_REPLACEMENT_RESPONSE, _parameters(request))


@api.patch(PREFIX + "/Groups/{group_id}")
def patch_group(
    tid: str,
    group_id: str,
    ctx: ScimCtx,
    request: Request,
    body: Annotated[Any, Body()] = None,
    if_match: IfMatch = None,
) -> ScimResponse:
    tenant_id = _tenant(tid)
    group = groups.patch_group(ctx, tenant_id, _base(request, tenant_id), group_id, body, if_match)
    return _one(group, ScimContext.RESOURCE_PATCH_RESPONSE, _parameters(request))


@api.delete(PREFIX + "/Groups/{group_id}", status_code=204)
def delete_group(
    tid: str, group_id: str, ctx: ScimCtx, request: Request, if_match: IfMatch = None
) -> Response:
    tenant_id = _tenant(tid)
    groups.delete_group(ctx, tenant_id, _base(request, tenant_id), group_id, if_match)
    return Response(status_code=204)


# --- both at once ----------------------------------------------------------------------------


@api.post(PREFIX + "/.search")
def search_everything(
    tid: str, ctx: ScimCtx, request: Request, body: Annotated[Any, Body()] = None
) -> ScimResponse:
    """Users and Groups in one search (users first)."""
    tenant_id = _tenant(tid)
    request_, paging = _search(body)
    found = search.search_all(
        ctx, tenant_id, _base(request, tenant_id), str(request_.filter or "") or None, paging
    )
    return _list(found, resources.User | resources.Group, _search_parameters(request_))


# --- everything else: 405 on a known path, 404 elsewhere, as SCIM Errors ------------------------

KNOWN: list[tuple[re.Pattern[str], set[str]]] = [
    (re.compile(r"^(ServiceProviderConfig|Schemas|ResourceTypes)$"), {"GET"}),
    (re.compile(r"^(Schemas|ResourceTypes)/[^/]+$"), {"GET"}),
    (re.compile(r"^(Users|Groups)$"), {"GET", "POST"}),
    (re.compile(r"^(Users|Groups)/\.search$"), {"POST"}),
    (re.compile(r"^(Users|Groups)/[^/]+$"), {"GET", "PUT", "PATCH", "DELETE"}),
    (re.compile(r"^\.search$"), {"POST"}),
]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@api.api_route(PREFIX + "/{rest:path}", methods=METHODS)
def elsewhere(tid: str, rest: str, ctx: ScimCtx, request: Request) -> ScimResponse:
    _discovery(ctx, tid)
    for pattern, methods in KNOWN:
        if pattern.match(rest):
            response = error_response(405, f"{request.method} is not supported here.")
            response.headers["Allow"] = ", ".join(sorted(methods))
            return response
    raise NotFound(f"There is no SCIM endpoint /{rest}.")
