"""The keys the OpenID Connect provider signs ID and access tokens with (joserfc).

Keys live in the database (``oidc_signing_keys``), so every ``tenantry serve`` process signs
with the same key and publishes the same JWKS. The newest live key signs; the keys before it
stay in the JWKS (so what they signed still validates) until ``tenantry oidc rotate-keys``
retires them: a rotation adds a new key and keeps only the key it replaces besides it.

Private keys at rest: each is stored as a JWE (``dir``, A256GCM) under a key derived from the
secret key (an HMAC of it with a fixed label, like the audit key), so a copy of the database
alone (a backup, a read-only leak) does not let anyone sign tokens. Changing the secret key
makes the stored keys unreadable: rotate the keys then (the new key is made with the new
secret; the old ones are retired).
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from joserfc import jwe, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey, RSAKey
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.models import SigningKey

ALGORITHM = "RS256"
KEY_BITS = 2048
_WRAPPING_LABEL = b"tenantry oidc signing keys v1"


def _wrapping_key(settings: Settings) -> OctKey:
    raw = hmac.new(settings.effective_secret_key.encode(), _WRAPPING_LABEL, "sha256").digest()
    return OctKey.import_key(raw)


def _seal(settings: Settings, private_jwk: dict[str, Any]) -> str:
    header = {"alg": "dir", "enc": "A256GCM", "cty": "jwk+json"}
    return jwe.encrypt_compact(header, json.dumps(private_jwk), _wrapping_key(settings))


def _open(settings: Settings, sealed: str) -> RSAKey:
    plain = jwe.decrypt_compact(sealed, _wrapping_key(settings)).plaintext
    assert plain is not None
    return RSAKey.import_key(json.loads(plain))


def create_key(session: Session, settings: Settings, now: datetime) -> SigningKey:
    kid = secrets.token_urlsafe(12)
    key = RSAKey.generate_key(KEY_BITS, parameters={"kid": kid, "use": "sig", "alg": ALGORITHM})
    row = SigningKey(
        kid=kid,
        alg=ALGORITHM,
        public_jwk=dict(key.as_dict(private=False)),
        private_jwk_encrypted=_seal(settings, dict(key.as_dict(private=True))),
        created_at=now,
        retired_at=None,
    )
    session.add(row)
    session.flush()
    return row


def _live(session: Session) -> list[SigningKey]:
    return list(
        session.scalars(
            select(SigningKey)
            .where(SigningKey.retired_at.is_(None))
            .order_by(SigningKey.created_at.desc(), SigningKey.kid)
        )
    )


@dataclass(frozen=True)
class Signer:
    kid: str
    key: RSAKey


def current(ctx: Context) -> Signer:
    """The key that signs now: the newest live one (made on first use; two processes making
    one at once both publish theirs, and the newest signs)."""
    live = _live(ctx.session)
    row = live[0] if live else create_key(ctx.session, ctx.settings, ctx.now)
    return Signer(row.kid, _open(ctx.settings, row.private_jwk_encrypted))


def rotate(session: Session, settings: Settings, now: datetime) -> tuple[SigningKey, list[str]]:
    """A new key signs from now on; the key it replaces stays published, older ones retire.
    Returns the new key and the kids retired."""
    previous = _live(session)
    new = create_key(session, settings, now)
    retired = [row.kid for row in previous[1:]]
    if retired:
        session.execute(
            update(SigningKey).where(SigningKey.kid.in_(retired)).values(retired_at=now)
        )
    return new, retired


def jwks(session: Session) -> dict[str, Any]:
    """The public keys of every live key (the JWKS document)."""
    return {"keys": [dict(row.public_jwk) for row in _live(session)]}


def published(ctx: Context) -> dict[str, Any]:
    """The JWKS, with a signing key made first if there is none yet (a service may fetch the
    keys before anyone signed in)."""
    if not _live(ctx.session):
        create_key(ctx.session, ctx.settings, ctx.now)
    return jwks(ctx.session)


def key_set(session: Session) -> KeySet:
    return KeySet.import_key_set(jwks(session))  # type: ignore[arg-type]


class InvalidSignedToken(Exception):
    """A token this provider did not sign, or no longer vouches for."""


def verify(session: Session, token: str, typ: str | None = None) -> dict[str, Any]:
    """The claims of a token signed by one of the live keys (signature and header only; the
    caller checks the claims)."""
    try:
        decoded = jwt.decode(token, key_set(session), algorithms=[ALGORITHM])
    except (JoseError, ValueError, KeyError) as exc:
        raise InvalidSignedToken(str(exc)) from None
    if typ is not None and str(decoded.header.get("typ", "")).lower() != typ.lower():
        raise InvalidSignedToken("wrong token type")
    return dict(decoded.claims)
