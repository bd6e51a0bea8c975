"""Webhooks, signed per Standard Webhooks (README "Webhooks"): the events, ``emit`` (the
transactional outbox the domain services write into) and delivery.

* **Emitting.** ``emit`` runs in the transaction of the change it reports: it finds the enabled
  endpoints subscribed to the event (one query) and inserts one delivery row for each (one bulk
  insert). The change and its deliveries commit or roll back together.
* **Whose events.** A tenant's endpoints get the events of that organisation; a partner's
  endpoints get the events of its own relationships and its agents' activations, named by
  ``partner_id`` (never a customer's directory events, never other partners').
* **Delivering.** ``deliver_pending`` (the sweeper in ``serve``) claims due rows with a lease:
  a conditional UPDATE (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) in a short transaction, so
  several processes never send one delivery at once; then it posts each outside any
  transaction (httpx, short timeouts, no redirects), signed with the ``standardwebhooks``
  package, and records each result in a transaction of its own. 2xx is delivered; anything
  else is retried with exponential backoff, ``MAX_ATTEMPTS`` in all, then ``failed``. After an
  endpoint fails once in a run, its other deliveries wait for the next run, so one slow or dead
  receiver costs at most one timeout per run and never holds the others back.
* **SSRF.** Loopback, private, link-local (cloud metadata), multicast and other non-global
  addresses are refused, at registration for literal addresses and at send time for every
  address the name resolves to; the request then goes to the address that was checked
  (TLS still verifies the name). ``TENANTRY_WEBHOOKS_ALLOW_PRIVATE_NETWORKS=1`` lifts it.
* **Secrets** (``whsec_`` + 32 random bytes) are kept encrypted (AES-256-GCM, key derived from
  the server's secret key, the endpoint id as associated data) since signing needs them back.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as Late
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import and_, exists, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from tenantry.core.clock import utcnow
from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.core.db import transaction
from tenantry.core.errors import InvalidInput
from tenantry.models import (
    Activation,
    Domain,
    Group,
    Relationship,
    Subscription,
    Tenant,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookKind,
    WebhookSubscription,
)
from tenantry.models.partners import Party
from tenantry.models.webhooks import DeliveryStatus
from tenantry.operations.outbox import retry_delay

log = logging.getLogger("tenantry.webhooks")

ALL_EVENTS = "*"
MAX_ATTEMPTS = 10  # 1, 2, 4 ... 256 minutes apart: about 8.5 hours in all
# How long a claimed delivery is someone's: past it (a worker died mid-send) it is tried again.
LEASE = timedelta(minutes=5)
CONNECT_TIMEOUT_SECONDS = 5.0
TIMEOUT_SECONDS = 10.0
# The whole attempt, however slowly a receiver drips its answer (httpx's timeouts are per
# read): past it the attempt has failed, and closing the client at the end of the run ends it.
DEADLINE_SECONDS = 15.0
_SENDERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="webhook-send")
SECRET_BYTES = 32
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret
_SECRET_KEY_LABEL = b"tenantry webhook endpoint secrets v1"
_CIPHER_VERSION = "v1."
USER_AGENT = "Tenantry-Webhooks/1"


class EventType(StrEnum):
    """Events are named ``object.past_verb`` (DESIGN §7)."""

    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DISABLED = "user.disabled"
    USER_DELETED = "user.deleted"
    GROUP_CREATED = "group.created"
    GROUP_DELETED = "group.deleted"
    GROUP_MEMBER_ADDED = "group.member_added"
    GROUP_MEMBER_REMOVED = "group.member_removed"
    LICENSE_ASSIGNED = "license.assigned"
    LICENSE_UNASSIGNED = "license.unassigned"
    DOMAIN_VERIFIED = "domain.verified"
    RELATIONSHIP_OFFERED = "relationship.offered"
    RELATIONSHIP_ACCEPTED = "relationship.accepted"
    RELATIONSHIP_EXPIRING = "relationship.expiring"
    RELATIONSHIP_EXPIRED = "relationship.expired"
    RELATIONSHIP_TERMINATED = "relationship.terminated"
    RELATIONSHIP_REMOVED = "relationship.removed"
    ACTIVATION_STARTED = "activation.started"
    ACTIVATION_ENDED = "activation.ended"


# What a partner's endpoint may receive: its own relationships and its agents' activations.
PARTNER_EVENTS = frozenset(
    e for e in EventType if e.value.split(".")[0] in ("relationship", "activation")
)
EVENTS_OF: dict[WebhookKind, frozenset[EventType]] = {
    WebhookKind.TENANT: frozenset(EventType),
    WebhookKind.PARTNER: PARTNER_EVENTS,
}


def subscribable(kind: WebhookKind, events: Iterable[str]) -> list[str]:
    """The event names as stored: known, allowed for the kind, each once; ``*`` alone stands
    for all of them (422 otherwise)."""
    wanted = list(dict.fromkeys(events))
    if not wanted:
        raise InvalidInput('Subscribe to at least one event (or "*" for all).')
    if ALL_EVENTS in wanted:
        return [ALL_EVENTS]
    allowed = EVENTS_OF[kind]
    unknown = [e for e in wanted if e not in EventType._value2member_map_]
    if unknown:
        raise InvalidInput(f"Unknown event: {', '.join(unknown)}.", slug="unknown-event")
    foreign = [e for e in wanted if EventType(e) not in allowed]
    if foreign:
        raise InvalidInput(
            f"A partner's endpoint receives only relationship and activation events, not "
            f"{', '.join(foreign)}.",
            slug="unknown-event",
        )
    return wanted


# --- secrets --------------------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _cipher(settings: Settings) -> AESGCM:
    key = hmac.new(settings.effective_secret_key.encode(), _SECRET_KEY_LABEL, "sha256").digest()
    return AESGCM(key)


def seal(settings: Settings, endpoint_id: uuid.UUID, secret: str) -> str:
    """The secret encrypted for the database, bound to its endpoint."""
    nonce = secrets.token_bytes(12)
    sealed = _cipher(settings).encrypt(nonce, secret.encode(), endpoint_id.bytes)
    return _CIPHER_VERSION + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(settings: Settings, endpoint_id: uuid.UUID, sealed: str) -> str:
    if not sealed.startswith(_CIPHER_VERSION):
        raise ValueError("unknown secret format")
    raw = base64.urlsafe_b64decode(sealed[len(_CIPHER_VERSION) :])
    try:
        return _cipher(settings).decrypt(raw[:12], raw[12:], endpoint_id.bytes).decode()
    except InvalidTag:
        raise ValueError(
            "the endpoint's secret can't be decrypted (was TENANTRY_SECRET_KEY changed?): "
            "rotate the endpoint's secret"
        ) from None


def signing_secrets(settings: Settings, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The current secret, and the previous one while its overlap lasts."""
    out = [unseal(settings, endpoint.id, endpoint.secret_ciphertext)]
    until = endpoint.previous_secret_until
    if endpoint.previous_secret_ciphertext and until is not None and now < until:
        out.append(unseal(settings, endpoint.id, endpoint.previous_secret_ciphertext))
    return out


