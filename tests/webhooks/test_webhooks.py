"""Webhooks (issue 13): endpoints of tenants and partners, events emitted in the transaction
of the change, delivered from the outbox signed per Standard Webhooks and verified here by
a real receiver with the ``standardwebhooks`` package."""

from __future__ import annotations

import json
import logging
import threading
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook, WebhookVerificationError

from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.models import AuditEvent, WebhookDelivery, WebhookEndpoint
from tenantry.operations import webhooks
from tests.conftest import FakeClock, Org, Partner, accepted, make_org, make_partner
from tests.partners.test_activations import USERS, activate, jit_world
from tests.scim.helpers import scim_for
from tests.webhooks.conftest import Deliver
from tests.webhooks.receiver import Receiver, receiving


def register(org_or_api, url: str, events: list[str], base: str | None = None) -> dict:
    api = getattr(org_or_api, "admin", org_or_api)
    path = f"{base or org_or_api.base}/webhooks"
    return dict(api.post(path, {"url": url, "events": events}, expect=201).json())


def new_user(org: Org) -> str:
    return org.create_user()


# --- signed, verified, retried ---------------------------------------------------------------


def test_a_delivery_is_signed_and_verifies_and_a_tampered_body_does_not(
    org: Org, receiver: Receiver, deliver: Deliver
) -> None:
    endpoint = register(org, receiver.url, ["user.created"])
    assert endpoint["secret"].startswith("whsec_") and endpoint["events"] == ["user.created"]
    user_id = new_user(org)
    deliver()
    (got,) = receiver.of_type("user.created")
    event = got.verify(endpoint["secret"])
    assert event["type"] == "user.created" and event["timestamp"]
    assert event["data"]["id"] == user_id
    assert event["data"]["user_principal_name"] == org.users[user_id]
    assert set(event["data"]) == {
        "id",
        "tenant_id",
        "user_principal_name",
        "display_name",
        "enabled",
    }
    assert got.message_id.startswith("msg_")
    assert got.headers["content-type"] == "application/json"
    tampered = got.body.replace(user_id.encode(), str(uuid.uuid4()).encode())
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint["secret"]).verify(tampered, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(got.body, got.headers)
    listed = org.admin.get(f"{org.base}/webhooks/{endpoint['id']}/deliveries").json()["items"]
    assert listed[0]["status"] == "delivered" and listed[0]["last_response_code"] == 204
    assert listed[0]["message_id"] == got.message_id and listed[0]["attempts"] == 1


def test_a_receiver_that_fails_twice_gets_it_on_the_third_try_with_backoff(
    org: Org, deliver: Deliver, clock: FakeClock
) -> None:
    with receiving(answers=[500, 503]) as receiver:
        endpoint = register(org, receiver.url, ["user.created"])
        new_user(org)
        base = f"{org.base}/webhooks/{endpoint['id']}/deliveries"

        deliver()
        (first,) = org.admin.get(base).json()["items"]
        assert (first["status"], first["attempts"], first["last_response_code"]) == (
            "pending",
            1,
            500,
        )
        assert "500" in first["last_error"] and first["next_attempt_at"] is not None
        deliver()  # not due yet: nothing is sent
        assert len(receiver.received) == 1

        clock.advance(minutes=1, seconds=1)  # 1 minute after the first failure
        deliver()
        second = org.admin.get(base).json()["items"][0]
        assert (second["status"], second["attempts"], second["last_response_code"]) == (
            "pending",
            2,
            503,
        )
        clock.advance(minutes=1)  # the second wait is 2 minutes: not yet
        deliver()
        assert len(receiver.received) == 2

        clock.advance(minutes=1, seconds=1)
        deliver()
        done = org.admin.get(base).json()["items"][0]
        assert (done["status"], done["attempts"], done["last_response_code"]) == (
            "delivered",
            3,
            204,
        )
        assert done["next_attempt_at"] is None and done["last_error"] is None
        # Every attempt is the same message (same webhook-id), each verifies.
        assert len({r.message_id for r in receiver.received}) == 1
        for attempt in receiver.received:
            assert attempt.verify(endpoint["secret"])["type"] == "user.created"


def test_after_the_last_attempt_a_delivery_failed(
    org: Org, deliver: Deliver, sessions: sessionmaker[Session], clock: FakeClock
) -> None:
    with receiving(answers=[500] * 20) as receiver:
        endpoint = register(org, receiver.url, ["user.created"])
        new_user(org)
        for _ in range(webhooks.MAX_ATTEMPTS):
            deliver()
            clock.advance(hours=7)
        assert len(receiver.received) == webhooks.MAX_ATTEMPTS
        with sessions() as session:
            (row,) = session.scalars(
                select(WebhookDelivery).where(
                    WebhookDelivery.endpoint_id == uuid.UUID(endpoint["id"])
                )
            )
            assert (row.status, row.attempts) == ("failed", webhooks.MAX_ATTEMPTS)
            assert row.next_attempt_at is None
        clock.advance(hours=7)
        deliver()
        assert len(receiver.received) == webhooks.MAX_ATTEMPTS
        clock.offset = clock.offset.__class__()
        failed = org.admin.get(
            f"{org.base}/webhooks/{endpoint['id']}/deliveries?status=failed"
        ).json()["items"]
        assert [d["id"] for d in failed] == [str(row.id)]


def test_one_failing_endpoint_never_holds_back_another(client, deliver: Deliver) -> None:
    org = make_org(client)
    with receiving(answers=[500] * 10) as bad, receiving() as good:
        register(org, bad.url, ["user.created"])
        ok = register(org, good.url, ["user.created"])
        for _ in range(3):
            new_user(org)
        deliver()
        assert len(bad.received) == 1  # its other deliveries wait for the next run
        assert len(good.of_type("user.created")) == 3
        for got in good.received:
            got.verify(ok["secret"])


# --- rotation and replay -------------------------------------------------------------------


def test_rotation_signs_with_both_secrets_during_the_overlap(
    org: Org, receiver: Receiver, deliver: Deliver
) -> None:
    endpoint = register(org, receiver.url, ["user.created"])
    old = endpoint["secret"]
    rotated = org.admin.post(f"{org.base}/webhooks/{endpoint['id']}/rotate-secret", expect=200)
    new = rotated.json()["secret"]
    assert new != old and new.startswith("whsec_")
    assert rotated.json()["previous_secret_until"] is not None
    new_user(org)
    deliver()
    (got,) = receiver.received
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert got.verify(new)["type"] == "user.created"  # a receiver already on the new secret
    assert got.verify(old)["type"] == "user.created"  # and one not yet moved
    # Without overlap the old secret stops at once.
    org.admin.post(
        f"{org.base}/webhooks/{endpoint['id']}/rotate-secret",
        {"overlap_seconds": 0},
        expect=200,
    )
    newest = org.admin.get(f"{org.base}/webhooks/{endpoint['id']}").json()
    assert newest["previous_secret_until"] is None


def test_the_old_secret_stops_after_the_overlap(
    org: Org, receiver: Receiver, deliver: Deliver, clock: FakeClock
) -> None:
    endpoint = register(org, receiver.url, ["user.created"])
    new = org.admin.post(
        f"{org.base}/webhooks/{endpoint['id']}/rotate-secret",
        {"overlap_seconds": 3600},
        expect=200,
    ).json()["secret"]
    clock.advance(hours=1, seconds=1)
    new_user(org)
    deliver()
    (got,) = receiver.received
    assert len(got.headers["webhook-signature"].split(" ")) == 1
    got.verify(new)
    with pytest.raises(WebhookVerificationError):
        got.verify(endpoint["secret"])


def test_replay_sends_the_same_message_again(
    org: Org, receiver: Receiver, deliver: Deliver
) -> None:
    endpoint = register(org, receiver.url, ["user.created"])
    new_user(org)
    deliver()
    base = f"{org.base}/webhooks/{endpoint['id']}/deliveries"
    (original,) = org.admin.get(base).json()["items"]
    again = org.admin.post(f"{base}/{original['id']}/replay", expect=202).json()
    assert again["id"] != original["id"] and again["replay_of"] == original["id"]
    assert again["message_id"] == original["message_id"] and again["status"] == "pending"
    org.admin.post(f"{base}/{again['id']}/replay", expect=409)  # still pending
    deliver()
    first, second = receiver.received
    assert first.message_id == second.message_id == original["message_id"]
    assert first.body == second.body
    assert second.verify(endpoint["secret"])["type"] == "user.created"
    listed = org.admin.get(base).json()["items"]
    assert [d["status"] for d in listed] == ["delivered", "delivered"]
    assert org.admin.get(f"{base}?limit=1").json()["next_cursor"]
    org.admin.post(f"{base}/{uuid.uuid4()}/replay", expect=404)
    actions = [e["action"] for e in org.admin.get(f"{org.base}/audit-events").json()["items"]]
    assert "webhook.replay" in actions


# --- managing endpoints --------------------------------------------------------------------


def test_unknown_events_are_422(org: Org, partner: Partner, receiver: Receiver) -> None:
    for events in (["user.exploded"], [], ["user.created", "nope"], ["USER.CREATED"]):
        org.admin.post(f"{org.base}/webhooks", {"url": receiver.url, "events": events}, expect=422)
    assert register(org, receiver.url, ["*"])["events"] == ["*"]
    # A partner's endpoint receives relationship and activation events only.
    partner.admin.post(
        "/partner/webhooks", {"url": receiver.url, "events": ["user.created"]}, expect=422
    )
    made = partner.admin.post(
        "/partner/webhooks",
        {"url": receiver.url, "events": ["relationship.accepted", "activation.started"]},
        expect=201,
    ).json()
    assert made["kind"] == "partner"
    partner.admin.patch(f"/partner/webhooks/{made['id']}", {"events": ["nope"]}, expect=422)


def test_disable_patch_and_delete(org: Org, receiver: Receiver, deliver: Deliver) -> None:
    endpoint = register(org, receiver.url, ["user.created"])
    path = f"{org.base}/webhooks/{endpoint['id']}"
    changed = org.admin.patch(
        path, {"enabled": False, "events": ["user.created", "user.deleted"]}
    ).json()
    assert changed["enabled"] is False and changed["events"] == ["user.created", "user.deleted"]
    new_user(org)
    assert org.admin.get(f"{path}/deliveries").json()["items"] == []  # nothing queued
    org.admin.patch(path, {"enabled": True})
    user_id = new_user(org)
    org.admin.delete(f"{org.base}/users/{user_id}")
    deliver()
    assert receiver.types() == ["user.created", "user.deleted"]
    assert org.admin.get(f"{org.base}/webhooks").json()["items"][0]["id"] == endpoint["id"]
    org.admin.delete(path)
    org.admin.get(path, expect=404)
    org.admin.delete(path, expect=404)


def test_an_event_is_queued_only_if_its_change_commits(org: Org, receiver: Receiver) -> None:
    endpoint = register(org, receiver.url, ["user.created"])
    upn = org.users[new_user(org)]
    body = {"user_principal_name": upn, "display_name": "Twice", "password": "Aa1!" * 4}
    org.admin.post(f"{org.base}/users", body, expect=409)
    listed = org.admin.get(f"{org.base}/webhooks/{endpoint['id']}/deliveries").json()["items"]
    assert len(listed) == 1


def test_the_directory_events(org: Org, receiver: Receiver, deliver: Deliver) -> None:
    endpoint = register(org, receiver.url, ["*"])
    user_id = new_user(org)
    org.admin.patch(f"{org.base}/users/{user_id}", {"display_name": "Renamed"})
    org.admin.patch(f"{org.base}/users/{user_id}", {"enabled": False})
    group = org.admin.post(
        f"{org.base}/groups", {"name": "Sales", "kind": "security"}, expect=201
    ).json()
    org.admin.post(f"{org.base}/groups/{group['id']}/members", {"user_id": user_id}, expect=201)
    org.admin.delete(f"{org.base}/groups/{group['id']}/members/{user_id}")
    org.admin.delete(f"{org.base}/groups/{group['id']}")
    reset = org.admin.post(f"{org.base}/users/{user_id}/reset-password", expect=200).json()
    org.admin.delete(f"{org.base}/users/{user_id}")
    deliver()
    assert receiver.types() == [
        "user.created",
        "user.updated",
        "user.disabled",
        "group.created",
        "group.member_added",
        "group.member_removed",
        "group.deleted",
        "user.deleted",
    ]
    for got in receiver.received:
        got.verify(endpoint["secret"])
        assert reset["temporary_password"].encode() not in got.body
        assert b"password" not in got.body and b"token" not in got.body
    added = json.loads(receiver.of_type("group.member_added")[0].body)["data"]
    assert added["name"] == "Sales" and added["member"]["id"] == user_id


# --- who may: at home only; partners see their own; tenants are isolated --------------------


def test_a_partner_acting_on_behalf_can_not_make_or_read_a_customers_webhooks(
    partner: Partner, org: Org, receiver: Receiver
) -> None:
    accepted(partner, org)
    agent = partner.agent("full")
    agent.get(f"{org.base}/users", expect=200)  # it does administer the customer
    refused = agent.post(
        f"{org.base}/webhooks", {"url": receiver.url, "events": ["*"]}, expect=403
    ).json()
    assert "never on behalf" in refused["detail"]
    agent.get(f"{org.base}/webhooks", expect=403)
    mine = register(org, receiver.url, ["user.created"])
    for method, path in (
        ("GET", f"{org.base}/webhooks/{mine['id']}"),
        ("PATCH", f"{org.base}/webhooks/{mine['id']}"),
        ("DELETE", f"{org.base}/webhooks/{mine['id']}"),
        ("POST", f"{org.base}/webhooks/{mine['id']}/rotate-secret"),
        ("GET", f"{org.base}/webhooks/{mine['id']}/deliveries"),
    ):
        body = {"enabled": False} if method == "PATCH" else None
        agent.request(method, path, 403, json=body)
    denied = org.admin.get(f"{org.base}/audit-events?action=access.denied").json()["items"]
    assert denied and denied[0]["partner_tenant_id"] == partner.org.tenant_id
    # Nor may an admin without tenant.update at home.
    reader = org.user_api(roles=())
    reader.post(f"{org.base}/webhooks", {"url": receiver.url, "events": ["*"]}, expect=403)


def test_a_partner_receives_only_its_own_relationship_events(
    client, sessions, settings, clock: FakeClock, deliver: Deliver
) -> None:
    ours = make_partner(client, sessions, settings, clock, "Fabrikam")
    rival = make_partner(client, sessions, settings, clock, "Litware")
    customer = make_org(client, "Contoso")
    other_customer = make_org(client, "Tailspin")
    with receiving() as ours_rx, receiving() as rival_rx, receiving() as customer_rx:
        ours_hook = register(ours.admin, ours_rx.url, ["*"], base="/partner")
        register(rival.admin, rival_rx.url, ["*"], base="/partner")
        # The partner's own tenant endpoint: its own directory only.
        register(customer, customer_rx.url, ["*"])
        relationship = accepted(ours, customer)
        accepted(rival, other_customer)
        agent = ours.agent("full")
        agent.post(
            f"{customer.base}/users",
            {"user_principal_name": f"hire@{customer.domain}", "display_name": "Hire"},
            expect=201,
        )
        customer.create_user()
        ours.admin.post(f"/partner/relationships/{relationship['id']}/terminate", expect=200)
        deliver()
        assert ours_rx.types() == ["relationship.accepted", "relationship.terminated"]
        for got in ours_rx.received:
            data = got.verify(ours_hook["secret"])["data"]
            assert data["id"] == relationship["id"]
            assert data["partner"]["tenant_id"] == ours.org.tenant_id
        assert rival_rx.types() == ["relationship.accepted"]
        assert json.loads(rival_rx.received[0].body)["data"]["partner"]["name"].startswith(
            "Litware"
        )
        # The customer hears of its partner and of its own directory, the agent's work too.
        assert customer_rx.types() == [
            "relationship.accepted",
            "user.created",
            "user.created",
            "relationship.terminated",
        ]


def test_the_customer_removing_its_partner_is_relationship_removed(
    partner: Partner, org: Org, deliver: Deliver
) -> None:
    with receiving() as partner_rx:
        register(partner.admin, partner_rx.url, ["relationship.removed"], base="/partner")
        relationship = accepted(partner, org)
        org.admin.delete(f"{org.base}/partner-relationships/{relationship['id']}")
        deliver()
        (got,) = partner_rx.received
        data = json.loads(got.body)["data"]
        assert data["by"] == "customer" and data["status"] == "terminated"


def test_tenants_are_isolated(client, deliver: Deliver) -> None:
    a, b = make_org(client, "Alpha"), make_org(client, "Beta")
    with receiving() as a_rx, receiving() as b_rx:
        a_hook = register(a, a_rx.url, ["*"])
        register(b, b_rx.url, ["*"])
        b.create_user()
        b.create_user()
        a_user = a.create_user()
        deliver()
        assert [json.loads(r.body)["data"]["id"] for r in a_rx.received] == [a_user]
        assert len(b_rx.received) == 2
        assert all(json.loads(r.body)["data"]["tenant_id"] == b.tenant_id for r in b_rx.received)
    b.admin.get(f"{a.base}/webhooks", expect=404)
    b.admin.get(f"{a.base}/webhooks/{a_hook['id']}", expect=404)
    b.admin.get(f"{b.base}/webhooks/{a_hook['id']}", expect=404)
    b.admin.post(f"{b.base}/webhooks/{a_hook['id']}/rotate-secret", expect=404)


# --- SSRF ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "172.16.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "64:ff9b::a00:1",
        "2002:a00:1::1",
        "64:ff9b::a9fe:a9fe",
        "224.0.0.1",
    ],
)
def test_private_addresses_are_refused(address: str) -> None:
    assert webhooks.refused_address(address)


