"""The OpenID Connect provider: Authlib's authorization code grant (PKCE S256 required, with
its OpenID Connect extension), its refresh token grant and the client credentials grant of
``identity.oauth``, on one authorization server (README "Services sign in with Tenantry").

Nothing of the protocol is written here: validation, errors, PKCE, the ID token and its
hashes are Authlib's; keys and signatures are joserfc's (``identity.signing_keys``). This
module says where codes, refresh tokens and services live, and adds Tenantry's rules:

- who may sign in to a service, into which tenant, with which ``roles`` and ``licenses``
  (``decide_sign_in``): the person's own tenant, or a customer's on behalf, under the access
  decision (``access.decide``) like every request; a service requiring a licence refuses a
  person without one; a tenant's app signs in its own people only;
- codes are one-time: spent by one conditional ``UPDATE`` (of two parallel redemptions, one
  wins), short-lived, stored as SHA-256; a replayed code revokes what it gave;
- refresh tokens rotate: each use spends the token (conditional ``UPDATE``) and issues the
  next; a spent token used again revokes its whole family. Each refresh decides again: a
  disabled person, a lost licence, or (on behalf) an ended relationship or a lost role is
  refused;
- access tokens are JWTs (RFC 9068, ``typ: at+jwt``) whose audience is the service.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import (
    ClientMixin,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Request,
    grants,
)
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import grants as oidc_grants
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select, update

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.audit import chain as audit
from tenantry.core.context import Context, Principal, SecondFactor
from tenantry.core.errors import Forbidden, NotFound, Unauthenticated
from tenantry.identity import oauth, relying_parties, signing_keys
from tenantry.models import (
    AuthorizationCode,
    RefreshToken,
    RelyingParty,
    RelyingPartyKind,
    Tenant,
    User,
)
from tenantry.models.audit import AuditOutcome

AUTHORIZE_PATH = "/oauth2/authorize"
JWKS_PATH = "/oauth2/jwks"
USERINFO_PATH = "/oauth2/userinfo"
END_SESSION_PATH = "/oauth2/logout"
DISCOVERY_PATH = "/.well-known/openid-configuration"
AUTHORIZATION_CODE = "authorization_code"
REFRESH_TOKEN = "refresh_token"  # noqa: S105 - the name of a grant
PUBLIC = "none"
SCOPES = ["openid", "profile", "email", "offline_access"]
HEALTH_SCOPE = "service.health"
# The parameter naming the customer a partner agent signs in to on behalf.
TENANT_PARAMETER = "tenant_id"
CODE_LIFETIME = timedelta(seconds=60)
TOKEN_LIFETIME = timedelta(minutes=15)
REFRESH_LIFETIME = timedelta(days=1)
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type (RFC 9068)
CODE_CHALLENGE_METHOD = "S256"


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def issuer(ctx: Context) -> str:
    return ctx.settings.public_url.rstrip("/")


# --- the services as Authlib asks about them -----------------------------------------------


class RelyingPartyClient(ClientMixin):
    def __init__(self, row: RelyingParty) -> None:
        self.row = row

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # the request names its redirect URI, matched exactly

    def get_allowed_scope(self, scope: str) -> str:
        asked = (scope or "").split()
        return " ".join(s for s in asked if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return relying_parties.secret_matches(self.row, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint != "token":
            return False
        if self.row.public:
            return method == PUBLIC
        return method in (oauth.SECRET_BASIC, oauth.SECRET_POST)

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type in (AUTHORIZATION_CODE, REFRESH_TOKEN):
            return True
        # Its own credential (to post its health): a platform service with a secret.
        return (
            grant_type == oauth.CLIENT_CREDENTIALS
            and not self.row.public
            and self.row.service_id is not None
        )

    def refusal(self, ctx: Context) -> str | None:
        return None if self.row.enabled else "This service is disabled."

    def check_scope(self, scope: str | None) -> None:
        """Client credentials: only ``service.health``, the scope of its own health."""
        if scope and scope.split() != [HEALTH_SCOPE]:
            raise InvalidScopeError(f"A service's own credential has one scope: {HEALTH_SCOPE}.")


# --- who signs in, into which tenant ------------------------------------------------------


@dataclass
class SignIn:
    """The person a code or refresh token stands for, as Authlib's grants pass it around."""

    user: User
    tenant_id: uuid.UUID
    roles: list[str]
    licenses: list[str]
    second_factor: SecondFactor
    auth_time: datetime
    session_id: uuid.UUID | None = None
    partner_tenant_id: uuid.UUID | None = None
    partner_name: str | None = None
    relationship_id: uuid.UUID | None = None
    # Where a refresh token issued now belongs: its family, and the code it came from.
    family_id: uuid.UUID = field(default_factory=uuid.uuid4)
    code_id: uuid.UUID | None = None

    def get_user_id(self) -> str:
        return str(self.user.id)

    @property
    def act(self) -> dict[str, str] | None:
        if self.partner_tenant_id is None:
            return None
        return {
            "sub": str(self.user.id),
            "tid": str(self.partner_tenant_id),
            "partner": self.partner_name or "",
        }


