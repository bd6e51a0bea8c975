"""Request-scoped dependencies: the session, the caller, the context services take."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from tenantry.core.clock import utcnow
from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.core.errors import Forbidden, Unauthenticated
from tenantry.identity import clients, tokens
from tenantry.partners.relationships import parse_version

bearer = HTTPBearer(auto_error=False, description="A token from POST /auth/token")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id(request: Request) -> str:
    incoming = request.headers.get("x-request-id", "")
    return incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex


def new_context(request: Request) -> Context:
    """The request's context, not yet signed in (the API and the web pages share it)."""
    session: Session = request.state.session
    settings: Settings = request.app.state.settings
    now = request.app.state.clock() if hasattr(request.app.state, "clock") else utcnow()
    ctx = Context(
        session=session,
        settings=settings,
        request_id=request.state.request_id,
        client_address=request.client.host if request.client else None,
        now=now,
    )
    request.state.context = ctx
    return ctx


def _context(
    request: Request, credentials: HTTPAuthorizationCredentials | None, required: bool
) -> Context:
    ctx = new_context(request)
    if credentials is not None and clients.is_client_token(credentials.credentials):
        # An API client's token: its client must still be usable from this address.
        ctx.principal = clients.principal_for_token(
            ctx.session, credentials.credentials, ctx.now, ctx.client_address
        )
    elif credentials is not None:
        principal = tokens.principal_for_token(ctx.session, credentials.credentials, ctx.now)
        if principal is None:
            raise Unauthenticated(
                "The token is invalid, expired or revoked; sign in again.", slug="invalid-token"
            )
        ctx.principal = principal
    elif required:
        raise Unauthenticated("Sign in and send 'Authorization: Bearer <token>'.")
    return ctx


def anonymous_context(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
) -> Context:
    """For sign-up and sign-in: no token needed (an invalid one is still refused)."""
    return _context(request, None, required=False)


def signed_in_context(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
) -> Context:
    """Signed in, even with a temporary password still to change."""
    return _context(request, credentials, required=True)


async def active_context(ctx: Annotated[Context, Depends(signed_in_context)]) -> Context:
    """Signed in with a password of one's own: what every other route needs. (No I/O, so
    async: FastAPI runs it on the event loop instead of a worker thread.)"""
    if ctx.require_principal().must_change_password:
        raise Forbidden(
            "Change your temporary password first (POST /me/password).",
            slug="password-change-required",
            title="Password change required",
        )
    return ctx


AnonymousCtx = Annotated[Context, Depends(anonymous_context)]
SignedInCtx = Annotated[Context, Depends(signed_in_context)]
Ctx = Annotated[Context, Depends(active_context)]
Cursor = Annotated[str | None, Query(max_length=512, description="From next_cursor")]
Limit = Annotated[int, Query(ge=1, le=200)]


def if_match_version(
    if_match: Annotated[str | None, Header(max_length=64)] = None,
) -> int | None:
    """The version an ``If-Match`` ETag names (``"3"``, ``W/"3"``); None without the header,
    and a tag we never issued names no version, so it fails like a stale one."""
    if if_match is None:
        return None
    tag = if_match.strip().strip('"').removeprefix("W/").strip('"')
    return parse_version(tag)


IfMatchVersion = Annotated[int | None, Depends(if_match_version)]
