"""What every page handler shares: the signed-in context, CSRF-checked forms, rendering with
the layout's values, redirects with a message, and errors shown as readable pages.

Handlers are thin: they call the same service functions as the API (so the same access
decisions), inside the same one-transaction-per-request route class.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from tenantry import access
from tenantry.access.roles import ROLE_NAMES, ROLE_PLAIN_WORDS, Role
from tenantry.api.deps import new_context
from tenantry.api.routing import TransactionalRoute
from tenantry.core.context import Context
from tenantry.core.errors import Forbidden, ServiceError
from tenantry.directory import tenants
from tenantry.identity import tokens
from tenantry.models import Tenant
from tenantry.web import session as web_session
from tenantry.web.forms import readable_error

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
PASSWORD_PAGE = "/me/password"  # noqa: S105 - a page address


def role_words(role: str) -> str:
    try:
        return ROLE_PLAIN_WORDS[Role(role)]
    except (ValueError, KeyError):
        return role


def role_name(role: str) -> str:
    try:
        return ROLE_NAMES[Role(role)]
    except (ValueError, KeyError):
        return role


def time_left(seconds: float) -> str:
    """A countdown's words, as countdown.js writes them each second: "1 h 05 min 09 s left"."""
    whole = int(seconds)
    if whole <= 0:
        return "time is up"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {secs:02d} s left"
    if minutes:
        return f"{minutes} min {secs:02d} s left"
    return f"{secs} s left"


templates.env.filters["role_words"] = role_words
templates.env.filters["role_name"] = role_name
templates.env.filters["time_left"] = time_left
templates.env.globals["seconds_between"] = lambda start, end: int((end - start).total_seconds())
templates.env.filters["when"] = lambda value: value.strftime("%d %b %Y %H:%M") if value else ""
templates.env.filters["day"] = lambda value: value.strftime("%d %b %Y") if value else ""


def router() -> APIRouter:
    return APIRouter(route_class=TransactionalRoute, include_in_schema=False)


class SignInRequired(Exception):
    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class RedirectTo(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def web_context(request: Request) -> Context:
    """The context of a page: signed in when the session cookie holds a live token."""
    ctx = new_context(request)
    token = web_session.session_token(request)
    if token:
        ctx.principal = tokens.principal_for_token(ctx.session, token, ctx.now)
    return ctx


def signed_in_context(ctx: Annotated[Context, Depends(web_context)], request: Request) -> Context:
    if ctx.principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    if ctx.principal.must_change_password and request.url.path != PASSWORD_PAGE:
        raise RedirectTo(PASSWORD_PAGE)
    return ctx


async def posted_form(request: Request) -> dict[str, str]:
    """The submitted form, once its CSRF token checks out."""
    form = await request.form()
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    submitted = values.get("csrf_token") or request.headers.get("x-csrf-token")
    if not web_session.csrf_valid(request, submitted):
        raise Forbidden(
            "This form has expired or did not come from this site. Reload the page and try again.",
            slug="csrf",
            title="Form expired",
        )
    return values


def ticked(form: dict[str, str], prefix: str) -> list[str]:
    """The values of the ticked checkboxes named ``prefix`` + value (roles, blocked
    permissions): an unticked checkbox is not sent at all."""
    return [key.removeprefix(prefix) for key in form if key.startswith(prefix)]


MaybeSignedIn = Annotated[Context, Depends(web_context)]
SignedIn = Annotated[Context, Depends(signed_in_context)]
Posted = Annotated[dict[str, str], Depends(posted_form)]


def acting_banner(home_tenant: Tenant | None, tenant: Tenant | None) -> str | None:
    """The banner "You are administering X on behalf of Y" when the page is another tenant's."""
    if home_tenant is None or tenant is None or tenant.id == home_tenant.id:
        return None
    return f"You are administering {tenant.name} on behalf of {home_tenant.name}"


def render(
    request: Request,
    ctx: Context | None,
    template: str,
    *,
    status_code: int = 200,
    tenant: Tenant | None = None,
    **values: Any,
) -> HTMLResponse:
    message = web_session.take_flash(request)
    home_tenant = None
    if ctx is not None and ctx.principal is not None:
        home_tenant = ctx.session.get(Tenant, ctx.principal.tenant_id)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "me": ctx.principal if ctx else None,
            "home_tenant": home_tenant,
            "tenant": tenant,
            "banner": acting_banner(home_tenant, tenant),
            "csrf_token": web_session.csrf_token(request),
            "flash": message,
            **values,
        },
        status_code=status_code,
    )
    if message:
        response.delete_cookie(web_session.FLASH_COOKIE, path="/")
    web_session.keep_nonce(response, request)
    return response


def page_tenant(ctx: Context, tid: uuid.UUID) -> Tenant:
    """The tenant of an Admin center page, through the access module: unrelated tenants are
    404."""
    return tenants.get_tenant(ctx, tid)


def render_admin(
    request: Request, ctx: Context, tenant: Tenant, template: str, **values: Any
) -> HTMLResponse:
    """An Admin center page: ``may`` (what the signed-in person may do here, from the same
    decision the services make) hides the buttons and links they could not use."""
    decision = access.decide(ctx, tenant.id)
    return render(
        request,
        ctx,
        template,
        tenant=tenant,
        may={p.value for p in decision.permissions} if decision.blocked is None else set(),
        section=template.split("/")[-1].removesuffix(".html"),
        **values,
    )


def redirect(request: Request, url: str, message: str | None = None) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if message:
        web_session.flash(response, request, "success", message)
    return response


def _back(request: Request) -> str:
    """Where a failed form goes back to: the page it came from, on this site only."""
    referer = request.headers.get("referer", "")
    parts = urlsplit(referer)
    if parts.netloc and parts.netloc != request.url.netloc:
        return "/"
    return web_session.safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))


async def page_errors(request: Request, exc: Exception) -> Response:
    """Errors on pages: a refused or invalid form goes back with the reason on top; a page
    that can't be shown says why with its status code; never a stack trace."""
    if isinstance(exc, SignInRequired):
        return RedirectResponse(f"/sign-in?next={quote(exc.next_url, safe='')}", status_code=303)
    if isinstance(exc, RedirectTo):
        return RedirectResponse(exc.url, status_code=303)
    if isinstance(exc, ServiceError):
        status, title, detail = exc.status, exc.title, exc.detail
    elif isinstance(exc, RequestValidationError):
        errors = [{**error, "loc": error.get("loc", ())[1:]} for error in exc.errors()]
        status, title, detail = 422, "Check the form", readable_error(errors)
    elif isinstance(exc, StarletteHTTPException):
        status, title = exc.status_code, "Page not found" if exc.status_code == 404 else "Error"
        detail = "There is no page at this address." if exc.status_code == 404 else str(exc.detail)
    else:
        status, title = 500, "Something went wrong"
        detail = f"Something went wrong on our side (request {request.state.request_id})."
    if request.method == "POST" and status < 500:
        response: Response = RedirectResponse(_back(request), status_code=303)
        web_session.flash(response, request, "error", detail)
        return response
    page = render(request, None, "error.html", status_code=status, title=title, detail=detail)
    if (retry_after := getattr(exc, "retry_after", None)) is not None:
        page.headers["Retry-After"] = str(retry_after)  # a 503 or 429 page, like the API's
    return page