def _refuse_licence(ctx: Context, party: RelyingParty, tenant_id: uuid.UUID) -> Forbidden:
    audit.record_after_rollback(
        ctx,
        tenant_id,
        "oidc.sign_in",
        f"oidc_client:{party.id}",
        outcome=AuditOutcome.FAILURE,
        details={"service": party.name, "reason": "licence required"},
    )
    return Forbidden(
        f"{party.name} needs a licence that includes '{party.required_license}', and you "
        "hold none. Ask an administrator of your organisation to assign you one.",
        slug="licence-required",
        title="A licence is required",
    )


def _member_sign_in(
    ctx: Context, party: RelyingParty, principal: Principal, user: User, session_id: Any
) -> SignIn:
    home = principal.tenant_id
    if party.kind == RelyingPartyKind.TENANT and party.tenant_id != home:
        raise NotFound("This app is not available to your organisation.", slug="unknown-app")
    decision = access.decide(ctx, home)
    licences = relying_parties.licences_of(ctx, user.id, home)
    if party.required_license and party.required_license not in licences:
        raise _refuse_licence(ctx, party, home)
    return SignIn(
        user=user,
        tenant_id=home,
        roles=sorted(r.value for r in decision.roles),
        licenses=licences,
        second_factor=principal.second_factor,
        auth_time=ctx.now,
        session_id=session_id,
    )


def _on_behalf_decision(ctx: Context, principal: Principal, customer: uuid.UUID) -> access.Decision:
    """The agent's decision in the customer, refused as any request would be: no path is 404
    (the tenant does not exist for it), a sign-in that may not act on behalf or no role
    there is 403, explained and audited."""
    decision = access.decide(ctx, customer)
    if not decision.reachable:
        access.deny(ctx, decision, Permission.TENANT_READ, "no path to tenant")
        raise NotFound("Organisation not found.")
    why = decision.blocked or access.second_factor_held_back(ctx.session, principal)
    if why is not None:
        raise access.deny(
            ctx,
            decision,
            Permission.TENANT_READ,
            f"Denied: signing in to a service on behalf of {decision.tenant_name} needs a "
            f"sign-in that may act on behalf. {why}",
        )
    if not decision.delegated or not decision.roles:
        raise access.deny(
            ctx,
            decision,
            Permission.TENANT_READ,
            f"Denied: {principal.name} holds no role in {decision.tenant_name} now.",
        )
    return decision


