"""Passkeys (WebAuthn credentials) as a second factor. The protocol is py_webauthn's (the
``webauthn`` package): options are made by ``generate_registration_options`` /
``generate_authentication_options`` and answers checked by ``verify_registration_response`` /
``verify_authentication_response``; nothing of the protocol is written here. What is here:

- the relying party: its id is the host of ``TENANTRY_PUBLIC_URL`` and the only origin
  accepted is that URL's, so an answer made for another site (a phishing page) never counts;
- the challenges, kept server-side: 32 random bytes per ceremony, of which only the SHA-256
  is stored with the user it was issued to (always after the password), the session that
  asked (registration) and an expiry; an answer spends its challenge with a conditional
  ``DELETE``, so of parallel answers with one challenge exactly one can win;
- the signature counter: checked here, after the library has verified the signature, so that
  only a genuine signature with a counter that did not move forward counts as a clone.

Who may register or remove one, and the password and the throttle around them, are the
business of ``factors`` and ``sign_in``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from tenantry.audit import chain as audit
from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, InvalidInput
from tenantry.models import ChallengePurpose, Passkey, User, WebAuthnChallenge
from tenantry.models.audit import AuditOutcome

RP_NAME = "Tenantry"
CHALLENGE_SECONDS = 300
MAX_PASSKEYS = 10  # per user
# Unanswered challenges a user may have per purpose: asking again forgets the oldest.
MAX_OPEN_CHALLENGES = 5
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class RelyingParty:
    """This installation as WebAuthn sees it: the RP id (a host name) and the origin."""

    id: str
    origin: str


def relying_party(settings: Settings) -> RelyingParty:
    """From ``TENANTRY_PUBLIC_URL``: the address people open. Browsers refuse WebAuthn on a
    bare IP address, so a passkey needs the installation served under a host name
    (``localhost`` counts, and is a secure context over plain HTTP)."""
    parts = urlsplit(settings.public_url.strip())
    host = (parts.hostname or "").lower()
    scheme = parts.scheme.lower()
    port = parts.port
    netloc = host if port is None or DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    return RelyingParty(id=host, origin=f"{scheme}://{netloc}")


def relying_party_problem(settings: Settings) -> str | None:
    """What keeps browsers from using passkeys with this ``TENANTRY_PUBLIC_URL``, or None."""
    rp = relying_party(settings)
    try:
        ipaddress.ip_address(rp.id.strip("[]"))
    except ValueError:
        pass
    else:
        return "an IP address: browsers refuse passkeys there; use a host name (localhost)"
    if not rp.origin.startswith("https://") and rp.id != "localhost":
        return "plain HTTP on a host other than localhost: browsers need HTTPS for passkeys"
    return None


# --- challenges ------------------------------------------------------------------------------


def _digest(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


def _issue_challenge(
    ctx: Context, user: User, purpose: ChallengePurpose, token_id: uuid.UUID | None = None
) -> bytes:
    """A new challenge for ``user``, kept (as its SHA-256) for CHALLENGE_SECONDS. The user's
    expired challenges go, and its oldest open ones past MAX_OPEN_CHALLENGES (only the user's
    rows: parallel sign-ins of different users never wait on each other here; the sweeper
    removes everyone's expired ones)."""
    ctx.session.execute(
        delete(WebAuthnChallenge).where(
            WebAuthnChallenge.user_id == user.id, WebAuthnChallenge.expires_at <= ctx.now
        )
    )
    older = list(
        ctx.session.scalars(
            select(WebAuthnChallenge.id)
            .where(WebAuthnChallenge.user_id == user.id, WebAuthnChallenge.purpose == purpose)
            .order_by(WebAuthnChallenge.created_at.desc(), WebAuthnChallenge.id)
            .offset(MAX_OPEN_CHALLENGES - 1)
        )
    )
    if older:
        ctx.session.execute(delete(WebAuthnChallenge).where(WebAuthnChallenge.id.in_(older)))
    challenge = secrets.token_bytes(32)
    ctx.session.add(
        WebAuthnChallenge(
            challenge_hash=_digest(challenge),
            purpose=purpose,
            user_id=user.id,
            token_id=token_id,
            created_at=ctx.now,
            expires_at=ctx.now + timedelta(seconds=CHALLENGE_SECONDS),
        )
    )
    ctx.session.flush()
    return challenge


def _spend_challenge(
    ctx: Context,
    user: User,
    purpose: ChallengePurpose,
    challenge: bytes,
    token_id: uuid.UUID | None = None,
) -> bool:
    """Spend the challenge the answer names, once: a conditional DELETE of the row issued to
    this user for this purpose (and, for registration, this session), not expired. Parallel
    answers queue on the row; the first to commit takes it, the others delete nothing. A
    refused answer rolls back with its request, so the challenge stays for a right one."""
    stmt = delete(WebAuthnChallenge).where(
        WebAuthnChallenge.challenge_hash == _digest(challenge),
        WebAuthnChallenge.user_id == user.id,
        WebAuthnChallenge.purpose == purpose,
        WebAuthnChallenge.expires_at > ctx.now,
    )
    if purpose == ChallengePurpose.REGISTRATION:
        stmt = stmt.where(WebAuthnChallenge.token_id == token_id)
    spent = ctx.session.execute(stmt.execution_options(synchronize_session=False))
    return bool(spent.rowcount == 1)  # type: ignore[attr-defined]


def forget_expired_challenges(ctx: Context) -> int:
    """Every expired challenge (the sweeper's job): answers how many went."""
    gone = ctx.session.execute(
        delete(WebAuthnChallenge).where(WebAuthnChallenge.expires_at <= ctx.now)
    )
    return int(gone.rowcount)  # type: ignore[attr-defined]


def forget_challenges(ctx: Context, user_id: uuid.UUID) -> None:
    """Every open challenge of the user (its factors were reset)."""
    ctx.session.execute(delete(WebAuthnChallenge).where(WebAuthnChallenge.user_id == user_id))


# --- the user's passkeys ----------------------------------------------------------------------


def passkeys_of(ctx: Context, user_id: uuid.UUID) -> list[Passkey]:
    return list(
        ctx.session.scalars(
            select(Passkey)
            .where(Passkey.user_id == user_id)
            .order_by(Passkey.created_at, Passkey.id)
        )
    )


def has_passkey(ctx: Context, user_id: uuid.UUID) -> bool:
    return bool(
        ctx.session.scalar(
            select(func.count()).select_from(Passkey).where(Passkey.user_id == user_id)
        )
    )


def _descriptors(passkeys: Sequence[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    out = []
    for passkey in passkeys:
        transports = [
            AuthenticatorTransport(t)
            for t in passkey.transports or []
            if t in AuthenticatorTransport._value2member_map_
        ]
        out.append(PublicKeyCredentialDescriptor(id=passkey.credential_id, transports=transports))
    return out


# --- registration ------------------------------------------------------------------------------


def registration_options(ctx: Context, user: User, token_id: uuid.UUID | None) -> dict[str, Any]:
    """The options for ``navigator.credentials.create()``: this user (its handle is its random
    id, never its name), no attestation asked for, and its registered passkeys excluded (an
    authenticator holding one says so instead of making a second)."""
    existing = passkeys_of(ctx, user.id)
    if len(existing) >= MAX_PASSKEYS:
        raise Conflict(
            f"You have {MAX_PASSKEYS} passkeys, the most an account may have. Remove one first.",
            slug="too-many-passkeys",
        )
    rp = relying_party(ctx.settings)
    challenge = _issue_challenge(ctx, user, ChallengePurpose.REGISTRATION, token_id)
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=RP_NAME,
        user_id=user.id.bytes,
        user_name=user.user_principal_name,
        user_display_name=user.display_name,
        challenge=challenge,
        timeout=CHALLENGE_SECONDS * 1000,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(existing),
    )
    return _json(options_to_json(options))


def _json(text: str) -> dict[str, Any]:
    """``options_to_json``'s text as the object the API answers with."""
    value = json.loads(text)
    assert isinstance(value, dict)
    return value


def _refused_registration(reason: str) -> InvalidInput:
    return InvalidInput(f"The passkey was not registered: {reason}", slug="invalid-passkey")


def register(
    ctx: Context, user: User, token_id: uuid.UUID | None, name: str, credential: dict[str, Any]
) -> Passkey:
    """Check the browser's answer to ``registration_options`` (the library verifies the
    challenge, the origin, the RP id and the attestation 'none') and keep the credential."""
    try:
        parsed: RegistrationCredential = parse_registration_credential_json(credential)
        claimed = parse_client_data_json(parsed.response.client_data_json).challenge
    except Exception as exc:  # whatever a malformed answer makes the parser raise: refused
        raise _refused_registration("the answer is not a WebAuthn registration.") from exc
    if not _spend_challenge(ctx, user, ChallengePurpose.REGISTRATION, claimed, token_id):
        raise _refused_registration(
            "its challenge is unknown, used already, expired or from another session. Start again."
        )
    rp = relying_party(ctx.settings)
    try:
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=claimed,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
        )
    except Exception as exc:  # the library's refusal, or a parser's on a malformed part
        raise _refused_registration(f"{exc}") from exc
    taken = ctx.session.scalar(
        select(Passkey.id).where(Passkey.credential_id == verified.credential_id)
    )
    if taken is not None:
        raise Conflict("This passkey is registered already.", slug="passkey-registered")
    passkey = Passkey(
        user_id=user.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=sorted({t.value for t in parsed.response.transports or []}),
        name=name,
        aaguid=verified.aaguid,
        backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        backed_up=verified.credential_backed_up,
        created_at=ctx.now,
    )
    ctx.session.add(passkey)
    ctx.session.flush()
    return passkey


# --- signing in ----------------------------------------------------------------------------------


def issue_sign_in_challenge(ctx: Context, user: User) -> bytes:
    """A challenge for the user's sign-in (issued only once its password is proven)."""
    return _issue_challenge(ctx, user, ChallengePurpose.SIGN_IN)


def sign_in_options(ctx: Context, user: User, challenge: bytes) -> dict[str, Any]:
    """The options for ``navigator.credentials.get()``: the user's passkeys, this challenge."""
    options = generate_authentication_options(
        rp_id=relying_party(ctx.settings).id,
        challenge=challenge,
        timeout=CHALLENGE_SECONDS * 1000,
        allow_credentials=_descriptors(passkeys_of(ctx, user.id)),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return _json(options_to_json(options))


class PasskeyRefused(Exception):
    """An answer that proves nothing: ``reason`` goes into the audit, never to the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify_sign_in(ctx: Context, user: User, credential: dict[str, Any]) -> Passkey:
    """Check an answer to ``sign_in_options``: a passkey of *this* user, the challenge issued
    to it and not spent, and the library's verification (origin, RP id, user presence,
    signature over the challenge). Then the counter: a key that keeps one must show a higher
    count than the last; a lower or equal one with a good signature is a copy of the key
    (a clone), refused and audited as such. Raises ``PasskeyRefused``."""
    try:
        parsed: AuthenticationCredential = parse_authentication_credential_json(credential)
        claimed = parse_client_data_json(parsed.response.client_data_json).challenge
    except Exception as exc:  # whatever a malformed answer makes the parser raise
        raise PasskeyRefused("passkey: not a WebAuthn assertion") from exc
    passkey = ctx.session.scalar(
        select(Passkey).where(Passkey.credential_id == parsed.raw_id, Passkey.user_id == user.id)
    )
    if passkey is None:
        raise PasskeyRefused("passkey: not one of this user's")
    handle = parsed.response.user_handle
    if handle is not None and handle != user.id.bytes:
        raise PasskeyRefused("passkey: made for another user")
    if not _spend_challenge(ctx, user, ChallengePurpose.SIGN_IN, claimed):
        raise PasskeyRefused("passkey: unknown, used or expired challenge")
    rp = relying_party(ctx.settings)
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=claimed,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=passkey.public_key,
            # The counter is compared below, once the signature is known to be good.
            credential_current_sign_count=0,
        )
    except Exception as exc:  # the library's refusal, or a parser's on a malformed part
        raise PasskeyRefused(f"passkey: {str(exc)[:200]}") from exc
    count, stored = verified.new_sign_count, passkey.sign_count
    # A key that keeps no counter says 0 every time; one that keeps one must move forward.
    # Conditional, so two answers showing one count (two copies used at once) can't both pass.
    moves_forward = Passkey.sign_count < count if count else Passkey.sign_count == 0
    advanced = ctx.session.execute(
        update(Passkey)
        .where(Passkey.id == passkey.id, moves_forward)
        .values(sign_count=count, last_used_at=ctx.now, backed_up=verified.credential_backed_up)
        .execution_options(synchronize_session=False)
    )
    if advanced.rowcount != 1:  # type: ignore[attr-defined]
        _audit_clone(ctx, user, passkey, count, stored)
        raise PasskeyRefused("passkey: signature counter went backwards (a cloned key?)")
    ctx.session.refresh(passkey)
    return passkey


def _audit_clone(ctx: Context, user: User, passkey: Passkey, count: int, stored: int) -> None:
    """A good signature whose counter did not move forward: someone holds a copy of the key.
    Recorded after the refusal rolls back, with the passkey named, for the admins to see."""
    tenant_id, user_id, passkey_id, name = user.tenant_id, user.id, passkey.id, passkey.name

    def record(fresh: Context) -> None:
        audit.record(
            fresh,
            tenant_id,
            "auth.passkey_clone_suspected",
            f"user:{user_id}",
            outcome=AuditOutcome.FAILURE,
            details={
                "passkey_id": str(passkey_id),
                "name": name,
                "sign_count": count,
                "stored_sign_count": stored,
            },
        )

    ctx.after_rollback.append(record)
