"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from tenantry.api.schemas.common import Problem
from tenantry.core.errors import ServiceError, TooManyRequests, Unauthenticated, Unavailable

log = logging.getLogger("tenantry.api")
MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "urn:tenantry:problem:"


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": text}
    for status, text in {
        400: "Bad request",
        401: "Not signed in, or the token is no longer valid",
        403: "Not allowed; the detail explains why",
        404: "Not found (or not visible to you)",
        409: "Conflicts with the current state",
        410: "No longer available",
        412: "The resource changed since you read it (If-Match)",
        422: "The request is not valid",
        428: "Send If-Match with the ETag you read",
        429: "Too many attempts",
        503: "A service this request needs is unavailable",
    }.items()
}


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    request: Request,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _for_pages(request: Request) -> bool:
    """Errors of web pages (anything outside the API and OAuth's endpoints, and OpenID
    Connect's two pages: authorize and end-session) are rendered as pages, not JSON."""
    path = request.url.path
    if path in OIDC_PAGES:
        return hasattr(request.app.state, "page_errors")
    return hasattr(request.app.state, "page_errors") and not path.startswith(("/api/", "/oauth2/"))


# The OpenID Connect endpoints a browser is sent to (identity.oidc): pages, not JSON.
OIDC_PAGES = frozenset({"/oauth2/authorize", "/oauth2/logout"})


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> Response:
        request.state.problem_slug = exc.slug  # counted by the metrics (app.py)
        if _for_pages(request):
            return await request.app.state.page_errors(request, exc)
        headers: dict[str, str] = {}
        if isinstance(exc, TooManyRequests | Unavailable) and exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, Unauthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        return problem(exc.status, exc.slug, exc.title, exc.detail, request, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if _for_pages(request):
            return await request.app.state.page_errors(request, exc)
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid"}
        where = ".".join(first["loc"][1:]) or "request"
        return problem(
            422,
            "invalid-input",
            "The request is not valid",
            f"{where}: {first['msg']}",
            request,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _for_pages(request):
            return await request.app.state.page_errors(request, exc)
        titles = {404: "Not found", 405: "Method not allowed"}
        return problem(
            exc.status_code,
            "http-" + str(exc.status_code),
            titles.get(exc.status_code, "Error"),
            str(exc.detail),
            request,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if _for_pages(request):
            return await request.app.state.page_errors(request, exc)
        return problem(
            500,
            "internal",
            "Internal error",
            "Something went wrong on our side; the request id helps us find it.",
            request,
        )
