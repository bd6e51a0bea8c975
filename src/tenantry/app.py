"""The application factory: one ASGI app composed of the API (``tenantry.api``, under
/api/v1) and the web UI (``tenantry.web``), with what every response shares (request ids,
security headers) and the lifecycle sweeper. The only module that imports both adapters
(docs/architecture.md §1)."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from datetime import datetime
from urllib.parse import unquote

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from tenantry import __version__, api, web
from tenantry.api import problems
from tenantry.api.deps import request_id
from tenantry.core import logs
from tenantry.core.clock import utcnow
from tenantry.core.config import Settings, load_settings
from tenantry.core.db import make_engine, make_sessionmaker
from tenantry.core.metrics import LATENCY, REFUSALS, REQUESTS
from tenantry.operations import monitoring
from tenantry.operations import sweeper as jobs
from tenantry.partners import job_runner

# On every response: pages run only the package's own scripts and styles, can't be framed
# (clickjacking a "Remove partner" button), and send no address to other sites.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
}
log = logging.getLogger("tenantry")
access_log = logging.getLogger("tenantry.access")


def storable_url(request: Request) -> bool:
    """No NUL bytes or broken escapes in the path or query (no database stores them)."""
    try:
        raw = unquote(request.url.path + "?" + request.url.query, errors="strict")
    except UnicodeDecodeError:
        return False
    return "\x00" not in raw


def _sweep_once(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    now = app.state.clock() if hasattr(app.state, "clock") else utcnow()
    jobs.run_once(app.state.sessions, settings, now)
    app.state.last_sweep_at = time.time()


async def _sweeper(app: FastAPI, interval: int) -> None:
    """The lifecycle sweeper inside `serve`: safe with any number of processes."""
    while True:
        try:
            await run_in_threadpool(_sweep_once, app)
        except Exception:  # keep sweeping; the next round may succeed
            log.exception("lifecycle sweep failed")
        await asyncio.sleep(interval)


def route_template(request: Request) -> str:
    """The matched route's full path template (/api/v1/tenants/{tid}/users), never the raw
    path, so metrics have one series per route and no ids. (An included router's route knows
    only its own part of the path; the full one is looked up once in create_app.)"""
    route = request.scope.get("route")
    if route is None:
        return "unmatched"
    templates: dict[int, str] = request.app.state.route_templates
    return templates.get(id(route), str(getattr(route, "path", "unmatched")))


def count_request(request: Request, response: Response, started: float) -> None:
    """The request's metrics and, with JSON logs, its access line."""
    route = route_template(request)
    seconds = time.perf_counter() - started
    REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    LATENCY.labels(request.method, route).observe(seconds)
    if request.app.state.settings.log_format == "json":
        access_log.info(
            "%s %s %s",
            request.method,
            route,
            response.status_code,
            extra={
                "fields": {
                    "method": request.method,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 1),
                    "client_address": request.client.host if request.client else None,
                }
            },
        )
    slug = getattr(request.state, "problem_slug", None)
    if response.status_code in (403, 404) and slug:
        REFUSALS.labels(str(response.status_code), slug).inc()


def metrics_allowed(request: Request, token: str) -> bool:
    """Without TENANTRY_METRICS_TOKEN anyone may scrape; with it, only its bearer."""
    if not token:
        return True
    sent = request.headers.get("authorization", "")
    return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())


def _run_jobs_once(app: FastAPI) -> int:
    now = app.state.clock() if hasattr(app.state, "clock") else None
    return job_runner.run_pending(app.state.sessions, app.state.settings, now)


async def _job_runner(app: FastAPI, poll: float) -> None:
    """Partners' bulk jobs inside `serve`: batch after batch while there is work, then a
    look every ``poll`` seconds. Safe with any number of processes (partners/job_runner.py)."""
    while True:
        try:
            await run_in_threadpool(_run_jobs_once, app)
        except Exception:  # the batch rolled back; it runs again next time
            log.exception("bulk job batch failed")
        await asyncio.sleep(poll)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    interval = app.state.settings.jobs_interval_seconds
    poll = app.state.settings.job_poll_seconds
    tasks = []
    if interval > 0:
        tasks.append(asyncio.create_task(_sweeper(app, interval)))
    if poll > 0:
        tasks.append(asyncio.create_task(_job_runner(app, poll)))
    yield
    for task in tasks:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


def create_app(
    settings: Settings | None = None, clock: Callable[[], datetime] | None = None
) -> FastAPI:
    settings = settings or load_settings()
    logs.configure(settings.log_format)
    app = FastAPI(
        title="Tenantry",
        version=__version__,
        description="Multi-tenant administration with partner delegated administration.",
        openapi_url=f"{api.PREFIX}/openapi.json",
        docs_url=None,  # served by the web UI from vendored assets (no CDN)
        redoc_url=None,
        lifespan=lifespan,
    )
    engine = make_engine(settings.effective_database_url, settings.database_lock_wait_seconds)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    if clock is not None:
        app.state.clock = clock
    api.install(app)

    @app.middleware("http")
    async def add_request_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        request.state.request_id = request_id(request)
        logged_as = logs.REQUEST_ID.set(request.state.request_id)
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
        response.headers.update(SECURITY_HEADERS)
        count_request(request, response, started)
        logs.REQUEST_ID.reset(logged_as)
        return response

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        """The process is alive (says nothing about the database: that is /readyz)."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        """Ready to take traffic: the database answers and its schema is at head."""
        state = monitoring.readiness(engine)
        return JSONResponse(
            {"status": "ready" if state.ready else "unavailable", "reason": state.reason},
            status_code=200 if state.ready else 503,
        )

    scrape_time = monitoring.ScrapeTimeCollector(
        app.state.sessions, lambda: getattr(app.state, "last_sweep_at", None)
    )

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        """Prometheus text format (docs: README "Running it in production")."""
        if not metrics_allowed(request, settings.metrics_token):
            return problems.problem(
                401,
                "unauthenticated",
                "Not signed in",
                "Send 'Authorization: Bearer <TENANTRY_METRICS_TOKEN>'.",
                request,
                {"WWW-Authenticate": "Bearer"},
            )
        return Response(monitoring.exposition(scrape_time), media_type=CONTENT_TYPE_LATEST)

    web.install(app)
    app.state.route_templates = {
        id(route.original_route): str(route.path) for route in iter_route_contexts(app.routes)
    }
    return app
