"""Sign in (password, then the verification code or a passkey when enrolled), sign out, the
account page: change a temporary password, turn on two-step verification with a QR code, add
and remove passkeys."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

import segno
from fastapi import Request
from fastapi.responses import Response

from tenantry.api.schemas.identity import (
    CurrentPasswordIn,
    PasskeyRegistrationIn,
    PasswordChangeIn,
    TokenIn,
    TotpConfirmIn,
    TotpEnrolmentIn,
)
from tenantry.core.context import SecondFactor
from tenantry.core.errors import InvalidInput, Unauthenticated
from tenantry.identity import factors, passkeys, tokens
from tenantry.identity import sign_in as identity_sign_in
from tenantry.identity.oidc import AUTHORIZE_PATH
from tenantry.models import Tenant, User
from tenantry.partners import enrolment as partners
from tenantry.web import session as web_session
from tenantry.web.forms import parse_form
from tenantry.web.pages import MaybeSignedIn, Posted, SignedIn, redirect, render, router

pages = router()


def _home(ctx: MaybeSignedIn) -> str:
    principal = ctx.principal
    if principal is None:
        return "/sign-in"
    tenant = ctx.session.get(Tenant, principal.tenant_id)
    if tenant is not None and tenant.is_partner:
        user = ctx.session.get(User, principal.user_id)
        if user is not None and partners.is_partner_agent(ctx, user):
            return "/partner"
    return f"/admin/{principal.tenant_id}"


@pages.get("/")
def home(request: Request, ctx: MaybeSignedIn) -> Response:
    return redirect(request, _home(ctx))


@pages.get("/sign-in")
def sign_in_page(request: Request, ctx: MaybeSignedIn, next: str = "/") -> Response:
    if ctx.principal is not None:
        return redirect(request, web_session.safe_next(next))
    return render(request, ctx, "sign_in.html", next=web_session.safe_next(next))


def _signed_in(
    request: Request,
    ctx: MaybeSignedIn,
    user: User,
    factor: SecondFactor,
    password: str | None,
    to: str,
) -> Response:
    """Issue a new session (rotation) and end the one the browser had, if any."""
    old = web_session.session_token(request)
    if old:
        tokens.revoke_token_value(ctx, old)
    issued = identity_sign_in.complete_sign_in(ctx, user, factor, password)
    response: Response = redirect(request, to)
    if to.startswith(AUTHORIZE_PATH + "?"):
        # Back to a service signing this person in: a page that moves on by itself, so the
        # authorize step's redirect to the service is not part of this form's navigation
        # (the pages' Content-Security-Policy allows forms to lead only to this site).
        response = render(request, ctx, "continue.html", to=to)
    web_session.start_session(response, request, issued.access_token, issued.expires_in)
    return response


@pages.post("/sign-in")
def sign_in(request: Request, ctx: MaybeSignedIn, form: Posted) -> Response:
    target = web_session.safe_next(form.get("next"))
    signing_in = parse_form(form, TokenIn)
    user = identity_sign_in.check_password(ctx, signing_in.username, signing_in.password)
    if user.mfa_enabled:
        challenge = (
            passkeys.issue_sign_in_challenge(ctx, user)
            if passkeys.has_passkey(ctx, user.id)
            else None
        )
        response = redirect(request, "/sign-in/verify")
        web_session.remember_pending(response, request, user.id, target, challenge)
        return response
    return _signed_in(request, ctx, user, SecondFactor.NONE, signing_in.password, target)


@pages.get("/sign-in/verify")
def verify_page(request: Request, ctx: MaybeSignedIn) -> Response:
    """The second step: a code field for an app's code, and "Use a passkey" (the options of
    the challenge issued with the password) for an account with a passkey."""
    remembered = web_session.pending(request)
    user = ctx.session.get(User, remembered[0]) if remembered else None
    if user is None:
        return redirect(request, "/sign-in")
    challenge = web_session.pending_challenge(request)
    options = (
        passkeys.sign_in_options(ctx, user, challenge)
        if challenge is not None and passkeys.has_passkey(ctx, user.id)
        else None
    )
    return render(
        request,
        ctx,
        "verify.html",
        has_code=user.totp_secret is not None or options is None,
        passkey_options=json.dumps(options) if options else None,
    )


def _pending_user(request: Request, ctx: MaybeSignedIn) -> tuple[User, str]:
    remembered = web_session.pending(request)
    if remembered is None:
        raise Unauthenticated("That took too long; sign in again.")
    user_id, target = remembered
    user = ctx.session.get(User, user_id)
    if user is None:
        raise Unauthenticated("Sign in again.")
    return user, target


def _credential(form: dict[str, str]) -> dict[str, Any]:
    """The authenticator's answer, put into the form as JSON by passkeys.js."""
    try:
        value = json.loads(form.get("credential") or "")
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise InvalidInput(
            "The passkey's answer did not arrive; try again.", slug="invalid-passkey"
        )
    return value


