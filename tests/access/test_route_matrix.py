"""Every route of the application has an entry in the refusal matrix (tests/refusal_matrix.py)
or is marked public there with a reason, so a new route can't ship without its refusals being
probed; and every entry names a route that still exists."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from tenantry.app import create_app
from tests.conftest import settings_for
from tests.refusal_matrix import MOUNTS, ROUTES, Route

WHERE = "tests/refusal_matrix.py (ROUTES)"


def declared_routes(app: FastAPI) -> tuple[set[Route], set[str]]:
    """(method, path template) of every route — included routers flattened, HEAD left out
    (Starlette adds it to every GET) — and the paths of the mounted applications."""
    routes: set[Route] = set()
    mounts: set[str] = set()
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            mounts.add(str(route.path))
            continue
        assert route.path and route.methods, f"a route of an unknown kind: {route!r}"
        routes |= {(method, route.path) for method in route.methods - {"HEAD"}}
    return routes, mounts


def test_every_route_is_in_the_refusal_matrix(tmp_path: Path) -> None:
    # No database is touched: the app is only built, never served.
    app = create_app(settings_for(f"sqlite:///{tmp_path}/unused.db", tmp_path))
    routes, mounts = declared_routes(app)
    app.state.engine.dispose()

    unchecked = sorted(routes - ROUTES.keys())
    assert not unchecked, (
        "Routes with no entry in the refusal matrix: "
        + ", ".join(f"{m} {p}" for m, p in unchecked)
        + f". Add each to {WHERE} as TenantScoped, PartnerCenter, SignedIn or Public(reason)."
    )
    gone = sorted(ROUTES.keys() - routes)
    assert not gone, (
        "The refusal matrix lists routes the app no longer has: "
        + ", ".join(f"{m} {p}" for m, p in gone)
        + f". Remove them from {WHERE} (or fix the path)."
    )
    assert mounts == MOUNTS.keys(), (
        f"Mounted applications {sorted(mounts)} differ from MOUNTS in tests/refusal_matrix.py."
    )
