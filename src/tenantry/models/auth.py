"""Bearer tokens (stored as hashes) and sign-in throttling, shared by every process."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.models.base import Base, uuid_pk


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Whether this sign-in passed a second factor (partner agents need it to act on behalf).
    mfa: Mapped[bool] = mapped_column(default=False)
    # When the second factor was proven (the sign-in itself): just-in-time activation asks for
    # a recent one. Enrolling a factor never sets it.
    mfa_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    client_address: Mapped[str | None] = mapped_column(String(64))


class SignInThrottle(Base):
    """Failures per key ('account:<upn>' or 'address:<ip>') within a window."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