def _on_behalf_sign_in(
    ctx: Context,
    party: RelyingParty,
    principal: Principal,
    user: User,
    customer: uuid.UUID,
    session_id: Any,
) -> SignIn:
    if party.kind == RelyingPartyKind.TENANT:
        # A tenant's app signs in that tenant's own people; partners administer, they don't
        # use the customer's own apps.
        raise NotFound("This app signs in its organisation's own people only.", slug="unknown-app")
    decision = _on_behalf_decision(ctx, principal, customer)
    relationship = next((g.relationship_id for g in decision.grants if g.relationship_id), None)
    ctx.on_behalf[customer] = (decision.partner_tenant_id, relationship)
    partner = ctx.session.get(Tenant, decision.partner_tenant_id)
    return SignIn(
        user=user,
        tenant_id=customer,
        roles=sorted(r.value for r in decision.roles),
        licenses=[],  # administration, not the use of a seat: no licence asked or given
        second_factor=principal.second_factor,
        auth_time=ctx.now,
        session_id=session_id,
        partner_tenant_id=decision.partner_tenant_id,
        partner_name=partner.name if partner else None,
        relationship_id=relationship,
    )


def decide_sign_in(ctx: Context, party: RelyingParty, customer: str | None) -> SignIn:
    """Whether the signed-in person (the web session) may sign in to ``party``, into their
    own tenant or (``customer``) a customer's on behalf; audited in the tenant signed in to.
    Refusals are ``ServiceError``s (the page shows them, never the service)."""
    principal = ctx.require_principal()
    if principal.user_id is None:
        raise Forbidden("Only a person signs in to a service.", slug="user-required")
    user = ctx.session.get(User, principal.user_id)
    if user is None or not user.enabled:
        raise Unauthenticated("Sign in again.")
    if not party.enabled:
        raise Forbidden(f"{party.name} is disabled.", slug="service-disabled")
    if principal.must_change_password:
        raise Forbidden(
            "Change your temporary password first (on your account page), then sign in to "
            f"{party.name} again.",
            slug="password-change-required",
        )
    target = _tenant_parameter(customer)
    if target is None or target == principal.tenant_id:
        sign_in = _member_sign_in(ctx, party, principal, user, principal.token_id)
    else:
        sign_in = _on_behalf_sign_in(ctx, party, principal, user, target, principal.token_id)
    audit.record(
        ctx,
        sign_in.tenant_id,
        "oidc.sign_in",
        f"oidc_client:{party.id}",
        details={
            "service": party.name,
            "client_id": party.client_id,
            "roles": sign_in.roles,
            **({"act": sign_in.act} if sign_in.act else {}),
        },
    )
    return sign_in


def _tenant_parameter(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("Organisation not found.") from None


def _principal_of(user: User, factor: SecondFactor, auth_time: datetime) -> Principal:
    """The person as the access decision sees them for a sign-in they made earlier."""
    return Principal(
        user_id=user.id,
        tenant_id=user.tenant_id,
        user_principal_name=user.user_principal_name,
        display_name=user.display_name,
        mfa=factor != SecondFactor.NONE,
        must_change_password=False,
        mfa_at=auth_time if factor != SecondFactor.NONE else None,
        second_factor=factor,
    )


def decide_again(
    ctx: Context, party: RelyingParty, row: AuthorizationCode | RefreshToken
) -> SignIn | None:
    """At the token endpoint: the sign-in a code or refresh token stands for, decided again
    now (None: refused). A disabled person, a disabled service, a lost licence, or on behalf a
    relationship ended or a role lost: no more tokens."""
    user = ctx.session.get(User, row.user_id)
    if user is None or not user.enabled or not party.enabled:
        return None
    principal = _principal_of(user, row.second_factor, row.auth_time)
    decision = access.permissions(ctx.session, principal, row.tenant_id, ctx.now)
    partner_name = None
    if row.partner_tenant_id is None:
        if row.tenant_id != user.tenant_id:
            return None
        licences = relying_parties.licences_of(ctx, user.id, row.tenant_id)
        if party.required_license and party.required_license not in licences:
            return None
    else:
        if not decision.delegated or decision.blocked or not decision.roles:
            return None
        if decision.partner_tenant_id != row.partner_tenant_id:
            return None
        # The relationship the sign-in was made under must still be one that gives it power:
        # once it ended, a new one (a new consent) needs a new sign-in.
        if row.relationship_id is not None and row.relationship_id not in {
            g.relationship_id for g in decision.grants
        }:
            return None
        if access.second_factor_held_back(ctx.session, principal) is not None:
            return None
        licences = []
        partner = ctx.session.get(Tenant, row.partner_tenant_id)
        partner_name = partner.name if partner else None
    return SignIn(
        user=user,
        tenant_id=row.tenant_id,
        roles=sorted(r.value for r in decision.roles),
        licenses=licences,
        second_factor=row.second_factor,
        auth_time=row.auth_time,
        session_id=row.session_id,
        partner_tenant_id=row.partner_tenant_id,
        partner_name=partner_name,
        relationship_id=row.relationship_id,
    )


# --- codes --------------------------------------------------------------------------------


class Code:
    """A stored code as Authlib's grants and the OpenID extension read it."""

    def __init__(self, row: AuthorizationCode) -> None:
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int:
        return int(self.row.auth_time.timestamp())

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str]:
        return amr_of(self.row.second_factor)