def test_public_addresses_are_not() -> None:
    assert not webhooks.refused_address("93.184.216.34")
    assert not webhooks.refused_address("2606:2800:220:1:248:1893:25c8:1946")


def test_registration_refuses_private_and_plain_http_urls(
    app, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.state.settings, "webhooks_allow_private_networks", False)
    monkeypatch.setattr(app.state.settings, "webhooks_allow_http", False)
    for url in (
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://[::1]/x",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.5/x",
        "https://localhost:8443/x",
        "https://user:pw@hooks.example.com/x",
        "ftp://hooks.example.com/x",
        "https:///x",
    ):
        org.admin.post(f"{org.base}/webhooks", {"url": url, "events": ["*"]}, expect=422)
    register(org, "https://hooks.example.com/tenantry", ["*"])


def test_delivery_refuses_a_name_that_resolves_to_a_private_address(
    org: Org, receiver: Receiver, deliver: Deliver, settings: Settings
) -> None:
    # Registered while allowed, by name; the operator then turns the allowance off.
    url = receiver.url.replace("127.0.0.1", "localhost")
    endpoint = register(org, url, ["user.created"])
    new_user(org)
    deliver(settings.model_copy(update={"webhooks_allow_private_networks": False}))
    assert receiver.received == []
    (row,) = org.admin.get(f"{org.base}/webhooks/{endpoint['id']}/deliveries").json()["items"]
    assert row["status"] == "pending" and row["attempts"] == 1
    assert "loopback, private or link-local" in row["last_error"]


