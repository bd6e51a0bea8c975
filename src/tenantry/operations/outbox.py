"""E-mail: every message is a row first (kept whatever happens), then delivered over SMTP.

``TENANTRY_SMTP_URL``: ``smtp://host:port``, ``smtp+starttls://user:pass@host:587`` or
``smtps://user:pass@host:465``. Without it, messages stay in the outbox for ``tenantry outbox
list``. Delivery claims rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so several processes
never send one message twice.

Each message is delivered on its own: a message that can't be built or that the server
refuses records its error and waits (exponential backoff) while the others go out; after
``MAX_ATTEMPTS`` it is ``dead`` and stays in the outbox for the operator.
"""

from __future__ import annotations

import logging
import smtplib
import unicodedata
import uuid
from datetime import datetime, timedelta
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from urllib.parse import unquote, urlsplit

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.core.errors import InvalidInput
from tenantry.models import OutboxMessage
from tenantry.models.outbox import OutboxStatus

log = logging.getLogger("tenantry.outbox")
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
SUBJECT_LENGTH = 256


class Undeliverable(ValueError):
    """The message can never be sent as it is (a recipient no header can carry)."""


def header_text(text: str, max_length: int = SUBJECT_LENGTH) -> str:
    """``text`` fit for one header line: control characters and line or paragraph
    separators (a CR/LF in an organisation name) become spaces."""
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    return " ".join(cleaned.split())[:max_length]


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure: 1, 2, 4... minutes, at most 6 h."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def enqueue(
    ctx: Context, *, recipient: str, subject: str, body: str, tenant_id: uuid.UUID | None = None
) -> OutboxMessage:
    message = OutboxMessage(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        recipient=recipient,
        subject=header_text(subject),
        body=body,
        created_at=ctx.now,
        status=OutboxStatus.PENDING,
    )
    ctx.session.add(message)
    return message


def list_messages(
    session: Session, *, pending_only: bool = False, limit: int = 50
) -> list[OutboxMessage]:
    stmt: Select[OutboxMessage] = select(OutboxMessage)
    if pending_only:
        stmt = stmt.where(OutboxMessage.status == OutboxStatus.PENDING)
    return list(session.scalars(stmt.order_by(OutboxMessage.created_at.desc()).limit(limit)))


def _smtp(settings: Settings) -> smtplib.SMTP:
    url = urlsplit(settings.smtp_url)
    if url.scheme not in ("smtp", "smtps", "smtp+starttls") or not url.hostname:
        raise InvalidInput("TENANTRY_SMTP_URL must look like smtp://host:port")
    if url.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(url.hostname, url.port or 465, timeout=10)
    else:
        client = smtplib.SMTP(url.hostname, url.port or 25, timeout=10)
        if url.scheme == "smtp+starttls":
            client.starttls()
    if url.username:
        client.login(unquote(url.username), unquote(url.password or ""))
    return client


def _email(message: OutboxMessage, sender: str) -> EmailMessage:
    """The message with headers built by the email package, which refuses CR/LF in them."""
    try:
        email = EmailMessage(policy=SMTP_POLICY)
        email["From"] = sender
        email["To"] = Address(addr_spec=message.recipient)
        email["Subject"] = header_text(message.subject)
        email["Message-ID"] = f"<{message.id}@tenantry>"
        email.set_content(message.body)
    except (ValueError, TypeError, IndexError, MessageError) as exc:
        raise Undeliverable(f"cannot build the message: {exc}") from exc
    return email


def _failed(message: OutboxMessage, error: str, now: datetime, *, final: bool = False) -> None:
    message.attempts += 1
    message.last_error = error[:1000]
    if final or message.attempts >= MAX_ATTEMPTS:
        message.status, message.next_attempt_at = OutboxStatus.DEAD, None
        log.warning("outbox message %s is dead: %s", message.id, message.last_error)
    else:
        message.next_attempt_at = now + retry_delay(message.attempts)


def deliver_pending(ctx: Context, batch: int = 100) -> int:
    """Send what is due; returns how many were sent. A failure stays on its message."""
    if not ctx.settings.smtp_url:
        return 0
    stmt = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= ctx.now),
        )
        .order_by(OutboxMessage.created_at)
        .limit(batch)
    )
    if ctx.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    messages = list(ctx.session.scalars(stmt))
    if not messages:
        return 0
    try:
        client = _smtp(ctx.settings)
    except (smtplib.SMTPException, OSError) as exc:
        # The server, not the messages: nothing is counted against them.
        log.warning("cannot reach the SMTP server: %s", exc)
        return 0
    sent = 0
    with client:
        for message in messages:
            try:
                client.send_message(_email(message, ctx.settings.mail_from))
            except Undeliverable as exc:
                _failed(message, str(exc), ctx.now, final=True)
            except smtplib.SMTPServerDisconnected as exc:
                _failed(message, str(exc), ctx.now)
                break  # the rest wait for the next run, uncounted
            except (smtplib.SMTPException, OSError) as exc:
                _failed(message, str(exc), ctx.now)
            else:
                message.status, message.sent_at = OutboxStatus.SENT, ctx.now
                message.last_error = message.next_attempt_at = None
                message.attempts += 1
                sent += 1
    return sent


def backlog(session: Session) -> int:
    """Messages still waiting to be sent (a cheap count over the sent_at index)."""
    return (
        session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
        )
        or 0
    )
