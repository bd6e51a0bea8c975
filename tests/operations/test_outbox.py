"""E-mail is recorded in the outbox and delivered to a real SMTP server on loopback."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.models import OutboxMessage
from tenantry.operations import outbox
from tests.conftest import Inbox


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