def sign(secrets_: Sequence[str], message_id: str, timestamp: datetime, body: str) -> str:
    """``webhook-signature``: one ``v1,`` signature per secret, space-separated."""
    return " ".join(Webhook(s).sign(message_id, timestamp, body) for s in secrets_)


# --- addresses ------------------------------------------------------------------------------


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# IPv6 ranges that carry an IPv4 address somewhere a translator or tunnel of the operator's
# own network reads it, never a receiver on the internet: refused whole. Local-use NAT64
# (RFC 8215; Python 3.11 counts it global), IPv4-compatible (deprecated, RFC 4291) and
# IPv4-translated (SIIT, RFC 2765) addresses.
_TRANSLATED = (
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("::/96"),
    ipaddress.ip_network("::ffff:0:0:0/96"),
)


def refused_address(address: str) -> bool:
    """Anything but a global unicast address: loopback, private, link-local (the cloud
    metadata service), shared, multicast, reserved, unspecified; IPv4 inside IPv6 too."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in network for network in _TRANSLATED):
            return True
        # An IPv4 address inside: mapped, 6to4, or NAT64's well-known prefix.
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None and refused_address(str(inner)):
            return True
    return ip.is_multicast or not ip.is_global


def check_url(settings: Settings, url: str) -> str:
    """A URL fit to register (422 otherwise): https (http only where the operator allows it),
    a host, no credentials or fragment; a literal address or localhost must be public unless
    the operator allows private networks."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput("The URL is not valid.", slug="webhook-url") from None
    allowed = ("https", "http") if settings.webhooks_allow_http else ("https",)
    if parts.scheme not in allowed:
        raise InvalidInput(
            "The URL must use https (TENANTRY_WEBHOOKS_ALLOW_HTTP=1 allows http).",
            slug="webhook-url",
        )
    host = parts.hostname or ""
    if not host or parts.username is not None or parts.password is not None or parts.fragment:
        raise InvalidInput(
            "The URL needs a host, and no user name, password or #fragment.", slug="webhook-url"
        )
    if port == 0:
        raise InvalidInput("The URL's port is not valid.", slug="webhook-url")
    if not settings.webhooks_allow_private_networks:
        literal = _literal(host)
        if (
            host == "localhost"
            or host.endswith(".localhost")
            or (literal is not None and refused_address(literal))
        ):
            raise InvalidInput(
                "Webhooks are not delivered to loopback, private or link-local addresses.",
                slug="webhook-url",
            )
    return url


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


