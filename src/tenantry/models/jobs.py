"""Bulk jobs of a partner (issue 14): one action over many users or customers, one row per
item, so a job survives a crash and every item is done exactly once (partners/job_runner.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.core.context import SecondFactor
from tenantry.models.base import Base, EnumText, uuid_pk


class JobAction(StrEnum):
    """What a job does to each item: the first ones act on users, the last on customers."""

    RESET_PASSWORD = "reset_password"  # noqa: S105 (an action, not a password)
    REQUIRE_PASSWORD_CHANGE = "require_password_change"  # noqa: S105
    BLOCK_SIGN_IN = "block_sign_in"
    UNBLOCK_SIGN_IN = "unblock_sign_in"
    ASSIGN_LICENSE = "assign_license"
    UNASSIGN_LICENSE = "unassign_license"
    ADD_TO_GROUP = "add_to_group"
    REMOVE_FROM_GROUP = "remove_from_group"
    OFFBOARD = "offboard"
    RAISE_SERVICE_REQUEST = "raise_service_request"

    @property
    def over_users(self) -> bool:
        return self != JobAction.RAISE_SERVICE_REQUEST


class JobStatus(StrEnum):
    """``scheduled``: waits for ``not_before``; ``queued``: waits for a runner; ``running``:
    items being done; then ``completed`` (every item has an outcome) or ``cancelled``."""

    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    CANCELLED = "cancelled"
    COMPLETED = "completed"

    @property
    def ended(self) -> bool:
        return self in (JobStatus.CANCELLED, JobStatus.COMPLETED)


class JobItemStatus(StrEnum):
    """An item's outcome: ``refused`` when the access decision said no (the message says
    why), ``failed`` when the action could not be done (no such group, no seat...)."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUSED = "refused"
    CANCELLED = "cancelled"


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_partner_tenant_id_created_at", "partner_tenant_id", "created_at"),
        Index("ix_jobs_status", "status"),
        CheckConstraint(
            "status IN ('scheduled', 'queued', 'running', 'cancelled', 'completed')", name="status"
        ),
        CheckConstraint("second_factor IN ('none', 'totp', 'passkey')", name="second_factor"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE")
    )
    # The agent the items run as (no foreign key: the job and its record outlive the user;
    # a user gone or disabled gets every remaining item refused).
    created_by_user_id: Mapped[uuid.UUID]
    created_by_upn: Mapped[str] = mapped_column(String(320))
    # The second factor of the sign-in that made the job: its items are decided with it.
    second_factor: Mapped[SecondFactor] = mapped_column(EnumText(SecondFactor, 16))
    # A keyed digest of the agent's password and second factors when the job was made: a
    # reset of either (which ends the agent's sessions) ends the job's power too.
    credentials: Mapped[str] = mapped_column(String(64))
    action: Mapped[JobAction] = mapped_column(EnumText(JobAction, 32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[JobStatus] = mapped_column(EnumText(JobStatus, 16))
    not_before: Mapped[datetime | None]
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)  # items with an outcome, whatever it is
    failed: Mapped[int] = mapped_column(default=0)
    refused: Mapped[int] = mapped_column(default=0)
    cancelled: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    passwords_taken_at: Mapped[datetime | None]


class JobItem(Base):
    __tablename__ = "job_items"
    __table_args__ = (
        UniqueConstraint("job_id", "seq"),
        Index("ix_job_items_job_id_status_seq", "job_id", "status", "seq"),
        CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed', 'refused', 'cancelled')", name="status"
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    seq: Mapped[int]
    tenant_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID | None]
    # The user's name as the agent could read it when the job was made (None: not readable).
    upn: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[JobItemStatus] = mapped_column(EnumText(JobItemStatus, 16))
    message: Mapped[str] = mapped_column(String(1000), default="")
    # A temporary password, encrypted under a key derived from the secret key, until the
    # job's creator downloads it once (then wiped).
    secret: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]
