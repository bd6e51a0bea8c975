"""Bearer tokens (stored as hashes), sign-in throttling, shared by every process, and
passkeys (WebAuthn credentials) with the challenges of their ceremonies."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.core.context import SecondFactor
from tenantry.models.base import Base, EnumText, uuid_pk


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("second_factor IN ('none', 'totp', 'passkey')", name="second_factor"),
        CheckConstraint("mfa = (second_factor <> 'none')", name="mfa_matches_second_factor"),
    )

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
    # Which factor it was (a partner may require a passkey of its agents); ``mfa`` stays for
    # compatibility and is true exactly when this is not ``none``.
    second_factor: Mapped[SecondFactor] = mapped_column(
        EnumText(SecondFactor, 16), default=SecondFactor.NONE, server_default="none"
    )
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


class Passkey(Base):
    """A WebAuthn credential registered by a user as a second factor: the public key (COSE),
    the authenticator's signature counter, and what the authenticator said of itself at
    registration (not verified against a metadata service: attestation 'none')."""

    __tablename__ = "passkeys"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # The credential id the authenticator chose (at most 1023 bytes): unique platform-wide.
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(2048))
    # The authenticator's counter (0 for those that keep none); a lower one than stored means
    # a cloned key, refused.
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    name: Mapped[str] = mapped_column(String(64))
    aaguid: Mapped[str] = mapped_column(String(36))
    # Backup eligible (a synced, multi-device passkey) and backed up, as last reported.
    backup_eligible: Mapped[bool] = mapped_column(default=False)
    backed_up: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]


class ChallengePurpose(StrEnum):
    """What a WebAuthn challenge was issued for: registering a passkey or signing in."""

    REGISTRATION = "registration"
    SIGN_IN = "sign_in"


class WebAuthnChallenge(Base):
    """A challenge handed to a browser, kept server-side until it is answered once: only its
    SHA-256 is stored, with the user it was issued to (after the password), the session that
    asked (registration) and when it expires. Spending it is a conditional DELETE, so of
    parallel answers exactly one wins."""

    __tablename__ = "webauthn_challenges"
    __table_args__ = (
        Index("ix_webauthn_challenges_user_id_purpose", "user_id", "purpose"),
        CheckConstraint("purpose IN ('registration', 'sign_in')", name="purpose"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    challenge_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[ChallengePurpose] = mapped_column(EnumText(ChallengePurpose, 16))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
