"""The web UI: Admin center, Partner center, sign-in and offer pages (Jinja2 + htmx + Pico,
every asset vendored in the package so it works offline)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from tenantry.web import pages
from tenantry.web.routes import (
    access_templates,
    admin,
    auth,
    customer_groups,
    domains,
    groups,
    integrations,
    jobs,
    licences,
    offers,
    oidc,
    partner,
    reports,
    support,
)


def install(app: FastAPI) -> None:
    app.state.page_errors = pages.page_errors
    app.add_exception_handler(pages.SignInRequired, pages.page_errors)
    app.add_exception_handler(pages.RedirectTo, pages.page_errors)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for module in (
        auth,
        admin,
        groups,
        domains,
        licences,
        support,
        integrations,
        partner,
        customer_groups,
        reports,
        access_templates,
        jobs,
        offers,
        oidc,
    ):
        app.include_router(module.pages)

    @app.get("/api/v1/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        """Swagger UI over the OpenAPI document, from assets in the package (works offline,
        and under the same Content-Security-Policy as every page: no inline script)."""
        return HTMLResponse(API_DOCS.format(openapi=app.openapi_url or "/api/v1/openapi.json"))


API_DOCS = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Tenantry API</title>
  <link rel="stylesheet" href="/static/swagger/swagger-ui.css">
  <link rel="icon" href="/static/swagger/favicon-32x32.png">
  <script src="/static/swagger/swagger-ui-bundle.js" defer></script>
  <script src="/static/swagger/init.js" defer></script>
</head>
<body><div id="swagger-ui" data-openapi="{openapi}"></div></body>
</html>
"""
