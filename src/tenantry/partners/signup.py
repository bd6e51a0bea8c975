"""Self-service sign-up, optionally through a partner's offer ("create your trial or
subscription account"): the organisation, its first Global Administrator and the accepted
relationship in one transaction. Shared by the API and the offer page."""

from __future__ import annotations

from dataclasses import dataclass

from tenantry.core.context import Context, Principal
from tenantry.core.errors import Forbidden
from tenantry.directory import tenants
from tenantry.identity import throttle
from tenantry.models import Relationship
from tenantry.partners import offers


@dataclass(frozen=True)
class SignedUp:
    created: tenants.NewTenant
    relationship: Relationship | None


def sign_up(
    ctx: Context,
    *,
    organization_name: str,
    initial_domain: str,
    admin_password: str,
    admin_display_name: str | None,
    offer_token: str | None,
) -> SignedUp:
    if not ctx.settings.open_signup:
        raise Forbidden(
            "Sign-up is closed on this platform; ask the operator.", slug="signup-closed"
        )
    throttle.count_signup(ctx)
    if offer_token:
        offers.find_by_token(ctx, offer_token)  # 404/410 before anything is written
    new = tenants.create_tenant(
        ctx,
        organization_name=organization_name,
        initial_domain=initial_domain,
        admin_password=admin_password,
        admin_display_name=admin_display_name,
    )
    relationship = None
    if offer_token:
        # The new Global Administrator accepts at once.
        acting = ctx.with_session(ctx.session)
        acting.after_rollback = ctx.after_rollback
        acting.principal = Principal(
            new.admin.id,
            new.tenant.id,
            new.admin.user_principal_name,
            new.admin.display_name,
            mfa=False,
            must_change_password=False,
        )
        relationship = offers.accept(acting, offer_token)
    return SignedUp(new, relationship)