def amr_of(factor: SecondFactor) -> list[str]:
    """How the person proved themselves (RFC 8176 values)."""
    if factor == SecondFactor.PASSKEY:
        return ["pwd", "hwk", "mfa"]
    if factor == SecondFactor.TOTP:
        return ["pwd", "otp", "mfa"]
    return ["pwd"]


def factor_of(amr: Any) -> SecondFactor:
    values = amr if isinstance(amr, list) else []
    if "hwk" in values:
        return SecondFactor.PASSKEY
    if "otp" in values:
        return SecondFactor.TOTP
    return SecondFactor.NONE


def _server(grant: Any) -> Provider:
    server: Provider = grant.server
    return server


def revoke_family(ctx: Context, family_id: uuid.UUID | None = None, **where: Any) -> None:
    stmt = update(RefreshToken).where(RefreshToken.revoked_at.is_(None))
    if family_id is not None:
        stmt = stmt.where(RefreshToken.family_id == family_id)
    for column, value in where.items():
        stmt = stmt.where(getattr(RefreshToken, column) == value)
    ctx.session.execute(stmt.values(revoked_at=ctx.now))


class PkceS256(CodeChallenge):
    """PKCE is required of every client, public or not, and only S256 (RFC 9700 §2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = [CODE_CHALLENGE_METHOD]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge (S256).")
        if data.get("code_challenge_method") != CODE_CHALLENGE_METHOD:
            raise InvalidRequestError("code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier' (PKCE is required).")
        super().validate_code_verifier(grant, result)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [oauth.SECRET_BASIC, oauth.SECRET_POST, PUBLIC]
    AUTHORIZATION_CODE_LENGTH = 64

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        ctx = _server(self).ctx
        sign_in: SignIn = request.user
        client: RelyingPartyClient = request.client
        data = request.payload.data
        ctx.session.add(
            AuthorizationCode(
                code_hash=digest(code),
                client_id=client.row.id,
                user_id=sign_in.user.id,
                tenant_id=sign_in.tenant_id,
                partner_tenant_id=sign_in.partner_tenant_id,
                relationship_id=sign_in.relationship_id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope or "",
                nonce=data.get("nonce"),
                code_challenge=data["code_challenge"],
                code_challenge_method=data["code_challenge_method"],
                second_factor=sign_in.second_factor,
                session_id=sign_in.session_id,
                auth_time=sign_in.auth_time,
                created_at=ctx.now,
                expires_at=ctx.now + CODE_LIFETIME,
                used_at=None,
            )
        )

    def query_authorization_code(self, code: str, client: RelyingPartyClient) -> Code | None:
        """Spends the code (one conditional UPDATE: of two redemptions, one wins). A code
        used again revokes the tokens it gave (RFC 6749 §4.1.2)."""
        ctx = _server(self).ctx
        if not isinstance(code, str) or len(code) > 256:
            return None
        hashed = digest(code)
        spent = ctx.session.execute(
            update(AuthorizationCode)
            .where(
                AuthorizationCode.code_hash == hashed,
                AuthorizationCode.client_id == client.row.id,
                AuthorizationCode.used_at.is_(None),
                AuthorizationCode.expires_at > ctx.now,
            )
            .values(used_at=ctx.now)
        )
        row = ctx.session.scalar(
            select(AuthorizationCode).where(AuthorizationCode.code_hash == hashed)
        )
        if row is None or row.client_id != client.row.id:
            return None
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            if row.used_at is not None and row.used_at != ctx.now:
                revoke_family(ctx, code_id=row.id)
            return None
        return Code(row)

    def delete_authorization_code(self, authorization_code: Code) -> None:
        """Spent already, when it was found (``query_authorization_code``)."""

    def authenticate_user(self, authorization_code: Code) -> SignIn | None:
        server = _server(self)
        row = authorization_code.row
        party = self.request.client.row
        sign_in = decide_again(server.ctx, party, row)
        if sign_in is not None:
            sign_in.code_id = row.id
        return sign_in


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [oauth.SECRET_BASIC, oauth.SECRET_POST, PUBLIC]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> StoredRefresh | None:
        """Spends the token (conditional UPDATE). A spent or revoked one used again revokes
        its family: a stolen token and its rightful holder can't both go on."""
        ctx = _server(self).ctx
        client = self.request.client
        if not isinstance(refresh_token, str) or len(refresh_token) > 256:
            return None
        if not isinstance(client, RelyingPartyClient):
            return None
        hashed = digest(refresh_token)
        spent = ctx.session.execute(
            update(RefreshToken)
            .where(
                RefreshToken.token_hash == hashed,
                RefreshToken.client_id == client.row.id,  # another client's: not even spent
                RefreshToken.used_at.is_(None),
                RefreshToken.revoked_at.is_(None),
                RefreshToken.expires_at > ctx.now,
            )
            .values(used_at=ctx.now)
        )
        row = ctx.session.scalar(select(RefreshToken).where(RefreshToken.token_hash == hashed))
        if row is None or row.client_id != client.row.id:
            return None
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            if row.expires_at > ctx.now:
                revoke_family(ctx, row.family_id)
            return None
        return StoredRefresh(row)

    def authenticate_user(self, refresh_token: StoredRefresh) -> SignIn | None:
        server = _server(self)
        row = refresh_token.row
        sign_in = decide_again(server.ctx, self.request.client.row, row)
        if sign_in is None:
            revoke_family(server.ctx, row.family_id)
            # Authlib answers "no user" with invalid_request; it is the grant that is invalid.
            raise InvalidGrantError("The sign-in behind this refresh token is no longer valid.")
        sign_in.family_id, sign_in.code_id = row.family_id, row.code_id
        return sign_in

    def revoke_old_credential(self, refresh_token: StoredRefresh) -> None:
        """Spent already, when it was found."""