def test_redirects_are_not_followed(org: Org, deliver: Deliver) -> None:
    with receiving(answers=[307]) as receiver:
        endpoint = register(org, receiver.url, ["user.created"])
        new_user(org)
        deliver()
        assert len(receiver.received) == 1
        (row,) = org.admin.get(f"{org.base}/webhooks/{endpoint['id']}/deliveries").json()["items"]
        assert row["status"] == "pending" and row["last_response_code"] == 307


# --- secrets -------------------------------------------------------------------------------


def test_the_secret_is_never_in_logs_listings_audit_or_the_database_in_clear(
    org: Org,
    deliver: Deliver,
    sessions: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with receiving(answers=[500]) as receiver:
        endpoint = register(org, receiver.url, ["user.created"])
        rotated = org.admin.post(
            f"{org.base}/webhooks/{endpoint['id']}/rotate-secret", expect=200
        ).json()["secret"]
        new_user(org)
        deliver()
    secrets_ = [endpoint["secret"], rotated]
    raw = [s.removeprefix("whsec_") for s in secrets_]
    seen = [
        caplog.text,
        org.admin.get(f"{org.base}/webhooks").text,
        org.admin.get(f"{org.base}/webhooks/{endpoint['id']}").text,
        org.admin.get(f"{org.base}/webhooks/{endpoint['id']}/deliveries").text,
        org.admin.get(f"{org.base}/audit-events").text,
    ]
    with sessions() as session:
        row = session.get(WebhookEndpoint, uuid.UUID(endpoint["id"]))
        assert row is not None
        seen += [row.secret_ciphertext, row.previous_secret_ciphertext or ""]
        seen += [
            json.dumps(e.details)
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.tenant_id == uuid.UUID(org.tenant_id))
            )
        ]
    for text in seen:
        for secret in [*secrets_, *raw]:
            assert secret not in text
    assert "secret" not in org.admin.get(f"{org.base}/webhooks/{endpoint['id']}").json()