class Refused(Exception):
    """Not sent: the URL resolves to an address webhooks are never delivered to."""


def _resolve(settings: Settings, url: str) -> tuple[str, str, dict[str, Any]]:
    """The URL to connect to (the host replaced by an address that was checked, so a second
    lookup can't lead elsewhere), the Host header and the TLS name."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:
        raise Refused(f"{host} has no address")
    if not settings.webhooks_allow_private_networks:
        bad = [a for a in addresses if refused_address(a)]
        if bad:
            raise Refused(
                f"{host} resolves to {bad[0]}, a loopback, private or link-local address: "
                "not delivered"
            )
    address = addresses[0]
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host_header = parts.netloc.rsplit("@", 1)[-1]
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    extensions: dict[str, Any] = {"sni_hostname": host} if parts.scheme == "https" else {}
    return pinned, host_header, extensions


# --- emitting -------------------------------------------------------------------------------


def emit(
    ctx: Context,
    event: EventType,
    data: dict[str, Any],
    *,
    tenant_id: uuid.UUID | None = None,
    partner_id: uuid.UUID | None = None,
) -> int:
    """Queue ``event`` for the tenant's endpoints (``tenant_id``) and the partner's
    (``partner_id``) that subscribe to it, in the caller's transaction; returns how many."""
    owners = []
    if tenant_id is not None:
        owners.append(
            and_(WebhookEndpoint.kind == WebhookKind.TENANT, WebhookEndpoint.tenant_id == tenant_id)
        )
    if partner_id is not None and event in PARTNER_EVENTS:
        owners.append(
            and_(
                WebhookEndpoint.kind == WebhookKind.PARTNER, WebhookEndpoint.tenant_id == partner_id
            )
        )
    if not owners:
        return 0
    subscribed = exists().where(
        WebhookSubscription.endpoint_id == WebhookEndpoint.id,
        WebhookSubscription.event_type.in_([event.value, ALL_EVENTS]),
    )
    endpoints = list(
        ctx.session.scalars(
            select(WebhookEndpoint.id).where(or_(*owners), WebhookEndpoint.enabled, subscribed)
        )
    )
    if not endpoints:
        return 0
    body = payload(event, ctx.now, data)
    message_id = new_message_id()
    ctx.session.execute(
        insert(WebhookDelivery),
        [
            {
                "id": uuid.uuid4(),
                "endpoint_id": endpoint_id,
                "message_id": message_id,
                "event_type": event.value,
                "payload": body,
                "created_at": ctx.now,
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": ctx.now,
            }
            for endpoint_id in endpoints
        ],
    )
    return len(endpoints)


def new_message_id() -> str:
    return "msg_" + uuid.uuid4().hex


def payload(event: EventType, when: datetime, data: dict[str, Any]) -> str:
    """The Standard Webhooks body: ``{"type", "timestamp", "data"}``."""
    return json.dumps(
        {"type": event.value, "timestamp": when.isoformat(), "data": data},
        separators=(",", ":"),
        default=str,
    )


# What the events say: ids and names, never a secret (no password, token or factor).


def user_data(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "tenant_id": str(user.tenant_id),
        "user_principal_name": user.user_principal_name,
        "display_name": user.display_name,
        "enabled": user.enabled,
    }


def user_event(action: str) -> EventType:
    """The event of a ``user.update``/``user.enable``/``user.disable`` audit action."""
    return EventType.USER_DISABLED if action == "user.disable" else EventType.USER_UPDATED


def group_data(group: Group, member: User | uuid.UUID | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(group.id),
        "tenant_id": str(group.tenant_id),
        "name": group.name,
        "kind": str(group.kind),
    }
    if isinstance(member, User):
        data["member"] = {"id": str(member.id), "user_principal_name": member.user_principal_name}
    elif member is not None:
        data["member"] = {"id": str(member)}
    return data


