"""The OAuth 2.0 authorization server: Authlib's, bound to one request's ``Context``.

``POST /oauth2/token`` (the adapter is ``api/oauth.py``) serves the client-credentials grant
(RFC 6749 §4.4) to API clients, which authenticate with their secret (``client_secret_basic``,
``client_secret_post``) or with a JWT signed by their private key (``private_key_jwt``,
RFC 7523 §2.2). Errors are RFC 6749 §5.2 JSON (``invalid_client`` is always 401).

Nothing of OAuth is written by hand here: the grant, the client authentication methods, the
assertion checks and the error responses are Authlib's; this module says where clients,
secrets, keys, spent assertions and tokens live (``identity.clients``) and adds Tenantry's
rules: a client must be enabled, not expired and called from an allowed network; one way of
authenticating per request; no scopes (a token carries the client's groups or roles, decided
on every request). The OpenID Connect provider (``identity.oidc``) extends this server with
its grants (authorization code with PKCE, refresh tokens) and its services as clients; the
framework half (turning a Starlette request into Authlib's and back) stays in the API layer.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from authlib.oauth2 import AuthorizationServer as AuthlibAuthorizationServer
from authlib.oauth2.rfc6749 import (
    ClientMixin,
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Request,
    grants,
)
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import Key
from sqlalchemy import select

from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.identity import clients as credentials
from tenantry.models import ApiClient, ApiClientCredential, Tenant
from tenantry.models.audit import AuditOutcome

log = logging.getLogger("tenantry.oauth")

TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a path, not a secret
CLIENT_CREDENTIALS = "client_credentials"
SECRET_BASIC = "client_secret_basic"  # noqa: S105 - the name of a method
SECRET_POST = "client_secret_post"  # noqa: S105 - the name of a method
PRIVATE_KEY_JWT = ApiClientCredential.PRIVATE_KEY_JWT.value
# Signatures a client key may make (asymmetric only: a public key never verifies an HMAC).
ASSERTION_ALGORITHMS = [
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
    "Ed25519",
    "Ed448",
]
# An assertion is for one token request: its exp may be at most this far ahead (its jti is
# kept until then).
MAX_ASSERTION_LIFETIME = timedelta(hours=1)
CLOCK_LEEWAY_SECONDS = 30


def said(text: str) -> str:
    """Text an OAuth error description may carry (RFC 6749 §5.2: printable ASCII, no quote or
    backslash)."""
    cleaned = text.replace('"', "'").replace("\\", "/")
    return "".join(c for c in cleaned if 0x20 <= ord(c) <= 0x7E) or "refused"


class OAuthClient(ClientMixin):
    """An API client as Authlib asks about it."""

    def __init__(self, row: ApiClient, now: datetime) -> None:
        self.row = row
        self.now = now

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_allowed_scope(self, scope: str) -> str:
        return ""

    def check_client_secret(self, client_secret: str) -> bool:
        return credentials.secret_matches(self.row, client_secret, self.now)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """A client with a public key proves itself with it and nothing else; one without,
        with its secret."""
        if endpoint != "token":
            return False
        if self.row.public_jwk is not None:
            return method == PRIVATE_KEY_JWT
        return self.row.secret_hash is not None and method in (SECRET_BASIC, SECRET_POST)

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == CLIENT_CREDENTIALS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def get_default_redirect_uri(self) -> None:
        return None

    def refusal(self, ctx: Context) -> str | None:
        """Why this client may get no token now (None: it may)."""
        return credentials.refusal(self.row, ctx.now, ctx.client_address)

    def check_scope(self, scope: str | None) -> None:
        if scope:
            raise InvalidScopeError(
                "Tenantry tokens carry no scopes: an API client acts with its groups or roles."
            )


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """RFC 6749 §4.4, with Tenantry's rules around Authlib's authentication of the client."""

    TOKEN_ENDPOINT_AUTH_METHODS = [SECRET_BASIC, SECRET_POST, PRIVATE_KEY_JWT]

    def validate_requested_scope(self) -> None:
        """Each kind of client says which scopes it may ask for (an API client: none)."""
        self.request.client.check_scope(self.request.payload.scope)

    def validate_token_request(self) -> None:
        request: OAuth2Request = self.request
        form = request.payload.data
        ways = [
            extract_basic_authorization(request.headers) != (None, None),
            bool(form.get("client_secret")),
            bool(form.get("client_assertion")),
        ]
        if sum(ways) > 1:
            raise InvalidRequestError(
                "Authenticate the client one way only (RFC 6749 section 2.3)."
            )
        super().validate_token_request()
        client: OAuthClient = self.client
        named = form.get("client_id")
        if named and named != client.get_client_id():
            raise InvalidClientError(
                status_code=401, description="client_id does not match the credentials."
            )
        server: AuthorizationServer = self.server
        why = client.refusal(server.ctx)
        if why is not None:
            raise InvalidClientError(status_code=401, description=said(why))


class PrivateKeyJWT(JWTBearerClientAssertion):
    """``private_key_jwt`` (RFC 7523 §2.2, OpenID Connect Core §9): Authlib's assertion
    checks, with the request's clock, asymmetric algorithms only, an ``exp`` at most an hour
    ahead, and each ``jti`` spent once (in the database, so in every process)."""

    CLIENT_AUTH_METHOD = PRIVATE_KEY_JWT

    def __init__(self, server: AuthorizationServer) -> None:
        super().__init__(validate_jti=True, leeway=CLOCK_LEEWAY_SECONDS)
        self.server = server

    def get_audiences(self) -> list[str]:
        return [self.server.token_endpoint, self.server.issuer]

    def resolve_client_public_key(self, client: OAuthClient) -> Key:
        # Authlib resolves the key before it asks whether the client may use this method.
        if client.row.public_jwk is None:
            raise InvalidClientError(
                description="This client has no public key: it authenticates with its secret."
            )
        return credentials.public_key(client.row.public_jwk)

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGORITHMS)
        except JoseError as exc:
            raise InvalidClientError(description=said(str(exc.description or exc))) from exc
        self.verify_claims(token.claims)
        return dict(token.claims)

    def verify_claims(self, claims: dict[str, Any]) -> None:
        now = self.server.ctx.now
        registry = jwt.JWTClaimsRegistry(
            now=int(now.timestamp()),
            leeway=self.leeway,
            iss={"essential": True},
            sub={"essential": True},
            aud={"essential": True, "values": self.get_audiences()},
            exp={"essential": True},
            jti={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise InvalidClientError(description=said(str(exc.description or exc))) from exc
        if claims["sub"] != claims["iss"]:
            raise InvalidClientError(description="Issuer and Subject MUST match.")
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
        if expires > now + MAX_ASSERTION_LIFETIME + timedelta(seconds=self.leeway):
            raise InvalidClientError(description="The assertion's exp is more than an hour ahead.")
        jti = claims["jti"]
        if not isinstance(jti, str) or not 0 < len(jti) <= 256:
            raise InvalidClientError(description="jti must be a string of 1 to 256 characters.")
        if not self.validate_jti(claims, jti):
            raise InvalidClientError(description="This assertion (its jti) was used before.")

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        row = self.server.attempted
        assert row is not None  # the client was found before its assertion is checked
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC) + timedelta(seconds=self.leeway)
        return credentials.spend_assertion(self.server.ctx, row, jti, expires)


class AuthorizationServer(AuthlibAuthorizationServer):
    """Authlib's authorization server for one request. The framework adapter implements
    ``create_oauth2_request`` and ``handle_response``."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(scopes_supported=[])
        self.ctx = ctx
        # The client the request named, once found: audited on failure, kept for its jti.
        self.attempted: ApiClient | None = None
        self.register_token_generator("default", self._generate_token)
        self.register_client_auth_method(PRIVATE_KEY_JWT, PrivateKeyJWT(self))
        self.register_grant(ClientCredentialsGrant)

    @property
    def issuer(self) -> str:
        """This installation as clients name it (``TENANTRY_PUBLIC_URL``)."""
        return self.ctx.settings.public_url.rstrip("/")

    @property
    def token_endpoint(self) -> str:
        """The audience a client assertion names (RFC 7523 §3)."""
        return self.issuer + TOKEN_PATH

    def query_client(self, client_id: Any) -> OAuthClient | None:
        if not isinstance(client_id, str) or len(client_id) > 64:
            return None
        row = self.ctx.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
        if row is None:
            return None
        self.attempted = row
        return OAuthClient(row, self.ctx.now)

    def authenticate_client(
        self, request: OAuth2Request, methods: list[str], endpoint: str = "token"
    ) -> OAuthClient:
        try:
            client: OAuthClient = super().authenticate_client(request, methods, endpoint)
            return client
        except InvalidClientError as error:
            error.status_code = 401  # always: the client's credentials did not do
            raise

    def validate_requested_scope(self, scope: str | None) -> None:
        if scope:
            raise InvalidScopeError(
                "Tenantry tokens carry no scopes: an API client acts with its groups or roles."
            )

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Authlib's hook for framework signals; nothing listens."""

    def _generate_token(
        self,
        grant_type: str,
        client: OAuthClient,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        issued = credentials.issue_token(self.ctx, client.row)
        return {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
        }

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """The token is stored as it is made (only its hash, ``identity.clients``); what is
        left is the audit, with the client as the actor."""
        client: OAuthClient = request.client
        tenant_name = self.ctx.session.scalar(
            select(Tenant.name).where(Tenant.id == client.row.tenant_id)
        )
        self.ctx.principal = credentials.principal_of(client.row, tenant_name or "?")
        audit.record(
            self.ctx,
            client.row.tenant_id,
            "api_client.token",
            f"api_client:{client.row.id}",
            details={"method": request.auth_method},
        )

    def handle_error_response(self, request: OAuth2Request | None, error: Any) -> Any:
        """Every refusal of a known client is audited in its tenant (no actor: the client did
        not prove itself)."""
        row = self.attempted
        if row is not None:
            self.ctx.principal = None
            audit.record(
                self.ctx,
                row.tenant_id,
                "api_client.token",
                f"api_client:{row.id}",
                outcome=AuditOutcome.FAILURE,
                details={
                    "client_id": row.client_id,
                    "error": str(error.error),
                    "reason": str(error.description or "")[:400],
                },
            )
        return super().handle_error_response(request, error)
