"""The partner's own settings for its programme: whether its agents must sign in with a
passkey (a phishing-resistant factor) before they act on behalf of customers. Only on the
partner's member path, by those who run its programme (``partner.manage``, never delegated):
a customer, or a partner of this partner, can't change them."""

from __future__ import annotations

from dataclasses import dataclass

from tenantry.audit import chain as audit
from tenantry.core.context import Context, SecondFactor
from tenantry.core.errors import Forbidden
from tenantry.partners import enrolment


@dataclass(frozen=True)
class PartnerSettings:
    require_phishing_resistant_mfa: bool


def get_settings(ctx: Context) -> PartnerSettings:
    partner = enrolment.require_partner(ctx)
    return PartnerSettings(partner.require_phishing_resistant_mfa)


def update_settings(
    ctx: Context, *, require_phishing_resistant_mfa: bool | None
) -> PartnerSettings:
    """Change what is given (None: leave it); audited in the partner's log. Turning the
    requirement on holds back, at their next request, every agent signed in without a
    passkey; turning it off needs a passkey sign-in itself."""
    partner = enrolment.require_partner(ctx)
    before = partner.require_phishing_resistant_mfa
    lifting = before and require_phishing_resistant_mfa is False
    if lifting and ctx.require_principal().second_factor != SecondFactor.PASSKEY:
        # The requirement stands against phished sign-ins: one of them, an admin's TOTP
        # session relayed by a look-alike page, must not be able to lift it.
        raise Forbidden(
            "Turning the passkey requirement off needs a sign-in with a passkey: a session "
            "signed in with a TOTP code can't lift it.",
            slug="passkey-session-required",
            title="Sign in with a passkey",
        )
    if require_phishing_resistant_mfa is not None and require_phishing_resistant_mfa != before:
        partner.require_phishing_resistant_mfa = require_phishing_resistant_mfa
        partner.updated_at = ctx.now
        audit.record(
            ctx,
            partner.id,
            "partner.settings.update",
            f"tenant:{partner.id}",
            details={
                "require_phishing_resistant_mfa": require_phishing_resistant_mfa,
                "was": before,
            },
        )
    return PartnerSettings(partner.require_phishing_resistant_mfa)