def license_data(user_id: uuid.UUID, subscription: Subscription) -> dict[str, Any]:
    return {
        "tenant_id": str(subscription.tenant_id),
        "user_id": str(user_id),
        "subscription_id": str(subscription.id),
        "sku_id": subscription.sku_id,
    }


def domain_data(domain: Domain) -> dict[str, Any]:
    return {"tenant_id": str(domain.tenant_id), "name": domain.name, "status": str(domain.status)}


def _tenant(session: Session, tenant_id: uuid.UUID) -> dict[str, Any]:
    tenant = session.get(Tenant, tenant_id)
    return {"tenant_id": str(tenant_id), "name": tenant.name if tenant else None}


def user_changed(ctx: Context, event: EventType, user: User) -> int:
    return emit(ctx, event, user_data(user), tenant_id=user.tenant_id)


def group_changed(
    ctx: Context, event: EventType, group: Group, member: User | uuid.UUID | None = None
) -> int:
    return emit(ctx, event, group_data(group, member), tenant_id=group.tenant_id)


def license_changed(
    ctx: Context, event: EventType, user_id: uuid.UUID, subscription: Subscription
) -> int:
    return emit(ctx, event, license_data(user_id, subscription), tenant_id=subscription.tenant_id)


def domain_changed(ctx: Context, event: EventType, domain: Domain) -> int:
    return emit(ctx, event, domain_data(domain), tenant_id=domain.tenant_id)


def ended_event(by: Party) -> EventType:
    """A customer removes its partner; a partner (or the operator) terminates."""
    if by == Party.CUSTOMER:
        return EventType.RELATIONSHIP_REMOVED
    return EventType.RELATIONSHIP_TERMINATED


def relationship_event(
    ctx: Context, event: EventType, relationship: Relationship, **extra: Any
) -> int:
    """A relationship event for the customer's endpoints and the partner's own."""
    data = {
        "id": str(relationship.id),
        "status": str(relationship.status),
        "roles": list(relationship.roles),
        "partner": _tenant(ctx.session, relationship.partner_tenant_id),
        "customer": _tenant(ctx.session, relationship.customer_tenant_id),
        "activated_at": relationship.activated_at,
        "ends_at": relationship.ends_at,
        "auto_extend": relationship.auto_extend,
        **{k: str(v) for k, v in extra.items()},
    }
    return emit(
        ctx,
        event,
        data,
        tenant_id=relationship.customer_tenant_id,
        partner_id=relationship.partner_tenant_id,
    )


def activation_event(ctx: Context, event: EventType, activation: Activation, **extra: Any) -> int:
    """An activation event for the customer's endpoints and the partner's own."""
    data = {
        "id": str(activation.id),
        "relationship_id": str(activation.relationship_id),
        "role": activation.role,
        "status": str(activation.status),
        "agent": {
            "id": str(activation.requester_user_id),
            "user_principal_name": activation.requester_upn,
        },
        "partner": _tenant(ctx.session, activation.partner_tenant_id),
        "customer": _tenant(ctx.session, activation.customer_tenant_id),
        "starts_at": activation.starts_at,
        "ends_at": activation.ends_at,
        **{k: str(v) for k, v in extra.items()},
    }
    return emit(
        ctx,
        event,
        data,
        tenant_id=activation.customer_tenant_id,
        partner_id=activation.partner_tenant_id,
    )


# --- delivering -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    claim_until: datetime
    url: str
    message_id: str
    body: str
    # The signing secrets in clear, for this attempt only: never in a repr or a log line.
    secrets: list[str] = field(repr=False)


def _due(now: datetime) -> Any:
    return and_(
        WebhookDelivery.status == DeliveryStatus.PENDING,
        WebhookDelivery.next_attempt_at <= now,
    )


def claim(ctx: Context, batch: int = 100) -> list[Claimed]:
    """Take up to ``batch`` due deliveries of enabled endpoints for this worker: their next
    attempt moves past the lease with a conditional UPDATE, so no other worker takes them."""
    now = ctx.now
    stmt = (
        select(WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(_due(now), WebhookEndpoint.enabled)
        .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
        .limit(batch)
    )
    if ctx.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=WebhookDelivery)
    ids = list(ctx.session.scalars(stmt))
    if not ids:
        return []
    until = now + LEASE
    taken = set(
        ctx.session.scalars(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids), _due(now))
            .values(next_attempt_at=until)
            .returning(WebhookDelivery.id)
            .execution_options(synchronize_session=False)
        )
    )
    rows = ctx.session.execute(
        select(WebhookDelivery, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id.in_(taken))
        .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
    ).all()
    out = []
    for delivery, endpoint in rows:
        try:
            keys = signing_secrets(ctx.settings, endpoint, now)
        except ValueError as exc:
            _record(delivery, now, error=str(exc), final=True)
            continue
        out.append(
            Claimed(
                delivery.id,
                endpoint.id,
                until,
                endpoint.url,
                delivery.message_id,
                delivery.payload,
                keys,
            )
        )
    return out


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status_code: int | None = None
    error: str | None = None


