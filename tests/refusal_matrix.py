"""The refusal matrix: every route of the application (API and web pages), keyed by
(method, path template), with who must be refused there — or marked ``Public`` with the
reason it is open to anyone.

This table is the single source: the route walker (tests/access/test_route_matrix.py) fails
when the application has a route missing from it (or it lists a route that is gone), and the
refusal tests (tests/access/test_refusals.py, tests/partners/test_partner_refusals.py,
tests/web/test_page_refusals.py) are parametrized from it, so each entry is really probed.

Adding a route: add one line here with the kind that matches its dependencies —
``TenantScoped`` (the tenant's own data, under /tenants/{tid} or /admin/{tid}),
``PartnerCenter`` (the partner's side, /partner/...), ``SignedIn`` (any signed-in user: their
own account, a catalogue), or ``Public("why")``. The body given (JSON for the API, form fields
for a page) is the smallest valid one where the route reads it before deciding, so the refusal
is what answers and not a 422.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

API = "/api/v1"
SCIM = "/scim/v2/{tid}"
NO_ID = "00000000-0000-4000-8000-000000000000"
UNKNOWN_OFFER_TOKEN = "no-such-offer"


@dataclass(frozen=True)
class Public:
    """Open to anyone on purpose; ``reason`` says why (it is read in review)."""

    reason: str


@dataclass(frozen=True)
class SignedIn:
    """Any signed-in user may use it: refused only without a token (API 401) or a session
    (web: redirect to the sign-in page)."""

    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class TenantScoped:
    """A tenant's own data: refused without sign-in; 404 from a tenant with no path to it
    (never 403, which would confirm it exists); 403 for a member without the permission
    (probed on the API, where the problem names the permission)."""

    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class PartnerCenter:
    """The partner's side: refused without sign-in; 403 (not-a-partner) for a tenant that is
    not enrolled; with ``admins_only`` also 403 for an agent (needs partner.manage)."""

    body: dict[str, Any] | None = None
    query: str = ""
    admins_only: bool = False


@dataclass(frozen=True)
class Provisioning:
    """An organisation's SCIM endpoint (/scim/v2/{tid}/...): only a provisioning token of that
    organisation gets in — refused without a token, with a person's or an app's token, or with
    a revoked one (401, as a SCIM Error); another organisation's token is answered 404
    (tests/scim/test_scim_refusals.py probes every one)."""

    body: dict[str, Any] | None = None


Expectation = Public | SignedIn | TenantScoped | PartnerCenter | Provisioning
Route = tuple[str, str]  # (method, path template as the app declares it)

ROUTES: dict[Route, Expectation] = {
    # --- API: the contract and its documentation ------------------------------------------
    ("GET", f"{API}/openapi.json"): Public("the published API description"),
    ("GET", f"{API}/docs"): Public("Swagger UI over the published API description"),
    ("GET", "/healthz"): Public("liveness probe for load balancers; says only 'ok'"),
    ("GET", "/readyz"): Public("readiness probe for load balancers; says only ready or why not"),
    ("GET", "/metrics"): Public(
        "Prometheus scrape: aggregate counts only; TENANTRY_METRICS_TOKEN makes it bearer-only"
    ),
    # --- API: signing up and in -----------------------------------------------------------
    ("POST", f"{API}/signup"): Public("creating a new organisation: there is no one yet"),
    ("POST", f"{API}/auth/token"): Public("signing in: the password is the credential"),
    ("POST", f"{API}/auth/passkey/options"): Public(
        "signing in with a passkey, step one: the password is the credential (counted by the "
        "throttle); an unknown user gets the wrong password's answer"
    ),
    ("POST", "/oauth2/token"): Public(
        "API clients get tokens (OAuth 2.0 client credentials): the client's secret or signed "
        "assertion is the credential"
    ),
    ("GET", "/.well-known/openid-configuration"): Public(
        "OpenID Connect discovery: where the endpoints are, what is supported"
    ),
    ("GET", "/oauth2/jwks"): Public("the public keys tokens are signed with"),
    ("GET", "/oauth2/userinfo"): Public(
        "the person behind a service's access token: the token is the credential (401 without)"
    ),
    ("POST", "/oauth2/userinfo"): Public(
        "the person behind a service's access token: the token is the credential (401 without)"
    ),
    ("GET", "/oauth2/authorize"): Public(
        "a service asks to sign someone in: without a session it sends them to the sign-in "
        "page; with one, the access decision and the service's licence rule answer"
    ),
    ("GET", "/oauth2/logout"): Public(
        "RP-initiated logout: the service's ID token is the credential; it ends only the "
        "session of the person it names"
    ),
    ("POST", f"{API}/services/{{service_id}}/health"): Public(
        "a platform service posts its own health: its own service.health token is the "
        "credential (401 without one, 403 for another service's)"
    ),
    ("POST", f"{API}/auth/logout"): SignedIn(),
    ("GET", f"{API}/me"): SignedIn(),
    ("POST", f"{API}/me/password"): SignedIn(
        {"current_password": "x" * 12, "new_password": "y" * 12}
    ),
    ("POST", f"{API}/me/mfa/totp"): SignedIn({"password": "x" * 12}),
    ("POST", f"{API}/me/mfa/totp/confirm"): SignedIn({"code": "000000"}),
    ("POST", f"{API}/me/passkeys/register/options"): SignedIn({"password": "x" * 12}),
    ("POST", f"{API}/me/passkeys/register/verify"): SignedIn({"name": "Key", "credential": {}}),
    ("GET", f"{API}/me/passkeys"): SignedIn(),
    ("DELETE", f"{API}/me/passkeys/{{pid}}"): SignedIn({"password": "x" * 12}),
    ("GET", f"{API}/roles"): SignedIn(),
    ("GET", f"{API}/skus"): SignedIn(),
    # --- API: offer links -----------------------------------------------------------------
    ("GET", f"{API}/offers/{{token}}"): Public(
        "the offer link shown to a customer before sign-in; the unguessable token is the key"
    ),
    ("POST", f"{API}/offers/{{token}}/accept"): SignedIn(),
    # --- API: one tenant's own data -------------------------------------------------------
    ("GET", f"{API}/tenants/{{tid}}"): TenantScoped(),
    ("PATCH", f"{API}/tenants/{{tid}}"): TenantScoped({"phone": "+1 555 0100"}),
    ("GET", f"{API}/tenants/{{tid}}/health"): TenantScoped(),
    ("GET", f"{API}/tenants/{{tid}}/users"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/users"): TenantScoped(
        {"user_principal_name": "x@example.com", "display_name": "X"}
    ),
    ("GET", f"{API}/tenants/{{tid}}/users/{{uid}}"): TenantScoped(),
    ("PATCH", f"{API}/tenants/{{tid}}/users/{{uid}}"): TenantScoped({"display_name": "Y"}),
    ("DELETE", f"{API}/tenants/{{tid}}/users/{{uid}}"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/users/{{uid}}/reset-password"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/users/{{uid}}/reset-mfa"): TenantScoped(),
    ("GET", f"{API}/tenants/{{tid}}/groups"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/groups"): TenantScoped({"name": "G"}),
    ("GET", f"{API}/tenants/{{tid}}/groups/{{gid}}"): TenantScoped(),
    ("PATCH", f"{API}/tenants/{{tid}}/groups/{{gid}}"): TenantScoped({"name": "H"}),
    ("DELETE", f"{API}/tenants/{{tid}}/groups/{{gid}}"): TenantScoped(),
    ("GET", f"{API}/tenants/{{tid}}/groups/{{gid}}/members"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/groups/{{gid}}/members"): TenantScoped({"user_id": NO_ID}),
    ("DELETE", f"{API}/tenants/{{tid}}/groups/{{gid}}/members/{{uid}}"): TenantScoped(),
    ("GET", f"{API}/tenants/{{tid}}/role-assignments"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/role-assignments"): TenantScoped(
        {"role": "global_reader", "user_id": NO_ID}
    ),
    ("DELETE", f"{API}/tenants/{{tid}}/role-assignments/{{aid}}"): TenantScoped(),
    ("GET", f"{API}/tenants/{{tid}}/domains"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/domains"): TenantScoped({"name": "example.com"}),
    ("GET", f"{API}/tenants/{{tid}}/domains/{{name}}"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/domains/{{name}}/verify"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/domains/{{name}}/default"): TenantScoped(),
    ("DELETE", f"{API}/tenants/{{tid}}/domains/{{name}}"): TenantScoped(),
    ("GET", f"{API}/tenants/{{tid}}/subscriptions"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/subscriptions"): TenantScoped(
        {"sku_id": "business_standard", "seats": 1}
    ),
    ("GET", f"{API}/tenants/{{tid}}/subscriptions/{{sid}}"): TenantScoped(),
    ("GET", f"{API}/tenants/{{tid}}/subscriptions/{{sid}}/licenses"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/subscriptions/{{sid}}/licenses"): TenantScoped(
        {"user_id": NO_ID}
    ),
    ("DELETE", f"{API}/tenants/{{tid}}/subscriptions/{{sid}}/licenses/{{uid}}"): TenantScoped(),
    ("GET", f"{API}/tenants/{{tid}}/service-requests"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/service-requests"): TenantScoped(
        {"title": "T", "description": "D"}
    ),
    ("GET", f"{API}/tenants/{{tid}}/service-requests/{{rid}}"): TenantScoped(),
    ("PATCH", f"{API}/tenants/{{tid}}/service-requests/{{rid}}"): TenantScoped(
        {"status": "closed"}
    ),
    ("GET", f"{API}/tenants/{{tid}}/service-requests/{{rid}}/comments"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/service-requests/{{rid}}/comments"): TenantScoped(
        {"body": "B"}
    ),
    ("GET", f"{API}/tenants/{{tid}}/devices"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/devices"): TenantScoped({"name": "D", "platform": "windows"}),
    ("GET", f"{API}/tenants/{{tid}}/devices/{{did}}"): TenantScoped(),
    ("PATCH", f"{API}/tenants/{{tid}}/devices/{{did}}"): TenantScoped({"name": "E"}),
    ("DELETE", f"{API}/tenants/{{tid}}/devices/{{did}}"): TenantScoped(),
    ("GET", f"{API}/tenants/{{tid}}/audit-events"): TenantScoped(),
    ("GET", f"{API}/tenants/{{tid}}/partner-relationships"): TenantScoped(),
    ("GET", f"{API}/tenants/{{tid}}/partner-relationships/{{rid}}"): TenantScoped(),
    ("PATCH", f"{API}/tenants/{{tid}}/partner-relationships/{{rid}}"): TenantScoped(
        {"auto_extend": False}
    ),
    ("DELETE", f"{API}/tenants/{{tid}}/partner-relationships/{{rid}}"): TenantScoped(),
    ("GET", f"{API}/tenants/{{tid}}/partner-blocks"): TenantScoped(),
    ("PUT", f"{API}/tenants/{{tid}}/partner-blocks/{{pid}}"): TenantScoped(),
    ("DELETE", f"{API}/tenants/{{tid}}/partner-blocks/{{pid}}"): TenantScoped(),
    ("GET", f"{API}/tenants/{{tid}}/partner-policy"): TenantScoped(),
    ("PUT", f"{API}/tenants/{{tid}}/partner-policy"): TenantScoped({"blocked_permissions": []}),
    ("GET", f"{API}/tenants/{{tid}}/partner-activations"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/partner-activations/{{aid}}/approve"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/partner-activations/{{aid}}/deny"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/partner-activations/{{aid}}/end"): TenantScoped(),
    ("GET", f"{API}/tenants/{{tid}}/api-clients"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/api-clients"): TenantScoped(
        {"name": "App", "roles": ["global_reader"]}
    ),
    ("GET", f"{API}/tenants/{{tid}}/api-clients/{{cid}}"): TenantScoped(),
    ("PATCH", f"{API}/tenants/{{tid}}/api-clients/{{cid}}"): TenantScoped({"enabled": False}),
    ("DELETE", f"{API}/tenants/{{tid}}/api-clients/{{cid}}"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/api-clients/{{cid}}/secret"): TenantScoped({}),
    # Webhooks: the organisation's own Global Administrators, never on behalf
    # (tests/webhooks/test_webhooks.py).
    ("GET", f"{API}/tenants/{{tid}}/webhooks"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/webhooks"): TenantScoped(
        {"url": "https://hooks.example.com/x", "events": ["user.created"]}
    ),
    ("GET", f"{API}/tenants/{{tid}}/webhooks/{{wid}}"): TenantScoped(),
    ("PATCH", f"{API}/tenants/{{tid}}/webhooks/{{wid}}"): TenantScoped({"enabled": False}),
    ("DELETE", f"{API}/tenants/{{tid}}/webhooks/{{wid}}"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/webhooks/{{wid}}/rotate-secret"): TenantScoped({}),
    ("GET", f"{API}/tenants/{{tid}}/webhooks/{{wid}}/deliveries"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/webhooks/{{wid}}/deliveries/{{did}}/replay"): TenantScoped(),
    ("GET", f"{API}/tenants/{{tid}}/oidc-apps"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/oidc-apps"): TenantScoped(
        {"name": "App", "redirect_uris": ["https://app.example/cb"]}
    ),
    ("POST", f"{API}/tenants/{{tid}}/oidc-apps/{{app_id}}/rotate-secret"): TenantScoped(),
    ("DELETE", f"{API}/tenants/{{tid}}/oidc-apps/{{app_id}}"): TenantScoped(),
    ("GET", f"{API}/tenants/{{tid}}/scim-tokens"): TenantScoped(),
    ("POST", f"{API}/tenants/{{tid}}/scim-tokens"): TenantScoped({"name": "Okta"}),
    ("DELETE", f"{API}/tenants/{{tid}}/scim-tokens/{{token_id}}"): TenantScoped(),
    # --- API: the Partner center ----------------------------------------------------------
    ("GET", f"{API}/partner/offers"): PartnerCenter(admins_only=True),
    ("POST", f"{API}/partner/offers"): PartnerCenter({}, admins_only=True),
    ("GET", f"{API}/partner/offers/{{oid}}"): PartnerCenter(admins_only=True),
    ("PATCH", f"{API}/partner/offers/{{oid}}"): PartnerCenter({"enabled": False}, admins_only=True),
    ("GET", f"{API}/partner/relationships"): PartnerCenter(admins_only=True),
    ("GET", f"{API}/partner/relationships/{{rid}}"): PartnerCenter(admins_only=True),
    ("PATCH", f"{API}/partner/relationships/{{rid}}"): PartnerCenter(
        {"auto_extend": False}, admins_only=True
    ),
    ("POST", f"{API}/partner/relationships/{{rid}}/terminate"): PartnerCenter(admins_only=True),
    ("GET", f"{API}/partner/relationships/{{rid}}/access-assignments"): PartnerCenter(
        admins_only=True
    ),
    ("POST", f"{API}/partner/relationships/{{rid}}/access-assignments"): PartnerCenter(
        {"group_id": NO_ID, "roles": ["global_reader"]}, admins_only=True
    ),
    ("DELETE", f"{API}/partner/relationships/{{rid}}/access-assignments/{{aid}}"): PartnerCenter(
        admins_only=True
    ),
    ("GET", f"{API}/partner/agents/{{uid}}"): PartnerCenter(admins_only=True),
    ("PUT", f"{API}/partner/agents/{{uid}}"): PartnerCenter({"access": "full"}, admins_only=True),
    ("GET", f"{API}/partner/audit-events"): PartnerCenter(admins_only=True),
    ("GET", f"{API}/partner/settings"): PartnerCenter(admins_only=True),
    ("PATCH", f"{API}/partner/settings"): PartnerCenter(
        {"require_phishing_resistant_mfa": True}, admins_only=True
    ),
    # Access templates (issue 14): partner administrators only.
    ("GET", f"{API}/partner/access-templates"): PartnerCenter(admins_only=True),
    ("POST", f"{API}/partner/access-templates"): PartnerCenter(
        {"name": "t", "assignments": [{"group_id": NO_ID, "roles": ["global_reader"]}]},
        admins_only=True,
    ),
    ("GET", f"{API}/partner/access-templates/{{tid}}"): PartnerCenter(admins_only=True),
    ("PATCH", f"{API}/partner/access-templates/{{tid}}"): PartnerCenter({}, admins_only=True),
    ("DELETE", f"{API}/partner/access-templates/{{tid}}"): PartnerCenter(admins_only=True),
    ("POST", f"{API}/partner/access-templates/{{tid}}/preview"): PartnerCenter(
        {}, admins_only=True
    ),
    ("POST", f"{API}/partner/access-templates/{{tid}}/apply"): PartnerCenter({}, admins_only=True),
    ("POST", f"{API}/partner/access-templates/{{tid}}/unapply"): PartnerCenter(
        {}, admins_only=True
    ),
    ("GET", f"{API}/partner/customers"): PartnerCenter(),
    ("GET", f"{API}/partner/customers/{{tid}}"): PartnerCenter(),
    ("GET", f"{API}/partner/customers/{{tid}}/access"): PartnerCenter(),
    ("GET", f"{API}/partner/lookup"): PartnerCenter(query="?q=contoso"),
    # Customer groups: partner admins change them, agents read and filter by them.
    ("POST", f"{API}/partner/customer-groups"): PartnerCenter({"name": "G"}, admins_only=True),
    ("GET", f"{API}/partner/customer-groups"): PartnerCenter(),
    ("POST", f"{API}/partner/customer-groups/preview"): PartnerCenter(
        {"rule": {"condition": "auto_extend"}}, admins_only=True
    ),
    ("GET", f"{API}/partner/customer-groups/{{gid}}"): PartnerCenter(),
    ("PATCH", f"{API}/partner/customer-groups/{{gid}}"): PartnerCenter(
        {"name": "G2"}, admins_only=True
    ),
    ("DELETE", f"{API}/partner/customer-groups/{{gid}}"): PartnerCenter(admins_only=True),
    ("GET", f"{API}/partner/customer-groups/{{gid}}/customers"): PartnerCenter(),
    ("GET", f"{API}/partner/customers/{{tid}}/fields"): PartnerCenter(),
    ("PUT", f"{API}/partner/customers/{{tid}}/fields"): PartnerCenter(
        {"fields": {"region": "EU"}}, admins_only=True
    ),
    # Reports and the user search across customers (issue 14): any agent, each sees what it
    # may read; the relationships report is the partner's own list, for partner admins.
    ("GET", f"{API}/partner/reports/users"): PartnerCenter(),
    ("GET", f"{API}/partner/reports/licenses"): PartnerCenter(),
    ("GET", f"{API}/partner/reports/admins"): PartnerCenter(),
    ("GET", f"{API}/partner/reports/relationships"): PartnerCenter(admins_only=True),
    ("GET", f"{API}/partner/users"): PartnerCenter(query="?no_second_factor=true"),
    # Just-in-time elevation: any agent may ask; who may approve, deny or end is decided per
    # activation (tests/partners/test_activations.py).
    ("POST", f"{API}/partner/activations"): PartnerCenter(
        {"relationship_id": NO_ID, "role": "global_reader", "minutes": 60, "justification": "J"}
    ),
    ("GET", f"{API}/partner/activations"): PartnerCenter(),
    ("GET", f"{API}/partner/activations/{{aid}}"): PartnerCenter(),
    ("GET", f"{API}/partner/eligible-roles"): PartnerCenter(),
    ("GET", f"{API}/partner/approvals"): PartnerCenter(),
    ("POST", f"{API}/partner/activations/{{aid}}/approve"): PartnerCenter(),
    ("POST", f"{API}/partner/activations/{{aid}}/deny"): PartnerCenter(),
    ("POST", f"{API}/partner/activations/{{aid}}/end"): PartnerCenter(),
    ("GET", f"{API}/partner/api-clients"): PartnerCenter(admins_only=True),
    ("POST", f"{API}/partner/api-clients"): PartnerCenter(
        {"name": "App", "group_ids": [NO_ID]}, admins_only=True
    ),
    ("GET", f"{API}/partner/api-clients/{{cid}}"): PartnerCenter(admins_only=True),
    ("PATCH", f"{API}/partner/api-clients/{{cid}}"): PartnerCenter(
        {"enabled": False}, admins_only=True
    ),
    ("DELETE", f"{API}/partner/api-clients/{{cid}}"): PartnerCenter(admins_only=True),
    ("POST", f"{API}/partner/api-clients/{{cid}}/secret"): PartnerCenter({}, admins_only=True),
    ("GET", f"{API}/partner/webhooks"): PartnerCenter(admins_only=True),
    ("POST", f"{API}/partner/webhooks"): PartnerCenter(
        {"url": "https://hooks.example.com/x", "events": ["relationship.accepted"]},
        admins_only=True,
    ),
    ("GET", f"{API}/partner/webhooks/{{wid}}"): PartnerCenter(admins_only=True),
    ("PATCH", f"{API}/partner/webhooks/{{wid}}"): PartnerCenter(
        {"enabled": False}, admins_only=True
    ),
    ("DELETE", f"{API}/partner/webhooks/{{wid}}"): PartnerCenter(admins_only=True),
    ("POST", f"{API}/partner/webhooks/{{wid}}/rotate-secret"): PartnerCenter({}, admins_only=True),
    ("GET", f"{API}/partner/webhooks/{{wid}}/deliveries"): PartnerCenter(admins_only=True),
    ("POST", f"{API}/partner/webhooks/{{wid}}/deliveries/{{did}}/replay"): PartnerCenter(
        admins_only=True
    ),
    # Bulk jobs: any agent makes them (each item still decided); a job is its creator's and
    # the partner admins' (tests/partners/test_jobs.py).
    ("POST", f"{API}/partner/jobs"): PartnerCenter(
        {"action": "block_sign_in", "targets": [{"tenant_id": NO_ID, "user_id": NO_ID}]}
    ),
    ("POST", f"{API}/partner/jobs/csv"): PartnerCenter(),
    ("GET", f"{API}/partner/jobs"): PartnerCenter(),
    ("GET", f"{API}/partner/jobs/{{jid}}"): PartnerCenter(),
    ("GET", f"{API}/partner/jobs/{{jid}}/items"): PartnerCenter(),
    ("GET", f"{API}/partner/jobs/{{jid}}/results"): PartnerCenter(),
    ("POST", f"{API}/partner/jobs/{{jid}}/cancel"): PartnerCenter(),
    ("GET", f"{API}/partner/jobs/{{jid}}/passwords"): PartnerCenter(),
    # --- SCIM 2.0: an organisation's provisioning endpoint (RFC 7644) ------------------------
    **{
        (method, f"{SCIM}{path}"): Provisioning(body)
        for method, path, body in [
            ("GET", "/ServiceProviderConfig", None),
            ("GET", "/Schemas", None),
            ("GET", "/Schemas/{schema_id}", None),
            ("GET", "/ResourceTypes", None),
            ("GET", "/ResourceTypes/{type_id}", None),
            ("GET", "/Users", None),
            ("POST", "/Users", {"userName": "x"}),
            ("POST", "/Users/.search", {}),
            ("GET", "/Users/{user_id}", None),
            ("PUT", "/Users/{user_id}", {"userName": "x"}),
            ("PATCH", "/Users/{user_id}", {"Operations": []}),
            ("DELETE", "/Users/{user_id}", None),
            ("GET", "/Groups", None),
            ("POST", "/Groups", {"displayName": "x"}),
            ("POST", "/Groups/.search", {}),
            ("GET", "/Groups/{group_id}", None),
            ("PUT", "/Groups/{group_id}", {"displayName": "x"}),
            ("PATCH", "/Groups/{group_id}", {"Operations": []}),
            ("DELETE", "/Groups/{group_id}", None),
            ("POST", "/.search", {}),
            *[(m, "/{rest:path}", None) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")],
            ("OPTIONS", "/{rest:path}", None),
        ]
    },
    # --- web: signing in and one's own account --------------------------------------------
    ("GET", "/"): Public("only a redirect: to the sign-in page, or to one's own home"),
    ("GET", "/sign-in"): Public("the sign-in form"),
    ("POST", "/sign-in"): Public("signing in: the password is the credential (CSRF-checked)"),
    ("GET", "/sign-in/verify"): Public(
        "the code step: shown only with the signed 'password accepted' cookie"
    ),
    ("POST", "/sign-in/verify"): Public(
        "the code step: needs the signed 'password accepted' cookie and a code"
    ),
    ("POST", "/sign-in/passkey"): Public(
        "the passkey step: needs the signed 'password accepted' cookie and a passkey's answer "
        "to the challenge issued with it"
    ),
    ("POST", "/sign-out"): Public("ends whatever session the cookie holds; nothing to refuse"),
    ("GET", "/me"): SignedIn(),
    ("POST", "/me/mfa"): SignedIn(),
    ("POST", "/me/mfa/confirm"): SignedIn(),
    ("POST", "/me/passkeys/new"): SignedIn(),
    ("POST", "/me/passkeys"): SignedIn(),
    ("POST", "/me/passkeys/{pid}/remove"): SignedIn(),
    ("GET", "/me/password"): SignedIn(),
    ("POST", "/me/password"): SignedIn(),
    # --- web: offer links -----------------------------------------------------------------
    ("GET", "/offers/{token}"): Public(
        "the offer page shown to a customer before sign-in; the unguessable token is the key"
    ),
    ("POST", "/offers/{token}/accept"): SignedIn(),
    ("POST", "/offers/{token}/signup"): Public(
        "a new customer signs up from the offer link: there is no one to sign in yet"
    ),
    # --- web: the Admin center ------------------------------------------------------------
    ("GET", "/admin/{tid}"): TenantScoped(),
    ("GET", "/admin/{tid}/users"): TenantScoped(),
    ("GET", "/admin/{tid}/users/new"): TenantScoped(),
    ("POST", "/admin/{tid}/users"): TenantScoped(),
    ("GET", "/admin/{tid}/users/{uid}"): TenantScoped(),
    ("POST", "/admin/{tid}/users/{uid}"): TenantScoped(),
    ("POST", "/admin/{tid}/users/{uid}/reset-password"): TenantScoped(),
    ("POST", "/admin/{tid}/users/{uid}/reset-mfa"): TenantScoped(),
    ("POST", "/admin/{tid}/users/{uid}/roles"): TenantScoped({"role": "global_reader"}),
    ("POST", "/admin/{tid}/role-assignments/{aid}/remove"): TenantScoped(),
    ("GET", "/admin/{tid}/audit"): TenantScoped(),
    ("GET", "/admin/{tid}/partners"): TenantScoped(),
    ("POST", "/admin/{tid}/partners/{rid}/remove"): TenantScoped(),
    ("POST", "/admin/{tid}/partners/{rid}/auto-extend"): TenantScoped(),
    ("POST", "/admin/{tid}/partner-blocks/{pid}"): TenantScoped(),
    ("POST", "/admin/{tid}/partner-blocks/{pid}/remove"): TenantScoped(),
    ("POST", "/admin/{tid}/partner-activations/{aid}/approve"): TenantScoped(),
    ("POST", "/admin/{tid}/partner-activations/{aid}/deny"): TenantScoped(),
    ("POST", "/admin/{tid}/partner-activations/{aid}/end"): TenantScoped(),
    ("GET", "/admin/{tid}/settings"): TenantScoped(),
    ("POST", "/admin/{tid}/settings/contact"): TenantScoped({"name": "N"}),
    ("POST", "/admin/{tid}/settings/partner-policy"): TenantScoped(),
    ("GET", "/admin/{tid}/groups"): TenantScoped(),
    ("POST", "/admin/{tid}/groups"): TenantScoped({"name": "G"}),
    ("GET", "/admin/{tid}/groups/{gid}"): TenantScoped(),
    ("POST", "/admin/{tid}/groups/{gid}"): TenantScoped(),
    ("POST", "/admin/{tid}/groups/{gid}/delete"): TenantScoped(),
    ("POST", "/admin/{tid}/groups/{gid}/members"): TenantScoped(),
    ("POST", "/admin/{tid}/groups/{gid}/members/{uid}/remove"): TenantScoped(),
    ("GET", "/admin/{tid}/domains"): TenantScoped(),
    ("POST", "/admin/{tid}/domains"): TenantScoped({"name": "probe.example"}),
    ("POST", "/admin/{tid}/domains/{name}/verify"): TenantScoped(),
    ("POST", "/admin/{tid}/domains/{name}/default"): TenantScoped(),
    ("POST", "/admin/{tid}/domains/{name}/remove"): TenantScoped(),
    ("GET", "/admin/{tid}/subscriptions"): TenantScoped(),
    ("POST", "/admin/{tid}/subscriptions"): TenantScoped(
        {"sku_id": "business_standard", "seats": "1"}
    ),
    ("GET", "/admin/{tid}/subscriptions/{sid}"): TenantScoped(),
    ("POST", "/admin/{tid}/subscriptions/{sid}/licences"): TenantScoped(),
    ("GET", "/admin/{tid}/service-requests"): TenantScoped(),
    ("POST", "/admin/{tid}/service-requests"): TenantScoped({"title": "T", "description": "D"}),
    ("GET", "/admin/{tid}/service-requests/{rid}"): TenantScoped(),
    ("POST", "/admin/{tid}/service-requests/{rid}"): TenantScoped(),
    ("POST", "/admin/{tid}/service-requests/{rid}/comments"): TenantScoped({"body": "B"}),
    # Integrations: the organisation's own apps, provisioning tokens and webhooks; refused
    # on behalf (tests/web/test_integrations_pages.py).
    ("GET", "/admin/{tid}/integrations"): TenantScoped(),
    ("POST", "/admin/{tid}/integrations/apps"): TenantScoped(
        {"name": "App", "redirect_uris": "https://app.example.com/cb"}
    ),
    ("POST", "/admin/{tid}/integrations/apps/{app_id}/rotate-secret"): TenantScoped(),
    ("POST", "/admin/{tid}/integrations/apps/{app_id}/delete"): TenantScoped(),
    ("POST", "/admin/{tid}/integrations/scim-tokens"): TenantScoped({"name": "Okta"}),
    ("POST", "/admin/{tid}/integrations/scim-tokens/{token_id}/revoke"): TenantScoped(),
    ("POST", "/admin/{tid}/integrations/webhooks"): TenantScoped(
        {"url": "https://hooks.example.com/t", "event:user.created": "on"}
    ),
    ("GET", "/admin/{tid}/integrations/webhooks/{wid}"): TenantScoped(),
    ("POST", "/admin/{tid}/integrations/webhooks/{wid}"): TenantScoped({"action": "disable"}),
    ("POST", "/admin/{tid}/integrations/webhooks/{wid}/rotate-secret"): TenantScoped(),
    ("POST", "/admin/{tid}/integrations/webhooks/{wid}/delete"): TenantScoped(),
    ("POST", "/admin/{tid}/integrations/webhooks/{wid}/deliveries/{did}/replay"): TenantScoped(),
    # --- web: the Partner center ----------------------------------------------------------
    ("GET", "/partner"): PartnerCenter(),
    ("GET", "/partner/customers/{tid}"): PartnerCenter(),
    ("GET", "/partner/find"): PartnerCenter(),
    ("GET", "/partner/customer-groups"): PartnerCenter(),
    ("POST", "/partner/customer-groups"): PartnerCenter({"name": "G"}, admins_only=True),
    ("GET", "/partner/customer-groups/{gid}"): PartnerCenter(),
    ("POST", "/partner/customer-groups/{gid}"): PartnerCenter({"name": "G"}, admins_only=True),
    ("POST", "/partner/customer-groups/{gid}/delete"): PartnerCenter(admins_only=True),
    ("POST", "/partner/customers/{tid}/fields"): PartnerCenter(
        {"fields": "region=EU"}, admins_only=True
    ),
    ("GET", "/partner/reports"): PartnerCenter(),
    ("GET", "/partner/reports/download"): PartnerCenter(),
    ("GET", "/partner/offers"): PartnerCenter(),
    ("POST", "/partner/offers"): PartnerCenter({"kind": "classic"}),
    ("POST", "/partner/offers/{oid}/disable"): PartnerCenter(),
    ("GET", "/partner/agents"): PartnerCenter(),
    ("POST", "/partner/agents/{uid}"): PartnerCenter({"access": "full"}),
    ("GET", "/partner/relationships"): PartnerCenter(),
    ("GET", "/partner/relationships/{rid}"): PartnerCenter(),
    ("POST", "/partner/relationships/{rid}/terminate"): PartnerCenter(),
    ("POST", "/partner/relationships/{rid}/assignments"): PartnerCenter(
        {"group_id": NO_ID, "role:global_reader": "on"}
    ),
    ("POST", "/partner/relationships/{rid}/assignments/{aid}/remove"): PartnerCenter(),
    ("GET", "/partner/audit"): PartnerCenter(),
    # Access templates (issue 14): partner administrators only.
    ("GET", "/partner/access-templates"): PartnerCenter(admins_only=True),
    ("POST", "/partner/access-templates"): PartnerCenter(
        {"name": "t", "group_id": NO_ID, "role:global_reader": "on"}, admins_only=True
    ),
    ("GET", "/partner/access-templates/{tid}"): PartnerCenter(admins_only=True),
    ("POST", "/partner/access-templates/{tid}/entries"): PartnerCenter(
        {"group_id": NO_ID, "role:global_reader": "on"}, admins_only=True
    ),
    ("POST", "/partner/access-templates/{tid}/entries/{gid}/remove"): PartnerCenter(
        admins_only=True
    ),
    ("POST", "/partner/access-templates/{tid}/delete"): PartnerCenter(admins_only=True),
    ("POST", "/partner/access-templates/{tid}/apply"): PartnerCenter(admins_only=True),
    ("POST", "/partner/access-templates/{tid}/unapply"): PartnerCenter(admins_only=True),
    ("GET", "/partner/jobs"): PartnerCenter(),
    ("GET", "/partner/jobs/new"): PartnerCenter(),
    ("POST", "/partner/jobs"): PartnerCenter(
        {"action": "block_sign_in", "targets": f"{NO_ID}:{NO_ID}"}
    ),
    ("POST", "/partner/jobs/csv"): PartnerCenter({"action": "block_sign_in"}),
    ("GET", "/partner/jobs/{jid}"): PartnerCenter(),
    ("GET", "/partner/jobs/{jid}/progress"): PartnerCenter(),
    ("GET", "/partner/jobs/{jid}/results.csv"): PartnerCenter(),
    ("POST", "/partner/jobs/{jid}/passwords"): PartnerCenter(),
    ("POST", "/partner/jobs/{jid}/cancel"): PartnerCenter(),
    # The partner's own webhooks: its administrators only (partner.manage).
    ("GET", "/partner/webhooks"): PartnerCenter(admins_only=True),
    ("POST", "/partner/webhooks"): PartnerCenter(
        {"url": "https://hooks.example.com/p", "event:relationship.accepted": "on"},
        admins_only=True,
    ),
    ("GET", "/partner/webhooks/{wid}"): PartnerCenter(admins_only=True),
    ("POST", "/partner/webhooks/{wid}"): PartnerCenter({"action": "disable"}, admins_only=True),
    ("POST", "/partner/webhooks/{wid}/rotate-secret"): PartnerCenter(admins_only=True),
    ("POST", "/partner/webhooks/{wid}/delete"): PartnerCenter(admins_only=True),
    ("POST", "/partner/webhooks/{wid}/deliveries/{did}/replay"): PartnerCenter(admins_only=True),
    # Just-in-time elevation: any agent's own access and the approvers' queue; who may
    # approve, deny or end is decided per activation (tests/web/test_elevation_pages.py).
    ("GET", "/partner/access"): PartnerCenter(),
    ("POST", "/partner/access/activate"): PartnerCenter(
        {"eligible": f"{NO_ID}:global_reader", "minutes": "60", "justification": "J"}
    ),
    ("POST", "/partner/access/{aid}/end"): PartnerCenter(),
    ("GET", "/partner/approvals"): PartnerCenter(),
    ("POST", "/partner/approvals/{aid}/approve"): PartnerCenter(),
    ("POST", "/partner/approvals/{aid}/deny"): PartnerCenter(),
}

# Mounted applications, not routes: listed here so that a new mount fails the walker too.
MOUNTS: dict[str, str] = {
    "/static": "the package's own scripts, styles and Swagger UI assets: public files",
}


def is_api(path: str) -> bool:
    """An API route (bearer tokens, problem+json) rather than a web page (session cookie)."""
    return path.startswith(API + "/") and path != f"{API}/docs"


def concrete(template: str, tenant_id: str = NO_ID) -> str:
    """The template with its parameters filled: ``{tid}`` with ``tenant_id``, a domain name,
    an unknown offer token, and an id that matches nothing for every other id."""
    fillers = {"tid": tenant_id, "name": "example.com", "token": UNKNOWN_OFFER_TOKEN}
    return re.sub(r"\{(\w+)\}", lambda m: fillers.get(m.group(1), NO_ID), template)


def routes_of(kind: type, *, api: bool) -> list[tuple[str, str, Any]]:
    """(method, template, expectation) of every route of ``kind``, API or web, for
    ``pytest.mark.parametrize``."""
    return [
        (method, path, expected)
        for (method, path), expected in ROUTES.items()
        if isinstance(expected, kind) and is_api(path) == api
    ]


def ids(rows: list[tuple[str, str, Any]]) -> list[str]:
    return [f"{method} {path}" for method, path, _ in rows]
