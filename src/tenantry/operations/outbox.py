"""E-mail: every message is a row first (kept whatever happens), then delivered over SMTP.

``TENANTRY_SMTP_URL``: ``smtp://host:port``, ``smtp+starttls://user:pass@host:587`` or
``smtps://user:pass@host:465``. Without it, messages stay in the outbox for ``tenantry outbox
list``. Delivery claims rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so several processes
never send one message twice.
"""

from __future__ import annotations

import smtplib
import uuid
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.core.errors import InvalidInput
from tenantry.models import OutboxMessage

MAX_ATTEMPTS = 10


def enqueue(
    ctx: Context, *, recipient: str, subject: str, body: str, tenant_id: uuid.UUID | None = None
) -> OutboxMessage:
    message = OutboxMessage(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        recipient=recipient,
        subject=subject,
        body=body,
        created_at=ctx.now,
    )
    ctx.session.add(message)
    return message


def list_messages(
    session: Session, *, pending_only: bool = False, limit: int = 50
) -> list[OutboxMessage]:
    stmt: Select[OutboxMessage] = select(OutboxMessage)
    if pending_only:
        stmt = stmt.where(OutboxMessage.sent_at.is_(None))
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


def deliver_pending(ctx: Context, batch: int = 100) -> int:
    """Send what is waiting; returns how many were sent. Failures are kept for a retry."""
    if not ctx.settings.smtp_url:
        return 0
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < MAX_ATTEMPTS)
        .order_by(OutboxMessage.created_at)
        .limit(batch)
    )
    if ctx.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    messages = list(ctx.session.scalars(stmt))
    if not messages:
        return 0
    sent = 0
    with _smtp(ctx.settings) as client:
        for message in messages:
            email = EmailMessage()
            email["From"] = ctx.settings.mail_from
            email["To"] = message.recipient
            email["Subject"] = message.subject
            email["Message-ID"] = f"<{message.id}@tenantry>"
            email.set_content(message.body)
            message.attempts += 1
            try:
                client.send_message(email)
            except smtplib.SMTPException as exc:
                message.last_error = str(exc)[:1000]
                continue
            message.sent_at, message.last_error = ctx.now, None
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