class StoredRefresh:
    def __init__(self, row: RefreshToken) -> None:
        self.row = row

    def check_client(self, client: Any) -> bool:
        return isinstance(client, RelyingPartyClient) and client.row.id == self.row.client_id

    def get_scope(self) -> str:
        return self.row.scope


class IdTokens(oidc_grants.OpenIDCode):
    """Authlib's ID token, signed with the provider's current key, with Tenantry's claims."""

    def __init__(self, provider: Provider) -> None:
        super().__init__(require_nonce=False)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return False  # a nonce is bound to its code, which is spent once

    def resolve_client_private_key(self, client: Any) -> RSAKey:
        return self.provider.signer.key

    def get_client_algorithm(self, client: Any) -> str:
        return signing_keys.ALGORITHM

    def get_encode_header(self, client: Any) -> dict[str, str]:
        return {"alg": signing_keys.ALGORITHM, "kid": self.provider.signer.kid, "typ": "JWT"}

    def get_client_claims(self, client: Any) -> dict[str, Any]:
        now = int(self.provider.ctx.now.timestamp())
        return {
            "iss": self.provider.issuer,
            "aud": client.get_client_id(),
            "iat": now,
            "exp": now + int(TOKEN_LIFETIME.total_seconds()),
        }

    def generate_user_info(self, user: SignIn, scope: str) -> dict[str, Any]:
        return person_claims(user, scope)


