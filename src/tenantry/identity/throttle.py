"""The sign-in throttle: attempts at proving an identity counted per account and per client
address in the database, before the proof is verified, with a progressive lockout, so every
process sees the same count and parallel guesses can't slip past it. Sign-ups are counted per
client address in the same table (key 'signup:<address>').
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete
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


def _lockout(failures: int, limit: int, window: int) -> timedelta:
    """Progressive: 60 s at the limit, doubling with each further failure, capped at the
    window."""
    return timedelta(seconds=min(window, 60 * 2 ** max(0, failures - limit)))


def _locked_row(ctx: Context, key: str) -> SignInThrottle:
    """The counter's row, made if need be and locked until commit (PostgreSQL; SQLite's
    writers are serialised already), so that reading it and counting are one step. An
    upsert that always writes: a row deleted meanwhile (a sign-in clearing it) is made anew,
    never missed."""
    dialect = ctx.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    ctx.session.execute(
        insert(SignInThrottle)
        .values(key=key, failures=0, window_started_at=ctx.now, locked_until=None)
        .on_conflict_do_update(
            index_elements=[SignInThrottle.key], set_={"failures": SignInThrottle.failures}
        )
    )
    row = ctx.session.get(SignInThrottle, key, populate_existing=True)
    assert row is not None
    return row


def _count_attempt(ctx: Context, key: str, limit: int) -> datetime | None:
    """Count one attempt under ``key``, or, while it is locked out, the end of the lockout
    (the attempt is then refused, not counted)."""
    window = ctx.settings.throttle_window_seconds
    row = _locked_row(ctx, key)
    if row.locked_until and row.locked_until > ctx.now:
        return row.locked_until
    if row.window_started_at + timedelta(seconds=window) < ctx.now:
        row.failures, row.window_started_at, row.locked_until = 0, ctx.now, None
    row.failures += 1
    if row.failures >= limit:
        row.locked_until = ctx.now + _lockout(row.failures, limit, window)
    return None


def claim_attempt(ctx: Context, username: str) -> None:
    """Count an attempt at proving ``username`` *before* the proof is verified, in a
    transaction of its own (it commits what the request read so far: call it before any
    write), so that parallel guesses can't all pass one check: within a lockout period at
    most the limit's number of proofs is verified. Refuses (429, with Retry-After) while the
    account or the client address is locked out. A proof that succeeds gives it back."""
    ctx.session.commit()
    locked = [
        until
        for key, limit in _throttle_keys(ctx, username)
        if (until := _count_attempt(ctx, key, limit)) is not None
    ]
    if locked:
        ctx.session.rollback()  # a refused attempt is not counted
        wait = math.ceil((max(locked) - ctx.now).total_seconds())
        raise TooManyRequests(
            f"Too many failed sign-ins. Try again in {wait} seconds.", retry_after=wait
        )
    ctx.session.commit()


def give_back_attempt(ctx: Context, username: str) -> None:
    """The proof succeeded: its attempt no longer counts, nor a lockout it started."""
    for key, limit in _throttle_keys(ctx, username):
        row = _locked_row(ctx, key)
        row.failures = max(0, row.failures - 1)
        if row.failures < limit:
            row.locked_until = None


def claim_app_attempt(ctx: Context) -> None:
    """Count an attempt at proving an API client (``POST /oauth2/token``) before it is
    verified, like ``claim_attempt`` but per client address only: a client_id is no secret,
    so counting per client would let anyone lock an app out. Without it, wrong secrets or
    assertions for a known client_id could be sent without end, each one audited in the
    client's organisation (its chain grown and its lock held). Refuses (429) while the
    address is locked out; a success gives the attempt back (``give_back_app_attempt``)."""
    if not ctx.client_address:
        return
    ctx.session.commit()
    key = f"address:{ctx.client_address}"
    until = _count_attempt(ctx, key, ctx.settings.throttle_address_failures)
    if until is not None:
        ctx.session.rollback()  # a refused attempt is not counted
        wait = math.ceil((until - ctx.now).total_seconds())
        raise TooManyRequests(
            f"Too many failed attempts from your address. Try again in {wait} seconds.",
            retry_after=wait,
        )
    ctx.session.commit()


def give_back_app_attempt(ctx: Context) -> None:
    """The client proved itself: its attempt no longer counts, nor a lockout it started."""
    if not ctx.client_address:
        return
    row = _locked_row(ctx, f"address:{ctx.client_address}")
    row.failures = max(0, row.failures - 1)
    if row.failures < ctx.settings.throttle_address_failures:
        row.locked_until = None


SIGNUP_WINDOW_SECONDS = 3600


def count_signup(ctx: Context) -> None:
    """Count a sign-up from the client's address, refusing (429, with Retry-After) past the
    hourly limit. Counted in the sign-up's own transaction, on the locked row: a refused or
    failed sign-up rolls its count back, so only organisations really created use up the
    allowance, and parallel sign-ups can't all pass one check."""
    if not ctx.client_address:
        return
    row = _locked_row(ctx, f"signup:{ctx.client_address}")
    if row.window_started_at + timedelta(seconds=SIGNUP_WINDOW_SECONDS) < ctx.now:
        row.failures, row.window_started_at = 0, ctx.now
    row.failures += 1
    if row.failures > ctx.settings.signup_per_address_per_hour:
        elapsed = (ctx.now - row.window_started_at).total_seconds()
        wait = max(1, math.ceil(SIGNUP_WINDOW_SECONDS - elapsed))
        raise TooManyRequests(
            f"Too many sign-ups from your address. Try again in {wait} seconds.",
            retry_after=wait,
        )


def audit_failure(ctx: Context, user: User | None, reason: str) -> None:
    """Audit a failed proof of identity (its attempt is counted already) after the request
    rolls back."""
    SIGN_IN_FAILURES.inc()
    if user is None:
        return
    # Plain values only: the request's ORM objects are gone once it rolls back.
    tenant_id, user_id = user.tenant_id, user.id

    def record(fresh: Context) -> None:
        audit.record(
            fresh,
            tenant_id,
            "auth.sign_in",
            f"user:{user_id}",
            outcome=AuditOutcome.FAILURE,
            details={"reason": reason},
        )

    ctx.after_rollback.append(record)


def clear_account_failures(ctx: Context, username: str) -> None:
    """Forget the account's failures once it signs in (its address keeps counting)."""
    ctx.session.execute(delete(SignInThrottle).where(SignInThrottle.key == f"account:{username}"))
