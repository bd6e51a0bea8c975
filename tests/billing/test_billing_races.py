"""Seats and trials under parallel requests, on both databases: the seat counter equals the
licence rows (freed once per deleted row) and a product is tried once."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tenantry.models import LicenseAssignment, Subscription
from tests.conftest import Org

PARALLEL = 20
ROUNDS = 3


def at_once(calls: list[Callable[[], int]]) -> list[int]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def buy(org: Org, seats: int, sku: str = "business_standard") -> str:
    body = {"sku_id": sku, "seats": seats}
    return str(org.admin.post(f"{org.base}/subscriptions", body, expect=201).json()["id"])


def seats_in_use(sessions: sessionmaker[Session], sid: str) -> tuple[int, int, int]:
    """(the counter, the licence rows, the seats) of a subscription."""
    with sessions() as session:
        subscription = session.get(Subscription, uuid.UUID(sid))
        assert subscription is not None
        rows = session.scalar(
            select(func.count()).where(LicenseAssignment.subscription_id == subscription.id)
        )
        return subscription.assigned, int(rows or 0), subscription.seats


def test_parallel_unassigns_of_one_licence_free_one_seat(
    org: Org, sessions: sessionmaker[Session]
) -> None:
    sid = buy(org, 10)
    lic = f"{org.base}/subscriptions/{sid}/licenses"
    keeper = org.create_user()
    org.admin.post(lic, {"user_id": keeper}, expect=201)
    for _ in range(ROUNDS):
        user = org.create_user()
        org.admin.post(lic, {"user_id": user}, expect=201)
        codes = at_once(
            [lambda user=user: org.admin.delete(f"{lic}/{user}", expect=None).status_code]
            * PARALLEL
        )
        assert sorted(codes) == [204] + [404] * (PARALLEL - 1)
        assert seats_in_use(sessions, sid)[:2] == (1, 1)


def test_parallel_deletions_of_one_user_free_each_seat_once(
    org: Org, sessions: sessionmaker[Session]
) -> None:
    subs = [buy(org, 10), buy(org, 10, "business_premium")]
    keeper = org.create_user()
    for sid in subs:
        org.admin.post(f"{org.base}/subscriptions/{sid}/licenses", {"user_id": keeper}, expect=201)
    for _ in range(ROUNDS):
        user = org.create_user()
        for sid in subs:
            lic = f"{org.base}/subscriptions/{sid}/licenses"
            org.admin.post(lic, {"user_id": user}, expect=201)
        codes = at_once(
            [
                lambda user=user: (
                    org.admin.delete(f"{org.base}/users/{user}", expect=None).status_code
                )
            ]
            * PARALLEL
        )
        assert sorted(codes) == [204] + [404] * (PARALLEL - 1)
        for sid in subs:
            assert seats_in_use(sessions, sid)[:2] == (1, 1)


def test_parallel_assigns_unassigns_and_deletions_keep_the_counter_true(
    org: Org, sessions: sessionmaker[Session]
) -> None:
    """A mix on a few users and seats: the counter stays the number of licence rows and
    within the seats, and nothing fails with a 500 (no deadlock)."""
    sid = buy(org, 4)
    lic = f"{org.base}/subscriptions/{sid}/licenses"
    for round_ in range(ROUNDS):
        users = [org.create_user() for _ in range(6)]
        for user in users[:3]:
            org.admin.post(lic, {"user_id": user}, expect=None)
        calls: list[Callable[[], int]] = []
        for user in users:
            calls.append(lambda u=user: org.admin.post(lic, {"user_id": u}).status_code)
            calls.append(lambda u=user: org.admin.delete(f"{lic}/{u}", expect=None).status_code)
        calls += [
            lambda u=user: org.admin.delete(f"{org.base}/users/{u}", expect=None).status_code
            for user in users[:2]
        ]
        random.Random(round_).shuffle(calls)
        codes = at_once(calls * 2)
        assert set(codes) <= {201, 204, 404, 409}, codes
        assigned, rows, seats = seats_in_use(sessions, sid)
        assert assigned == rows <= seats
        for user in users[2:]:  # leave the seats free for the next round
            org.admin.delete(f"{org.base}/users/{user}", expect=None)
    assert seats_in_use(sessions, sid)[:2] == (0, 0)


def test_parallel_trial_starts_make_one_trial(org: Org, sessions: sessionmaker[Session]) -> None:
    body = {"sku_id": "business_premium", "seats": 25, "trial": True}
    for round_ in range(ROUNDS):
        responses = at_once(
            [lambda: org.admin.post(f"{org.base}/subscriptions", body).status_code] * PARALLEL
        )
        assert sorted(responses) == ([201] if round_ == 0 else []) + [409] * (
            PARALLEL - (round_ == 0)
        )
    with sessions() as session:
        trials = session.scalars(
            select(Subscription.id).where(
                Subscription.tenant_id == uuid.UUID(org.tenant_id),
                Subscription.trial_ends_at.is_not(None),
            )
        ).all()
    assert len(trials) == 1