class RefreshIdTokens(IdTokens):
    """A refresh also returns a new ID token (OpenID Connect Core §12.2), without a nonce."""

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_create_token_response", self.process_token)


def person_claims(sign_in: SignIn, scope: str) -> dict[str, Any]:
    """What the ID token, the access token and userinfo say of the person."""
    scopes = scope.split()
    claims: dict[str, Any] = {
        "sub": str(sign_in.user.id),
        "tid": str(sign_in.tenant_id),
        "roles": sign_in.roles,
        "licenses": sign_in.licenses,
        "auth_time": int(sign_in.auth_time.timestamp()),
        "amr": amr_of(sign_in.second_factor),
    }
    if sign_in.session_id is not None:
        claims["sid"] = str(sign_in.session_id)
    if sign_in.act is not None:
        claims["act"] = sign_in.act
    if "profile" in scopes:
        claims["name"] = sign_in.user.display_name
        claims["preferred_username"] = sign_in.user.user_principal_name
    if "email" in scopes:
        claims["email"] = sign_in.user.user_principal_name
    return claims


# --- the server ---------------------------------------------------------------------------


class Provider(oauth.AuthorizationServer):
    """``identity.oauth``'s server with the OpenID Connect grants: API clients keep their
    client credentials; services sign people in."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.scopes_supported = SCOPES
        self._signer: signing_keys.Signer | None = None
        self.register_grant(AuthorizationCodeGrant, [PkceS256(required=True), IdTokens(self)])
        self.register_grant(RefreshTokenGrant, [RefreshIdTokens(self)])

    @property
    def signer(self) -> signing_keys.Signer:
        if self._signer is None:
            self._signer = signing_keys.current(self.ctx)
        return self._signer

    def query_client(self, client_id: Any) -> Any:
        if isinstance(client_id, str) and relying_parties.is_relying_party_id(client_id):
            if len(client_id) > 64:
                return None
            row = self.ctx.session.scalar(
                select(RelyingParty).where(RelyingParty.client_id == client_id)
            )
            if row is None or not row.enabled:
                return None
            return RelyingPartyClient(row)
        return super().query_client(client_id)

    def validate_requested_scope(self, scope: str | None) -> None:
        asked = (scope or "").split()
        if "openid" not in asked:
            raise InvalidScopeError("Ask for the 'openid' scope: this is OpenID Connect.")
        unknown = [s for s in asked if s not in SCOPES]
        if unknown:
            raise InvalidScopeError(f"Unknown scope: {' '.join(unknown)}.")

    def _generate_token(
        self,
        grant_type: str,
        client: Any,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        if not isinstance(client, RelyingPartyClient):
            return super()._generate_token(
                grant_type, client, user, scope, expires_in, include_refresh_token
            )
        if grant_type == oauth.CLIENT_CREDENTIALS:
            return self._service_token(client)
        sign_in: SignIn = user
        token: dict[str, Any] = {
            "access_token": self._access_token(client, sign_in, scope or ""),
            "token_type": "Bearer",
            "expires_in": int(TOKEN_LIFETIME.total_seconds()),
            "scope": scope or "",
        }
        if include_refresh_token:
            token["refresh_token"] = self._refresh_token(client, sign_in, scope or "")
        return token

    def _access_token(self, client: RelyingPartyClient, sign_in: SignIn, scope: str) -> str:
        now = int(self.ctx.now.timestamp())
        claims = {
            "iss": self.issuer,
            "aud": client.get_client_id(),
            "client_id": client.get_client_id(),
            "iat": now,
            "exp": now + int(TOKEN_LIFETIME.total_seconds()),
            "jti": secrets.token_urlsafe(16),
            "scope": scope,
            **person_claims(sign_in, scope),
        }
        return self._sign(claims, ACCESS_TOKEN_TYPE)

    def _sign(self, claims: dict[str, Any], typ: str) -> str:
        header = {"alg": signing_keys.ALGORITHM, "kid": self.signer.kid, "typ": typ}
        return jwt.encode(header, claims, self.signer.key, algorithms=[signing_keys.ALGORITHM])

    def _refresh_token(self, client: RelyingPartyClient, sign_in: SignIn, scope: str) -> str:
        value = "tnryrt_" + secrets.token_urlsafe(32)
        self.ctx.session.add(
            RefreshToken(
                token_hash=digest(value),
                family_id=sign_in.family_id,
                code_id=sign_in.code_id,
                client_id=client.row.id,
                user_id=sign_in.user.id,
                tenant_id=sign_in.tenant_id,
                partner_tenant_id=sign_in.partner_tenant_id,
                relationship_id=sign_in.relationship_id,
                scope=scope,
                second_factor=sign_in.second_factor,
                session_id=sign_in.session_id,
                auth_time=sign_in.auth_time,
                created_at=self.ctx.now,
                expires_at=self.ctx.now + REFRESH_LIFETIME,
                used_at=None,
                revoked_at=None,
            )
        )
        return value

    def _service_token(self, client: RelyingPartyClient) -> dict[str, Any]:
        """A platform service's own credential: a JWT for Tenantry's API (audience: the
        issuer), scope ``service.health``."""
        now = int(self.ctx.now.timestamp())
        claims = {
            "iss": self.issuer,
            "aud": self.issuer,
            "sub": client.get_client_id(),
            "client_id": client.get_client_id(),
            "iat": now,
            "exp": now + int(TOKEN_LIFETIME.total_seconds()),
            "jti": secrets.token_urlsafe(16),
            "scope": HEALTH_SCOPE,
        }
        return {
            "access_token": self._sign(claims, ACCESS_TOKEN_TYPE),
            "token_type": "Bearer",
            "expires_in": int(TOKEN_LIFETIME.total_seconds()),
            "scope": HEALTH_SCOPE,
        }

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        if isinstance(request.client, RelyingPartyClient):
            return  # stored as made (refresh tokens); sign-ins are audited at authorize
        super().save_token(token, request)


# --- the tokens services bring back -------------------------------------------------------


@dataclass(frozen=True)
class AccessTokenClaims:
    claims: dict[str, Any]
    party: RelyingParty


def _verified(ctx: Context, token: str) -> AccessTokenClaims:
    invalid = Unauthenticated(
        "The access token is invalid or expired; sign in to the service again.",
        slug="invalid-token",
    )
    if len(token) > 8000:
        raise invalid
    try:
        claims = signing_keys.verify(ctx.session, token, ACCESS_TOKEN_TYPE)
    except signing_keys.InvalidSignedToken:
        raise invalid from None
    exp = claims.get("exp")
    if claims.get("iss") != issuer(ctx) or not isinstance(exp, int):
        raise invalid
    if exp <= int(ctx.now.timestamp()):
        raise invalid
    party = ctx.session.scalar(
        select(RelyingParty).where(RelyingParty.client_id == str(claims.get("client_id")))
    )
    if party is None or not party.enabled:
        raise invalid
    return AccessTokenClaims(claims, party)


def userinfo(ctx: Context, token: str) -> dict[str, Any]:
    """OpenID Connect userinfo for a person's access token (never a service's own), decided
    again now like a refresh: a disabled person, a licence taken away, or on behalf an ended
    relationship is refused; the roles and licences are today's."""
    verified = _verified(ctx, token)
    claims = verified.claims
    if claims.get("aud") != verified.party.client_id or "sub" not in claims:
        raise Unauthenticated("This token is not a person's.", slug="invalid-token")
    act = claims.get("act") if isinstance(claims.get("act"), dict) else None
    try:
        again = RefreshToken(
            user_id=uuid.UUID(str(claims["sub"])),
            tenant_id=uuid.UUID(str(claims.get("tid"))),
            partner_tenant_id=uuid.UUID(str(act["tid"])) if act else None,
            second_factor=factor_of(claims.get("amr")),
            auth_time=datetime.fromtimestamp(int(claims.get("auth_time", 0)), UTC),
        )
    except (ValueError, KeyError, TypeError):
        raise Unauthenticated("This token is not a person's.", slug="invalid-token") from None
    sign_in = decide_again(ctx, verified.party, again)
    if sign_in is None:
        raise Unauthenticated(
            "The sign-in behind this token is no longer valid.", slug="invalid-token"
        )
    current = person_claims(sign_in, str(claims.get("scope", "")))
    current.pop("sid", None)
    return current


