"""The web UI: Admin center, Partner center, sign-in and offer pages (Jinja2 + htmx + Pico,
every asset vendored in the package so it works offline)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tenantry.web import pages
from tenantry.web.routes import admin, auth, domains, groups, licences, offers, partner, support


def install(app: FastAPI) -> None:
    app.state.page_errors = pages.page_errors
    app.add_exception_handler(pages.SignInRequired, pages.page_errors)
    app.add_exception_handler(pages.RedirectTo, pages.page_errors)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for module in (auth, admin, groups, domains, licences, support, partner, offers):
        app.include_router(module.pages)
