"""The ASGI application: API under /api/v1, request ids, problem+json errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from urllib.parse import unquote

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse

from tenantry import __version__
from tenantry.api import problems
from tenantry.api.deps import request_id
from tenantry.api.routes import (
    audit,
    auth,
    billing,
    devices,
    domains,
    roles,
    support,
    tenants,
    users,
)
from tenantry.config import Settings, load_settings
from tenantry.db import make_engine, make_sessionmaker

API_PREFIX = "/api/v1"


def storable_url(request: Request) -> bool:
    """No NUL bytes or broken escapes in the path or query (no database stores them)."""
    try:
        raw = unquote(request.url.path + "?" + request.url.query, errors="strict")
    except UnicodeDecodeError:
        return False
    return "\x00" not in raw


def create_app(
    settings: Settings | None = None, clock: Callable[[], datetime] | None = None
) -> FastAPI:
    settings = settings or load_settings()
    app = FastAPI(
        title="Tenantry",
        version=__version__,
        description="Multi-tenant administration with partner delegated administration.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    engine = make_engine(settings.effective_database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    if clock is not None:
        app.state.clock = clock
    problems.install(app)
    for module in (auth, tenants, users, roles, domains, billing, support, devices, audit):
        app.include_router(module.api, prefix=API_PREFIX)

    @app.middleware("http")
    async def add_request_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request.state.request_id = request_id(request)
        if not storable_url(request):
            response: Response = problems.problem(
                422,
                "invalid-input",
                "The request is not valid",
                "The address contains characters that are not allowed.",
                request,
            )
        else:
            response = await call_next(request)
        response.headers["X-Request-ID"] = request.state.request_id
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{API_PREFIX}/docs")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