def service_for_token(ctx: Context, token: str) -> RelyingParty:
    """The platform service a ``service.health`` token stands for."""
    verified = _verified(ctx, token)
    claims = verified.claims
    if claims.get("aud") != issuer(ctx) or claims.get("scope") != HEALTH_SCOPE:
        raise Forbidden("This token is not a service's own credential.", slug="wrong-token")
    return verified.party


def discovery(ctx: Context) -> dict[str, Any]:
    base = issuer(ctx)
    return {
        "issuer": base,
        "authorization_endpoint": base + AUTHORIZE_PATH,
        "token_endpoint": base + oauth.TOKEN_PATH,
        "userinfo_endpoint": base + USERINFO_PATH,
        "jwks_uri": base + JWKS_PATH,
        "end_session_endpoint": base + END_SESSION_PATH,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [AUTHORIZATION_CODE, REFRESH_TOKEN, oauth.CLIENT_CREDENTIALS],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [signing_keys.ALGORITHM],
        "token_endpoint_auth_methods_supported": [
            oauth.SECRET_BASIC,
            oauth.SECRET_POST,
            oauth.PRIVATE_KEY_JWT,
            PUBLIC,
        ],
        "code_challenge_methods_supported": [CODE_CHALLENGE_METHOD],
        "scopes_supported": [*SCOPES, HEALTH_SCOPE],
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "sid",
            "tid",
            "roles",
            "licenses",
            "act",
            "name",
            "preferred_username",
            "email",
        ],
    }


