"""Who is asking, from where, and when: passed to every service function."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from tenantry.core.clock import utcnow
from tenantry.core.config import Settings
from tenantry.core.errors import Forbidden, Unauthenticated


class PrincipalKind(StrEnum):
    """A person signed in, an API client (an automation identity) with a token from the
    token endpoint, or an identity system provisioning the tenant by SCIM with one of the
    tenant's provisioning tokens."""

    USER = "user"
    API_CLIENT = "api_client"
    PROVISIONING = "provisioning"


class SecondFactor(StrEnum):
    """Which second factor a sign-in proved (recorded on its token). A passkey (WebAuthn) is
    phishing-resistant: its signature is bound to this site's origin; a TOTP code can be
    typed into a look-alike page and relayed."""

    NONE = "none"
    TOTP = "totp"
    PASSKEY = "passkey"


@dataclass(frozen=True)
class Principal:
    """Who is asking, as established from a bearer token for this request: a signed-in user,
    or an API client (``client_id`` set, no user: ``user_id`` and ``user_principal_name`` are
    None, ``display_name`` says "app 'N' of partner P")."""

    user_id: uuid.UUID | None
    tenant_id: uuid.UUID
    user_principal_name: str | None
    display_name: str
    mfa: bool
    must_change_password: bool
    token_id: uuid.UUID | None = None
    # When this sign-in proved its second factor (None: it did not); some acts need a recent
    # one (a just-in-time activation and its approval).
    mfa_at: datetime | None = None
    # The factor this sign-in proved (``mfa`` says whether it proved one at all): a partner
    # may require a passkey of its agents before they act on behalf.
    second_factor: SecondFactor = SecondFactor.NONE
    client_id: uuid.UUID | None = None
    # An API client that proved itself with a signed assertion of its registered key
    # (private_key_jwt), not a secret: what can be copied can be phished.
    client_uses_key: bool = False
    # A provisioning token (SCIM): no user, no client; ``display_name`` says "provisioning
    # token 'N' (id)". Its decision is ``access.provisioning_path``: its own tenant only.
    provisioning_token_id: uuid.UUID | None = None

    @property
    def phishing_resistant(self) -> bool:
        """What a partner requiring phishing-resistant sign-ins of its agents accepts: a
        person's passkey sign-in, or an API client's key (a secret can be copied)."""
        if self.is_client:
            return self.client_uses_key
        return self.second_factor == SecondFactor.PASSKEY

    @property
    def kind(self) -> PrincipalKind:
        if self.provisioning_token_id is not None:
            return PrincipalKind.PROVISIONING
        return PrincipalKind.USER if self.client_id is None else PrincipalKind.API_CLIENT

    @property
    def is_provisioning(self) -> bool:
        return self.provisioning_token_id is not None

    @property
    def is_client(self) -> bool:
        return self.client_id is not None

    @property
    def name(self) -> str:
        """Who, in the words of an explanation or a log: a user's UPN, a client's
        "app 'N' of partner P"."""
        return self.user_principal_name or self.display_name


@dataclass
class Context:
    session: Session
    settings: Settings
    principal: Principal | None = None
    request_id: str | None = None
    client_address: str | None = None
    now: datetime = field(default_factory=utcnow)
    # Work that must survive a rolled-back request (denied-attempt audits, throttle counts):
    # run by the caller in a fresh transaction after the rollback.
    after_rollback: list[Callable[[Context], None]] = field(default_factory=list)
    # The access decision per tenant, made once per request (``access.decide``; typed loosely
    # so that core knows nothing of access).
    decisions: dict[uuid.UUID, Any] = field(default_factory=dict)
    # tenant -> (partner tenant, relationship) when this request acts there on behalf.
    on_behalf: dict[uuid.UUID, tuple[uuid.UUID | None, uuid.UUID | None]] = field(
        default_factory=dict
    )

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise Unauthenticated("Sign in first.")
        return self.principal

    def require_user(self) -> uuid.UUID:
        """The signed-in person's user id; an API client's token is refused (403) where only a
        person may act (their own account, second factors, accepting offers)."""
        principal = self.require_principal()
        if principal.user_id is None:
            raise Forbidden(
                f"{principal.name} is an API client: this needs a person signed in "
                "(a user's token), not an app's.",
                slug="user-required",
                title="A person must sign in",
            )
        return principal.user_id

    def with_session(self, session: Session) -> Context:
        """The same caller on another session (for after-rollback work)."""
        return Context(
            session=session,
            settings=self.settings,
            principal=self.principal,
            request_id=self.request_id,
            client_address=self.client_address,
            now=self.now,
        )
