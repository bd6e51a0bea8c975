"""Sign-up, sign-in, sign-out, the signed-in user, MFA and password changes."""

from __future__ import annotations

from fastapi import Response

from tenantry.api.deps import AnonymousCtx, SignedInCtx
from tenantry.api.routes import router
from tenantry.api.schemas.identity import (
    MeOut,
    MfaStatusOut,
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
    issued = sign_in.sign_in(ctx, body.username, body.password, body.totp_code)
    return TokenOut(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        must_change_password=issued.user.must_change_password,
    )


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