# --- RP-initiated logout ------------------------------------------------------------------


@dataclass(frozen=True)
class Logout:
    party: RelyingParty
    user_id: uuid.UUID | None
    session_id: uuid.UUID | None
    redirect_to: str | None


def check_logout(ctx: Context, id_token_hint: str, post_logout_redirect_uri: str | None) -> Logout:
    """The ID token a service sends to sign its user out (expired is fine: the signature and
    issuer are what count), and where to send the browser after: only a URI registered for
    that service, exactly."""
    try:
        claims = signing_keys.verify(ctx.session, id_token_hint[:8000])
    except signing_keys.InvalidSignedToken:
        raise InvalidRequestError("id_token_hint is not an ID token of this provider.") from None
    if claims.get("iss") != issuer(ctx):
        raise InvalidRequestError("id_token_hint is not an ID token of this provider.")
    audience = claims.get("aud")
    client_id = audience[0] if isinstance(audience, list) and audience else audience
    party = ctx.session.scalar(select(RelyingParty).where(RelyingParty.client_id == str(client_id)))
    if party is None:
        raise InvalidRequestError("The service of this ID token is not registered.")
    if post_logout_redirect_uri and post_logout_redirect_uri not in (
        party.post_logout_redirect_uris
    ):
        raise InvalidRequestError(
            "post_logout_redirect_uri is not registered for this service: not redirected."
        )

    def as_uuid(value: Any) -> uuid.UUID | None:
        try:
            return uuid.UUID(str(value))
        except ValueError:
            return None

    return Logout(
        party,
        as_uuid(claims.get("sub")),
        as_uuid(claims.get("sid")),
        post_logout_redirect_uri or None,
    )


def end_sessions(ctx: Context, logout: Logout) -> None:
    """The service's refresh tokens of that sign-in end with it."""
    if logout.session_id is not None:
        revoke_family(ctx, client_id=logout.party.id, session_id=logout.session_id)
    if logout.user_id is not None:
        user = ctx.session.get(User, logout.user_id)
        if user is not None:
            audit.record(
                ctx,
                user.tenant_id,
                "oidc.sign_out",
                f"oidc_client:{logout.party.id}",
                details={"service": logout.party.name},
            )