def test_a_changed_server_key_fails_the_delivery_and_says_to_rotate(
    org: Org, receiver: Receiver, deliver: Deliver, allowed: Settings
) -> None:
    endpoint = register(org, receiver.url, ["user.created"])
    new_user(org)
    changed = allowed.model_copy(update={"secret_key": "another-key-" + "y" * 32})
    changed.__dict__.pop("effective_secret_key", None)  # computed from the old key
    assert changed.effective_secret_key != allowed.effective_secret_key
    deliver(changed)
    assert receiver.received == []
    (row,) = org.admin.get(f"{org.base}/webhooks/{endpoint['id']}/deliveries").json()["items"]
    assert row["status"] == "failed" and "rotate" in row["last_error"]


# --- several workers -----------------------------------------------------------------------


def test_a_delivery_claimed_by_two_workers_at_once_is_sent_once(
    org: Org, sessions: sessionmaker[Session], allowed: Settings, clock: FakeClock
) -> None:
    with receiving(delay=0.5) as receiver:
        endpoint = register(org, receiver.url, ["user.created"])
        new_user(org)
        with sessions.begin() as session:
            (message_id,) = session.scalars(
                select(WebhookDelivery.message_id).where(
                    WebhookDelivery.endpoint_id == uuid.UUID(endpoint["id"])
                )
            )
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                barrier.wait()
                webhooks.deliver_pending(sessions, allowed, clock(), batch=10_000)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors
        assert [r.message_id for r in receiver.received].count(message_id) == 1
        with sessions.begin() as session:
            (row,) = session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.message_id == message_id)
            )
            assert (row.status, row.attempts) == ("delivered", 1)


