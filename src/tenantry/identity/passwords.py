"""argon2id hashing and the password policy."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tenantry.core.config import Settings
from tenantry.core.errors import InvalidInput, Unavailable

Result = TypeVar("Result")

MIN_LENGTH = 10
MAX_LENGTH = 256


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def hasher(settings: Settings) -> PasswordHasher:
    return _hasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )


@lru_cache(maxsize=8)
def _hashing_slots(size: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(size)


def _bounded(settings: Settings, work: Callable[[], Result]) -> Result:
    """Run one argon2 computation in one of the process's few slots: a burst of sign-ins
    queues here instead of taking argon2_memory_kib each at once; a wait beyond the timeout
    is a 503 (try again), not a pile-up."""
    slots = _hashing_slots(settings.password_hash_concurrency)
    if not slots.acquire(timeout=settings.password_hash_wait_seconds):
        raise Unavailable(
            "The server is busy checking passwords; try again in a moment.",
            slug="busy",
            retry_after=max(1, round(settings.password_hash_wait_seconds)),
        )
    try:
        return work()
    finally:
        slots.release()


def check_policy(password: str) -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(
            f"A password needs {MIN_LENGTH} to {MAX_LENGTH} characters.", slug="weak-password"
        )
    if password.strip() == "" or len(set(password)) < 4:
        raise InvalidInput("That password is too easy to guess.", slug="weak-password")


def hash_password(settings: Settings, password: str) -> str:
    return _bounded(settings, lambda: hasher(settings).hash(password))


def verify_password(settings: Settings, password_hash: str | None, password: str) -> bool:
    """Constant-time verification; with no hash, still spend the time of one."""
    ph = hasher(settings)
    if password_hash is None:
        _bounded(settings, lambda: ph.hash(password))
        return False
    try:
        return _bounded(settings, lambda: ph.verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(settings: Settings, password_hash: str) -> bool:
    return hasher(settings).check_needs_rehash(password_hash)


def temporary_password() -> str:
    """16 characters from 12 random bytes, easy to read out over the phone."""
    return secrets.token_urlsafe(12)
