"""The pages of the OpenID Connect provider: ``/oauth2/authorize`` (Tenantry's own sign-in
page, with its second factor, then back to the service with a code) and the end-session
endpoint (RP-initiated logout). The protocol is Authlib's (``identity.oidc``).

Errors before the service and its redirect URI are known to match (an unknown client, an
unregistered redirect URI) are shown on our page, never redirected; later protocol errors go
back to the service as RFC 6749 errors; a refusal of the person (no licence, no access to the
customer) is our page too (403/404), and the service gets nothing.
"""

from __future__ import annotations

from urllib.parse import quote

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import InsecureTransportError, OAuth2Error
from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from tenantry.api.oauth import StarletteAuthorizationServer, StarletteOAuth2Request
from tenantry.identity import oidc, tokens
from tenantry.web import session as web_session
from tenantry.web.pages import MaybeSignedIn, redirect, render, router

pages = router()


def _problem_page(request: Request, ctx: MaybeSignedIn, error: OAuth2Error) -> Response:
    return render(
        request,
        ctx,
        "error.html",
        status_code=400,
        title="This sign-in request can't be completed",
        detail=f"{error.error}: {error.description or 'the request is not valid.'} "
        "You were not sent back to the service.",
    )


@pages.get(oidc.AUTHORIZE_PATH)
def authorize(request: Request, ctx: MaybeSignedIn) -> Response:
    """Authorization code with PKCE (S256). Without a session: the sign-in page, then back
    here (``next`` is this address, on this site). With ``tenant=<customer id>``, a partner
    agent signs in to the service on behalf of that customer."""
    server = StarletteAuthorizationServer(ctx)
    try:
        oauth_request = StarletteOAuth2Request(request)
    except InsecureTransportError as error:  # behind a proxy: see --forwarded-allow-ips
        return _problem_page(request, ctx, error)
    try:
        grant = server.get_consent_grant(oauth_request, end_user=ctx.principal)
    except OAuth2Error as error:
        if error.redirect_uri:
            response: Response = server.handle_error_response(oauth_request, error)
            return response
        return _problem_page(request, ctx, error)
    if ctx.principal is None:
        here = request.url.path + "?" + request.url.query
        return RedirectResponse(f"/sign-in?next={quote(here, safe='')}", status_code=303)
    party = grant.request.client.row
    sign_in = oidc.decide_sign_in(ctx, party, request.query_params.get(oidc.TENANT_PARAMETER))
    answer: Response = server.create_authorization_response(
        oauth_request, grant_user=sign_in, grant=grant
    )
    return answer


@pages.get(oidc.END_SESSION_PATH)
def end_session(request: Request, ctx: MaybeSignedIn) -> Response:
    """RP-initiated logout: the service's ID token (``id_token_hint``) ends the Tenantry web
    session of that person and the service's refresh tokens of that sign-in, then back to a
    ``post_logout_redirect_uri`` registered for the service (only that, exactly)."""
    hint = request.query_params.get("id_token_hint")
    if not hint:
        return render(
            request,
            ctx,
            "error.html",
            status_code=400,
            title="Sign out",
            detail="The service sent no id_token_hint. Sign out of Tenantry from its menu.",
        )
    try:
        logout = oidc.check_logout(ctx, hint, request.query_params.get("post_logout_redirect_uri"))
    except OAuth2Error as error:
        return _problem_page(request, ctx, error)
    oidc.end_sessions(ctx, logout)
    principal = ctx.principal
    ends_session = principal is not None and principal.user_id == logout.user_id
    if ends_session:
        tokens.revoke_token(ctx)
    if logout.redirect_to:
        state = request.query_params.get("state")
        target = add_params_to_uri(logout.redirect_to, [("state", state)] if state else [])
        response: Response = RedirectResponse(target, status_code=303)
    else:
        response = redirect(request, "/sign-in", "You are signed out.")
    if ends_session:
        web_session.end_session(response)
    return response