def test_a_worker_that_died_mid_send_is_taken_over_after_the_lease(
    org: Org,
    sessions: sessionmaker[Session],
    allowed: Settings,
    clock: FakeClock,
    receiver: Receiver,
    deliver: Deliver,
) -> None:
    endpoint = register(org, receiver.url, ["user.created"])
    new_user(org)
    with sessions.begin() as session:
        claimed = webhooks.claim(Context(session=session, settings=allowed, now=clock()))
    assert any(c.endpoint_id == uuid.UUID(endpoint["id"]) for c in claimed)
    deliver()  # the claim holds: nothing is sent twice meanwhile
    assert receiver.received == []
    clock.advance(minutes=5, seconds=1)
    deliver()
    assert len(receiver.received) == 1


def test_a_receiver_that_answers_too_slowly_fails_the_attempt_and_holds_back_no_one(
    client, deliver: Deliver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "DEADLINE_SECONDS", 0.5)
    org = make_org(client)
    with receiving(delay=3) as slow, receiving() as quick:
        endpoint = register(org, slow.url, ["user.created"])
        register(org, quick.url, ["user.created"])
        new_user(org)
        deliver()
        assert len(quick.of_type("user.created")) == 1
        (row,) = org.admin.get(f"{org.base}/webhooks/{endpoint['id']}/deliveries").json()["items"]
        assert row["status"] == "pending" and "no answer within" in row["last_error"]


