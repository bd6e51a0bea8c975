"""The sign-in throttle: failed proofs of identity counted per account and per client address
in the database, with a progressive lockout, so every process sees the same count. Sign-ups
are counted per client address in the same table (key 'signup:<address>').
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import TooManyRequests
from tenantry.core.metrics import SIGN_IN_FAILURES
from tenantry.models import SignInThrottle, User
from tenantry.models.audit import AuditOutcome


def _throttle_keys(ctx: Context, username: str) -> list[tuple[str, int]]:
    """The counters a sign-in as ``username`` touches, each with its failure limit."""
    keys = [(f"account:{username.lower()}", ctx.settings.throttle_account_failures)]
    if ctx.client_address:
        keys.append((f"address:{ctx.client_address}", ctx.settings.throttle_address_failures))
    return keys


def check(ctx: Context, username: str) -> None:
    """Refuse (429, with Retry-After) while the account or the client address is locked out."""
    keys = [k for k, _ in _throttle_keys(ctx, username)]
    rows = ctx.session.scalars(select(SignInThrottle).where(SignInThrottle.key.in_(keys))).all()
    locked = [r.locked_until for r in rows if r.locked_until and r.locked_until > ctx.now]
    if locked:
        wait = math.ceil((max(locked) - ctx.now).total_seconds())
        raise TooManyRequests(
            f"Too many failed sign-ins. Try again in {wait} seconds.", retry_after=wait
        )


def _lockout(failures: int, limit: int, window: int) -> timedelta:
    """Progressive: 60 s at the limit, doubling with each further failure, capped at the
    window."""
    return timedelta(seconds=min(window, 60 * 2 ** max(0, failures - limit)))


def _count(ctx: Context, key: str, window: int) -> SignInThrottle:
    """Add one to ``key``'s count in one atomic upsert (a new window once the old one is
    over) and return the row as it now stands."""
    dialect = ctx.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(SignInThrottle).values(
        key=key, failures=1, window_started_at=ctx.now, locked_until=None
    )
    ctx.session.execute(
        stmt.on_conflict_do_update(
            index_elements=[SignInThrottle.key],
            set_={"failures": SignInThrottle.failures + 1},
        )
    )
    row = ctx.session.get(SignInThrottle, key, populate_existing=True)
    assert row is not None
    if row.window_started_at + timedelta(seconds=window) < ctx.now:
        row.failures, row.window_started_at, row.locked_until = 1, ctx.now, None
    return row


def count_signup(ctx: Context) -> None:
    """Count a sign-up from the client's address, refusing (429, with Retry-After) past the
    hourly limit. Counted in the sign-up's own transaction: a refused or failed sign-up rolls
    its count back, so only organisations really created use up the allowance."""
    if not ctx.client_address:
        return
    hour = 3600
    row = _count(ctx, f"signup:{ctx.client_address}", hour)
    if row.failures > ctx.settings.signup_per_address_per_hour:
        wait = max(1, math.ceil((row.window_started_at - ctx.now).total_seconds()) + hour)
        raise TooManyRequests(
            f"Too many sign-ups from your address. Try again in {wait} seconds.",
            retry_after=wait,
        )


def _record_failure(ctx: Context, username: str) -> None:
    """Count a failure under each key (runs in its own transaction after the rollback)."""
    window = ctx.settings.throttle_window_seconds
    for key, limit in _throttle_keys(ctx, username):
        row = _count(ctx, key, window)
        if row.failures >= limit:
            row.locked_until = ctx.now + _lockout(row.failures, limit, window)


def count_failure(ctx: Context, username: str, user: User | None, reason: str) -> None:
    """Count a failed proof of identity against the account (and address) and audit it,
    after the request rolls back."""
    # Plain values only: the request's ORM objects are gone once it rolls back.
    who = (user.tenant_id, user.id) if user is not None else None
    SIGN_IN_FAILURES.inc()

    def record(fresh: Context) -> None:
        _record_failure(fresh, username)
        if who is not None:
            audit.record(
                fresh,
                who[0],
                "auth.sign_in",
                f"user:{who[1]}",
                outcome=AuditOutcome.FAILURE,
                details={"reason": reason},
            )

    ctx.after_rollback.append(record)


def clear_account_failures(ctx: Context, username: str) -> None:
    """Forget the account's failures once it signs in (its address keeps counting)."""
    ctx.session.execute(delete(SignInThrottle).where(SignInThrottle.key == f"account:{username}"))
