"""Sign-up, sign-in, sign-out, the signed-in user, MFA and password changes."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Response

from tenantry.api.deps import AnonymousCtx, Ctx, SignedInCtx
from tenantry.api.routes import router
from tenantry.api.schemas.common import ItemList
from tenantry.api.schemas.identity import (
    CurrentPasswordIn,
    MeOut,
    MfaStatusOut,
    PasskeyOut,
    PasskeyRegistrationIn,
    PasskeySignInIn,
    PasswordChangeIn,
    SignupIn,
    SignupOut,
    TokenIn,
    TokenOut,
    TotpConfirmIn,
    TotpEnrolmentIn,
    TotpEnrolmentOut,
)
from tenantry.identity import clients, factors, sign_in, tokens
from tenantry.partners import enrolment as partners
from tenantry.partners import signup as signup_service

api = router("sign-in")


@api.post("/signup", status_code=201, response_model=SignupOut)
def signup(body: SignupIn, ctx: AnonymousCtx) -> SignupOut:
    """Create an organisation with its initial domain and first Global Administrator."""
    done = signup_service.sign_up(
        ctx,
        organization_name=body.organization_name,
        initial_domain=body.initial_domain,
        admin_password=body.admin_password,
        admin_display_name=body.admin_display_name,
        offer_token=body.offer_token,
    )
    return SignupOut(
        tenant_id=done.created.tenant.id,
        admin_user_principal_name=done.created.admin.user_principal_name,
        relationship_id=done.relationship.id if done.relationship else None,
    )


@api.post("/auth/token", response_model=TokenOut)
def token(body: TokenIn, ctx: AnonymousCtx) -> TokenOut:
    issued = sign_in.sign_in(ctx, body.username, body.password, body.totp_code, body.passkey)
    return TokenOut(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        must_change_password=issued.user.must_change_password,
    )


@api.post("/auth/passkey/options")
def passkey_sign_in_options(body: PasskeySignInIn, ctx: AnonymousCtx) -> dict[str, Any]:
    """Signing in with a passkey, step one: the password is verified (and counted by the
    sign-in throttle) first; a wrong one, or an unknown user, gets /auth/token's 401. Answers
    the options for navigator.credentials.get(); send its answer as ``passkey`` to
    /auth/token with the password again. The challenge is good once, for five minutes."""
    return sign_in.passkey_options(ctx, body.username, body.password)


@api.post("/auth/logout", status_code=204)
def logout(ctx: SignedInCtx) -> Response:
    """Revoke the token this request carries (a person's or an API client's)."""
    if ctx.require_principal().is_client:
        clients.revoke_token(ctx)
    else:
        tokens.revoke_token(ctx)
    return Response(status_code=204)


@api.get("/me", response_model=MeOut)
def me(ctx: SignedInCtx) -> MeOut:
    user = sign_in.current_user(ctx)
    return MeOut(
        id=user.id,
        user_principal_name=user.user_principal_name,
        display_name=user.display_name,
        tenant_id=user.tenant_id,
        is_partner_agent=partners.is_partner_agent(ctx, user),
        mfa_enabled=user.mfa_enabled,
        must_change_password=user.must_change_password,
        second_factor=ctx.require_principal().second_factor,
    )


@api.post("/me/password", status_code=204)
def change_password(body: PasswordChangeIn, ctx: SignedInCtx) -> Response:
    sign_in.change_password(ctx, body.current_password, body.new_password)
    return Response(status_code=204)


@api.post("/me/mfa/totp", response_model=TotpEnrolmentOut)
def start_totp(body: TotpEnrolmentIn, ctx: SignedInCtx) -> TotpEnrolmentOut:
    """Start enrolling TOTP: needs the current password (a wrong one is a 403 and counts as a
    failed sign-in). Refused (409) while a factor is on: an administrator resets it first."""
    secret, uri = factors.start_totp_enrolment(ctx, body.password)
    return TotpEnrolmentOut(secret=secret, otpauth_uri=uri)


@api.post("/me/mfa/totp/confirm", response_model=MfaStatusOut)
def confirm_totp(body: TotpConfirmIn, ctx: SignedInCtx) -> MfaStatusOut:
    """Turn the factor on with a code from it. The token in use stays password-only: sign in
    again with a code for a multi-factor token."""
    user = factors.confirm_totp_enrolment(ctx, body.code)
    return MfaStatusOut(mfa_enabled=user.mfa_enabled)


@api.post("/me/passkeys/register/options")
def passkey_registration_options(body: CurrentPasswordIn, ctx: Ctx) -> dict[str, Any]:
    """Adding a passkey, step one: needs the current password (a wrong one is a 403 and
    counts as a failed sign-in) and, when two-step verification is on already, a session
    signed in with it. Answers the options for navigator.credentials.create(); their challenge
    is good once, for five minutes, from this session."""
    return factors.start_passkey_registration(ctx, body.password)


@api.post("/me/passkeys/register/verify", status_code=201, response_model=PasskeyOut)
def passkey_registration_verify(body: PasskeyRegistrationIn, ctx: Ctx) -> PasskeyOut:
    """Adding a passkey, step two: the authenticator's answer. Two-step verification is on from
    now; the token in use stays as it was (sign in again with the passkey for a multi-factor
    one)."""
    passkey = factors.finish_passkey_registration(ctx, body.name, body.credential)
    return PasskeyOut.model_validate(passkey)


@api.get("/me/passkeys", response_model=ItemList[PasskeyOut])
def list_passkeys(ctx: Ctx) -> ItemList[PasskeyOut]:
    """The signed-in user's passkeys (ten at most: one page)."""
    return ItemList[PasskeyOut](
        items=[PasskeyOut.model_validate(p) for p in factors.my_passkeys(ctx)]
    )


@api.delete("/me/passkeys/{pid}", status_code=204)
def delete_passkey(pid: uuid.UUID, body: CurrentPasswordIn, ctx: Ctx) -> Response:
    """Remove one of your passkeys: the current password in the body, from a session signed in
    with a second factor. Removing the last factor turns two-step verification off."""
    factors.remove_passkey(ctx, pid, body.password)
    return Response(status_code=204)
