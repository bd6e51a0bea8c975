"""API clients' credentials and tokens (automation identities, README "Automation
identities").

A client proves itself at the token endpoint (``identity.oauth``) with its secret or a JWT
signed by its key, and gets a short-lived opaque bearer token. Like a person's token, only its
SHA-256 is stored and it is looked up with its client on every request, so a client disabled,
deleted, expired or called from an address outside its allowed networks is refused at the
next request, in every process.

Secrets are 32 random bytes (256 bits) behind a public prefix. They are stored as SHA-256 and
compared in constant time, like bearer tokens: a slow password hash (argon2) protects
guessable secrets chosen by people; a uniformly random 256-bit secret can't be guessed from its
SHA-256, and hashing it fast keeps the token endpoint cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey, import_key
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tenantry.core.context import Context, Principal
from tenantry.core.errors import Forbidden, InvalidInput, Unauthenticated
from tenantry.models import ApiClient, ApiClientAssertion, ApiClientKind, ApiClientToken, Tenant

CLIENT_ID_PREFIX = "tnryc_"
SECRET_PREFIX = "tnrysec_"  # noqa: S105 - a public prefix, not a secret
# Not a prefix of a person's tokens ("tnry_"): each kind is looked up in its own table.
CLIENT_TOKEN_PREFIX = "tnryapp_"  # noqa: S105 - a public prefix, not a secret
MAX_TOKEN_LENGTH = 200


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_client_id() -> str:
    return CLIENT_ID_PREFIX + secrets.token_hex(12)


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def label(kind: ApiClientKind, name: str, tenant_name: str) -> str:
    """The client in words, as logs and explanations name it: "app 'N' of partner P" (or
    "app 'N' of T" for a tenant's own client)."""
    if kind == ApiClientKind.PARTNER:
        return f"app '{name}' of partner {tenant_name}"
    return f"app '{name}' of {tenant_name}"


def secret_matches(client: ApiClient, secret: str, now: datetime) -> bool:
    """The current secret, or the previous one until its overlap ends (constant time)."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > MAX_TOKEN_LENGTH:
        return False
    given = digest(secret)
    current = client.secret_hash is not None and hmac.compare_digest(client.secret_hash, given)
    previous = (
        client.previous_secret_hash is not None
        and client.previous_secret_until is not None
        and now < client.previous_secret_until
        and hmac.compare_digest(client.previous_secret_hash, given)
    )
    return current or previous


MIN_RSA_BITS = 2048
EC_CURVES = frozenset({"P-256", "P-384", "P-521"})
OKP_CURVES = frozenset({"Ed25519", "Ed448"})
MAX_NETWORKS = 50


def public_key(jwk: dict[str, Any]) -> Key:
    """A client's public key from its JWK: RSA (2048 bits or more), EC (P-256/384/521) or
    OKP (Ed25519/Ed448); a private key, a symmetric key or a malformed one is refused (422)."""
    try:
        key = import_key(jwk)
    except JoseError as exc:
        raise InvalidInput(f"public_jwk is not a usable JSON Web Key: {exc}") from None
    except Exception:  # whatever a malformed key makes the parsers raise
        raise InvalidInput("public_jwk is not a usable JSON Web Key.") from None
    if key.is_private:
        raise InvalidInput(
            "public_jwk holds a private key: send only the public part (keep the private key "
            "with the app).",
            slug="private-key-sent",
        )
    if isinstance(key, RSAKey):
        if key.raw_value.key_size < MIN_RSA_BITS:
            raise InvalidInput(f"An RSA key needs at least {MIN_RSA_BITS} bits.")
    elif isinstance(key, ECKey | OKPKey):
        curve = str(key.get("crv"))
        if curve not in (EC_CURVES if isinstance(key, ECKey) else OKP_CURVES):
            raise InvalidInput(f"The curve {curve} is not accepted.")
    else:
        raise InvalidInput("public_jwk must be an RSA, EC or OKP public key.")
    return key


def stored_jwk(jwk: dict[str, Any]) -> dict[str, Any]:
    """The checked public key as stored: its public members only (and its kid, if any)."""
    return dict(public_key(jwk).as_dict(private=False))


def networks(values: list[str]) -> list[str]:
    """Allowed networks, checked and written canonically (``192.0.2.7`` -> ``192.0.2.7/32``)."""
    if len(values) > MAX_NETWORKS:
        raise InvalidInput(f"Give at most {MAX_NETWORKS} networks.")
    out: list[str] = []
    for value in values:
        try:
            network = ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise InvalidInput(f"'{value}' is not an IP address or network (CIDR).") from None
        if str(network) not in out:
            out.append(str(network))
    return out


def address_allowed(allowed_ips: list[str], address: str | None) -> bool:
    """No networks: any address. Otherwise the request's address must be in one of them (an
    address that is not an IP, or none, is in none)."""
    if not allowed_ips:
        return True
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for network in allowed_ips:
        try:
            if ip in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


def refusal(client: ApiClient, now: datetime, address: str | None) -> str | None:
    """Why this client may not get or use a token now, in words; None when it may."""
    if not client.enabled:
        return "This API client is disabled."
    if client.expires_at is not None and client.expires_at <= now:
        return "This API client has expired."
    if not address_allowed(client.allowed_ips, address):
        return f"This API client may not be used from {address or 'an unknown address'}."
    return None


@dataclass(frozen=True)
class IssuedClientToken:
    access_token: str
    expires_in: int


def issue_token(ctx: Context, client: ApiClient) -> IssuedClientToken:
    """A new access token for an authenticated client; its tokens long expired go."""
    token = CLIENT_TOKEN_PREFIX + secrets.token_urlsafe(32)
    lifetime = ctx.settings.client_token_lifetime_seconds
    ctx.session.execute(
        delete(ApiClientToken).where(
            ApiClientToken.client_id == client.id,
            ApiClientToken.expires_at < ctx.now - timedelta(days=1),
        )
    )
    ctx.session.add(
        ApiClientToken(
            client_id=client.id,
            token_hash=digest(token),
            created_at=ctx.now,
            expires_at=ctx.now + timedelta(seconds=lifetime),
            client_address=ctx.client_address,
        )
    )
    client.last_used_at = ctx.now
    return IssuedClientToken(token, lifetime)


def principal_of(
    client: ApiClient, tenant_name: str, token_id: uuid.UUID | None = None
) -> Principal:
    """The client as the access decision and the audit log see it: no user, its tenant, its
    name in words; multi-factor by nature (README "Automation identities": there is no
    interactive sign-in to phish, the credential is a 256-bit secret or a private key)."""
    return Principal(
        user_id=None,
        tenant_id=client.tenant_id,
        user_principal_name=None,
        display_name=label(client.kind, client.name, tenant_name),
        mfa=True,
        must_change_password=False,
        token_id=token_id,
        client_id=client.id,
        client_uses_key=client.public_jwk is not None,
    )


def is_client_token(token: str) -> bool:
    return token.startswith(CLIENT_TOKEN_PREFIX)


def principal_for_token(
    session: Session, token: str, now: datetime, address: str | None
) -> Principal:
    """The client a token stands for, checked on every request: the token live, the client
    enabled, not expired, and called from an allowed address (refused: 401, or 403 for the
    address)."""
    invalid = Unauthenticated(
        "The token is invalid, expired or revoked; get a new one from /oauth2/token.",
        slug="invalid-token",
    )
    if not is_client_token(token) or len(token) > MAX_TOKEN_LENGTH:
        raise invalid
    hashed = digest(token)
    row = session.execute(
        select(ApiClientToken, ApiClient, Tenant.name)
        .join(ApiClient, ApiClient.id == ApiClientToken.client_id)
        .join(Tenant, Tenant.id == ApiClient.tenant_id)
        .where(ApiClientToken.token_hash == hashed)
    ).first()
    if row is None:
        raise invalid
    client_token, client, tenant_name = row
    if not hmac.compare_digest(client_token.token_hash, hashed):
        raise invalid
    if client_token.revoked_at is not None or client_token.expires_at <= now:
        raise invalid
    why = refusal(client, now, address)
    if why is not None:
        if client.enabled and (client.expires_at is None or client.expires_at > now):
            raise Forbidden(why, slug="address-not-allowed", title="Address not allowed")
        raise Unauthenticated(why, slug="invalid-token")
    return principal_of(client, tenant_name, client_token.id)


def revoke_token(ctx: Context) -> None:
    """End the token this request carries (``POST /auth/logout`` with an app's token)."""
    principal = ctx.require_principal()
    ctx.session.execute(
        update(ApiClientToken)
        .where(ApiClientToken.id == principal.token_id, ApiClientToken.revoked_at.is_(None))
        .values(revoked_at=ctx.now)
    )


def revoke_client_tokens(ctx: Context, client: ApiClient) -> None:
    """End every token of the client at once (disabled, deleted, its key replaced)."""
    ctx.session.execute(
        update(ApiClientToken)
        .where(ApiClientToken.client_id == client.id, ApiClientToken.revoked_at.is_(None))
        .values(revoked_at=ctx.now)
    )


def spend_assertion(ctx: Context, client: ApiClient, jti: str, expires_at: datetime) -> bool:
    """Record a client assertion's ``jti`` as used; False when it was used before (a replay).
    One conditional insert, so of two parallel uses of one assertion only one wins; the
    client's spent assertions that expired are forgotten (their ``exp`` refuses them now)."""
    ctx.session.execute(
        delete(ApiClientAssertion).where(
            ApiClientAssertion.client_id == client.id, ApiClientAssertion.expires_at < ctx.now
        )
    )
    dialect = ctx.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    spent = ctx.session.scalar(
        insert(ApiClientAssertion)
        .values(client_id=client.id, jti=jti, expires_at=expires_at)
        .on_conflict_do_nothing(
            index_elements=[ApiClientAssertion.client_id, ApiClientAssertion.jti]
        )
        .returning(ApiClientAssertion.jti)
    )
    return spent is not None