def test_the_audit_log_keeps_no_query_of_the_url(org: Org, receiver: Receiver) -> None:
    endpoint = register(org, receiver.url + "?key=receivers-own-key", ["user.created"])
    assert endpoint["url"].endswith("?key=receivers-own-key")  # the owner sees it
    org.admin.patch(
        f"{org.base}/webhooks/{endpoint['id']}", {"url": receiver.url + "?key=second-own-key"}
    )
    org.admin.delete(f"{org.base}/webhooks/{endpoint['id']}")
    log = org.admin.get(f"{org.base}/audit-events?action=webhook.create").text
    assert receiver.url in log and "receivers-own-key" not in log
    assert "second-own-key" not in org.admin.get(f"{org.base}/audit-events").text


def test_activations_reach_the_customer_and_that_partner_only(
    client, sessions, settings, clock: FakeClock, deliver: Deliver
) -> None:
    ours = make_partner(client, sessions, settings, clock, "Fabrikam")
    rival = make_partner(client, sessions, settings, clock, "Litware")
    customer = make_org(client, "Contoso")
    events = ["activation.started", "activation.ended"]
    with receiving() as ours_rx, receiving() as rival_rx, receiving() as customer_rx:
        ours_hook = register(ours.admin, ours_rx.url, events, base="/partner")
        register(rival.admin, rival_rx.url, ["*"], base="/partner")
        register(customer, customer_rx.url, events)
        relationship, requester, _ = jit_world(ours, customer)
        made = activate(requester.api, relationship, USERS, minutes=60)
        requester.api.post(f"/partner/activations/{made['id']}/end", expect=200)
        deliver()
        assert ours_rx.types() == events and customer_rx.types() == events
        assert rival_rx.received == []
        started = ours_rx.received[0].verify(ours_hook["secret"])["data"]
        assert (started["id"], started["role"]) == (made["id"], USERS)
        assert started["agent"]["user_principal_name"] == requester.upn
        ended = json.loads(customer_rx.received[1].body)["data"]
        assert (ended["status"], ended["by"]) == ("ended", "partner")


def test_provisioning_by_scim_sends_the_same_events(
    org: Org, receiver: Receiver, deliver: Deliver
) -> None:
    """An identity system's changes reach the organisation's endpoints like an admin's: SCIM
    goes through the same directory functions, which emit in the same transaction."""
    endpoint = register(org, receiver.url, ["user.created", "user.updated", "group.member_added"])
    scim = scim_for(org)
    user = scim.create_user("ada", displayName="Ada")
    scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "userName", "value": "ada2"}])
    scim.create_group("Engineers", members=[user["id"]])
    deliver()
    assert receiver.types() == ["user.created", "user.updated", "group.member_added"]
    for got in receiver.received:
        got.verify(endpoint["secret"])
    renamed = json.loads(receiver.of_type("user.updated")[0].body)["data"]
    assert renamed["id"] == user["id"] and renamed["user_principal_name"].startswith("ada2@")