def send(settings: Settings, claimed: Claimed, client: httpx.Client) -> Outcome:
    """One attempt: resolve and check the address, sign at the wall clock, POST, no redirects.
    Only the status is read (the body is never loaded)."""
    try:
        url, host, extensions = _resolve(settings, claimed.url)
    except Refused as exc:
        return Outcome(False, error=str(exc))
    sent_at = utcnow()
    headers = {
        "host": host,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": claimed.message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": sign(claimed.secrets, claimed.message_id, sent_at, claimed.body),
    }
    try:
        with client.stream(
            "POST", url, content=claimed.body.encode(), headers=headers, extensions=extensions
        ) as response:
            code = response.status_code
    except httpx.HTTPError as exc:
        return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:1000])
    if 200 <= code < 300:
        return Outcome(True, code)
    return Outcome(False, code, f"the receiver answered {code}")


def send_in_time(settings: Settings, claimed: Claimed, client: httpx.Client) -> Outcome:
    """``send`` within ``DEADLINE_SECONDS`` in all."""
    attempt = _SENDERS.submit(send, settings, claimed, client)
    try:
        return attempt.result(timeout=DEADLINE_SECONDS)
    except Late:
        attempt.cancel()  # not sent at all if it never started
        return Outcome(False, error=f"no answer within {DEADLINE_SECONDS:g} s")


def _record(
    delivery: WebhookDelivery,
    now: datetime,
    *,
    code: int | None = None,
    error: str | None = None,
    delivered: bool = False,
    final: bool = False,
) -> None:
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_response_code = code
    delivery.last_error = error[:1000] if error else None
    if delivered:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
            DeliveryStatus.DELIVERED,
            now,
            None,
        )
    elif final or delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
    else:
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)


def record(ctx: Context, claimed: Claimed, outcome: Outcome) -> bool:
    """Write an attempt's outcome, only if the delivery is still this worker's claim."""
    delivery = ctx.session.get(WebhookDelivery, claimed.delivery_id, with_for_update=True)
    if (
        delivery is None
        or delivery.status != DeliveryStatus.PENDING
        or delivery.next_attempt_at != claimed.claim_until
    ):
        return False
    _record(
        delivery,
        ctx.now,
        code=outcome.status_code,
        error=outcome.error,
        delivered=outcome.delivered,
    )
    if not outcome.delivered:
        log.info(
            "webhook delivery %s to endpoint %s failed (attempt %d): %s",
            delivery.id,
            claimed.endpoint_id,
            delivery.attempts,
            outcome.error,
        )
    return outcome.delivered


def deliver_pending(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime | None = None,
    *,
    batch: int = 100,
    request_id: str = "webhooks",
    client: httpx.Client | None = None,
) -> int:
    """Send what is due; returns how many were delivered. Each delivery is claimed, sent and
    recorded on its own; a failure stays on its delivery."""
    moment = now or utcnow()

    def context(session: Session) -> Context:
        return Context(session=session, settings=settings, request_id=request_id, now=moment)

    with transaction(sessions) as session:
        claimed = claim(context(session), batch)
    if not claimed:
        return 0
    own = client is None
    http = client or httpx.Client(
        timeout=httpx.Timeout(TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
        follow_redirects=False,
        trust_env=False,
    )
    delivered = 0
    failing: set[uuid.UUID] = set()
    try:
        for item in claimed:
            if item.endpoint_id in failing:
                outcome = None  # waits for the next run, uncounted
            else:
                outcome = send_in_time(settings, item, http)
                if not outcome.delivered:
                    failing.add(item.endpoint_id)
            with transaction(sessions) as session:
                if outcome is None:
                    _release(context(session), item)
                elif record(context(session), item, outcome):
                    delivered += 1
    finally:
        if own:
            http.close()
    return delivered


def _release(ctx: Context, claimed: Claimed) -> None:
    """Give a claimed delivery back untried (its endpoint just failed): due at once again."""
    ctx.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == claimed.delivery_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at == claimed.claim_until,
        )
        .values(next_attempt_at=ctx.now)
        .execution_options(synchronize_session=False)
    )
