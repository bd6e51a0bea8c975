"""E-mail is recorded in the outbox and delivered to a real SMTP server on loopback."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.models import OutboxMessage, Relationship
from tenantry.models.outbox import OutboxStatus
from tenantry.models.partners import RelationshipStatus
from tenantry.operations import outbox
from tenantry.operations import sweeper as jobs
from tests.conftest import FakeClock, Inbox, Org, Partner, accepted, free_tcp_port


def test_delivers_pending_messages_once(
    smtp: tuple[Inbox, int], settings: Settings, sessions: sessionmaker[Session]
) -> None:
    inbox, port = smtp
    configured = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"})
    with sessions.begin() as session:
        ctx = Context(session=session, settings=configured)
        # Start from an empty queue: other tests may have left mail behind.
        outbox.deliver_pending(ctx, batch=10_000)
    inbox.received.clear()
    with sessions.begin() as session:
        ctx = Context(session=session, settings=configured)
        message = outbox.enqueue(
            ctx, recipient="admin@contoso.example", subject="Hello", body="A partner wants to help."
        )
        message_id = message.id
    with sessions.begin() as session:
        assert outbox.deliver_pending(Context(session=session, settings=configured)) == 1
    with sessions.begin() as session:
        assert outbox.deliver_pending(Context(session=session, settings=configured)) == 0
        sent = session.get(OutboxMessage, message_id)
        assert sent is not None and sent.sent_at is not None and sent.attempts == 1
    assert len(inbox.received) == 1
    mail = inbox.received[0]
    assert mail["To"] == "admin@contoso.example" and mail["Subject"] == "Hello"
    assert "A partner wants to help." in mail.get_payload()


def test_without_smtp_messages_wait(settings: Settings, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        ctx = Context(session=session, settings=settings)
        outbox.enqueue(ctx, recipient="x@y.example", subject="Queued", body="...")
        assert outbox.deliver_pending(ctx) == 0
    with sessions() as session:
        assert "Queued" in [m.subject for m in outbox.list_messages(session, pending_only=True)]


# --- delivery, one message at a time -------------------------------------------------------


class PickyInbox(Inbox):
    """A real SMTP server that refuses some recipients (550), as a real one does."""

    def __init__(self, refuses: Callable[[str], bool]) -> None:
        super().__init__()
        self.refuses = refuses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if self.refuses(address):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@contextmanager
def picky_smtp(refuses: Callable[[str], bool]) -> Iterator[tuple[PickyInbox, int]]:
    inbox, port = PickyInbox(refuses), free_tcp_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def drained(sessions: sessionmaker[Session], configured: Settings, now: datetime) -> None:
    """Start from an empty queue: other tests leave mail behind."""
    with sessions.begin() as session:
        outbox.deliver_pending(Context(session=session, settings=configured, now=now), 10_000)


def test_a_subject_with_cr_lf_is_delivered_on_one_line(
    smtp: tuple[Inbox, int], settings: Settings, sessions: sessionmaker[Session]
) -> None:
    inbox, port = smtp
    configured = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"})
    now = datetime.now(UTC)
    drained(sessions, configured, now)
    inbox.received.clear()
    with sessions.begin() as session:
        ctx = Context(session=session, settings=configured, now=now)
        outbox.enqueue(
            ctx, recipient="a@contoso.example", subject="Evil\r\nBcc: x@evil.example", body="."
        )
        # A row written before subjects were cleaned on the way in.
        session.add(
            OutboxMessage(
                id=uuid.uuid4(),
                recipient="b@contoso.example",
                subject="Old\nrow\x07",
                body=".",
                created_at=now,
            )
        )
    with sessions.begin() as session:
        assert outbox.deliver_pending(Context(session=session, settings=configured, now=now)) == 2
    subjects = sorted(str(mail["Subject"]) for mail in inbox.received)
    assert subjects == ["Evil Bcc: x@evil.example", "Old row"]
    assert all(mail["Bcc"] is None for mail in inbox.received)


def test_a_refused_message_is_retried_with_backoff_then_dead_while_others_go_out(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    now = datetime.now(UTC)
    with picky_smtp(lambda address: address.startswith("bounce")) as (inbox, port):
        configured = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"})
        drained(sessions, configured, now)
        inbox.received.clear()
        with sessions.begin() as session:
            ctx = Context(session=session, settings=configured, now=now)
            first = outbox.enqueue(ctx, recipient="one@contoso.example", subject="1", body=".")
            refused = outbox.enqueue(ctx, recipient="bounce@contoso.example", subject="2", body=".")
            outbox.enqueue(ctx, recipient="three@contoso.example", subject="3", body=".")
            first.created_at, refused.created_at = now - timedelta(seconds=2), now - timedelta(1)
            refused_id = refused.id

        def deliver(at: datetime) -> int:
            with sessions.begin() as session:
                return outbox.deliver_pending(Context(session=session, settings=configured, now=at))

        def state() -> OutboxMessage:
            with sessions() as session:
                message = session.get(OutboxMessage, refused_id)
                assert message is not None
                return message

        assert deliver(now) == 2
        assert sorted(m["To"] for m in inbox.received) == [
            "one@contoso.example",
            "three@contoso.example",
        ]
        failed = state()
        assert failed.status == OutboxStatus.PENDING and failed.attempts == 1
        assert "550" in (failed.last_error or "")
        assert failed.next_attempt_at == now + outbox.retry_delay(1)
        assert deliver(now) == 0 and state().attempts == 1  # not due yet: no retry storm

        moment = now
        for attempt in range(2, outbox.MAX_ATTEMPTS + 1):
            moment += outbox.retry_delay(attempt - 1)
            assert deliver(moment) == 0
            assert state().attempts == attempt
        dead = state()
        assert dead.status == OutboxStatus.DEAD and dead.next_attempt_at is None
        assert deliver(moment + timedelta(days=30)) == 0 and state().attempts == dead.attempts
        with sessions() as session:
            assert refused_id not in {
                m.id for m in outbox.list_messages(session, pending_only=True)
            }
        assert len(inbox.received) == 2


def test_a_sweep_whose_mail_is_refused_still_moves_relationships_once(
    partner: Partner,
    org: Org,
    settings: Settings,
    sessions: sessionmaker[Session],
    clock: FakeClock,
) -> None:
    relationship = accepted(partner, org, {"roles": ["user_administrator"], "duration": "P60D"})
    with picky_smtp(lambda address: True) as (_, port):
        configured = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"})
        clock.advance(days=61)
        first, _ = jobs.run_once(sessions, configured, clock())
        assert first.expired >= 1
        with sessions() as session:
            moved = session.get(Relationship, uuid.UUID(relationship["id"]))
            assert moved is not None and moved.status == RelationshipStatus.EXPIRED
            mail = mail_about(session, partner.org.admin_upn)
            assert mail and all(m.attempts == 1 and m.last_error for m in mail)
        again, _ = jobs.run_once(sessions, configured, clock())
        with sessions() as session:
            assert len(mail_about(session, partner.org.admin_upn)) == len(mail)
        assert again.expired == 0


def mail_about(session: Session, recipient: str) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.recipient == recipient, OutboxMessage.subject.contains("ended")
            )
        )
    )