@pages.post("/sign-in/verify")
def verify(request: Request, ctx: MaybeSignedIn, form: Posted) -> Response:
    user, target = _pending_user(request, ctx)
    identity_sign_in.check_second_factor(ctx, user, parse_form(form, TotpConfirmIn).code)
    return _signed_in(
        request, ctx, user, SecondFactor.TOTP, None, target if target != "/" else _home(ctx)
    )


@pages.post("/sign-in/passkey")
def verify_passkey(request: Request, ctx: MaybeSignedIn, form: Posted) -> Response:
    """The second step with a passkey: the answer to the pending challenge (an attempt in the
    throttle, like a code)."""
    user, target = _pending_user(request, ctx)
    identity_sign_in.check_passkey_step(ctx, user, _credential(form))
    return _signed_in(
        request, ctx, user, SecondFactor.PASSKEY, None, target if target != "/" else _home(ctx)
    )


@pages.post("/sign-out")
def sign_out(request: Request, ctx: MaybeSignedIn, form: Posted) -> Response:
    """Sign out; with ``next`` (a page of this site), sign in again to go back there (a
    fresh second factor, which activating a role asks for)."""
    if ctx.principal is not None:
        tokens.revoke_token(ctx)
    target = web_session.safe_next(form.get("next")) if form.get("next") else None
    response = redirect(
        request,
        f"/sign-in?next={quote(target, safe='/')}" if target else "/sign-in",
        "Sign in again to go on." if target else "You are signed out.",
    )
    web_session.end_session(response)
    return response


@pages.get("/me")
def account(request: Request, ctx: SignedIn) -> Response:
    user = identity_sign_in.current_user(ctx)
    return render(
        request,
        ctx,
        "account.html",
        user=user,
        passkeys=factors.my_passkeys(ctx),
        mfa_session=ctx.require_principal().mfa,
    )


@pages.post("/me/passkeys/new")
def start_passkey(request: Request, ctx: SignedIn, form: Posted) -> Response:
    """Adding a passkey: the name and the current password, then a page whose button asks the
    browser to create it (passkeys.js)."""
    name = parse_form(form, PasskeyRegistrationIn, credential={}).name
    options = factors.start_passkey_registration(ctx, parse_form(form, CurrentPasswordIn).password)
    return render(request, ctx, "passkey_new.html", name=name, options=json.dumps(options))


@pages.post("/me/passkeys")
def finish_passkey(request: Request, ctx: SignedIn, form: Posted) -> Response:
    """The browser's answer: the passkey is kept, two-step verification is on. The session
    stays as it was (signed in without the passkey)."""
    body = parse_form(form, PasskeyRegistrationIn, credential=_credential(form))
    passkey = factors.finish_passkey_registration(ctx, body.name, body.credential)
    return redirect(
        request,
        "/me",
        f"Passkey '{passkey.name}' added: two-step verification is on. Sign in with it next "
        "time; this session stays signed in without it.",
    )


@pages.post("/me/passkeys/{pid}/remove")
def remove_passkey(request: Request, ctx: SignedIn, form: Posted, pid: uuid.UUID) -> Response:
    user = factors.remove_passkey(ctx, pid, parse_form(form, CurrentPasswordIn).password)
    note = "" if user.mfa_enabled else " Two-step verification is off."
    return redirect(request, "/me", f"The passkey is removed.{note}")


@pages.post("/me/mfa")
def start_mfa(request: Request, ctx: SignedIn, form: Posted) -> Response:
    secret, uri = factors.start_totp_enrolment(ctx, parse_form(form, TotpEnrolmentIn).password)
    qr = segno.make(uri, error="m").svg_inline(scale=4, title="QR code of the authenticator key")
    return render(request, ctx, "mfa.html", secret=secret, qr=qr, next=form.get("next", ""))


@pages.post("/me/mfa/confirm")
def confirm_mfa(request: Request, ctx: SignedIn, form: Posted) -> Response:
    """The factor is on; this session stays password-only, so it ends here and the next
    sign-in (password and a code) gives a session with both factors."""
    factors.confirm_totp_enrolment(ctx, parse_form(form, TotpConfirmIn).code.strip())
    tokens.revoke_token(ctx)
    target = web_session.safe_next(form.get("next")) if form.get("next") else "/me"
    response = redirect(
        request,
        f"/sign-in?next={quote(target, safe='/')}",
        "Two-step verification is on for your account. Sign in again with a code from your "
        "app to use it.",
    )
    web_session.end_session(response)
    return response


@pages.get("/me/password")
def password_page(request: Request, ctx: SignedIn) -> Response:
    return render(request, ctx, "password.html")


@pages.post("/me/password")
def change_password(request: Request, ctx: SignedIn, form: Posted) -> Response:
    if form.get("new_password") != form.get("confirm_password"):
        raise InvalidInput("The two new passwords are not the same.")
    body = parse_form(form, PasswordChangeIn)
    identity_sign_in.change_password(ctx, body.current_password, body.new_password)
    return redirect(request, _home(ctx), "Your password is changed.")
