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
from tenantry.core.errors import Unauthenticated


class SecondFactor(StrEnum):
    """Which second factor a sign-in proved (recorded on its token). A passkey (WebAuthn) is
    phishing-resistant: its signature is bound to this site's origin; a TOTP code can be
    typed into a look-alike page and relayed."""

    NONE = "none"
    TOTP = "totp"
    PASSKEY = "passkey"


@dataclass(frozen=True)
class Principal:
    """A signed-in user, as established from a bearer token for this request."""

    user_id: uuid.UUID
    tenant_id: uuid.UUID
    user_principal_name: str
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
