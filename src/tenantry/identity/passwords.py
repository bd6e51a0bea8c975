"""argon2id hashing and the password policy."""

from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tenantry.core.config import Settings
from tenantry.core.errors import InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 256


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def hasher(settings: Settings) -> PasswordHasher:
    return _hasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )


def check_policy(password: str) -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(
            f"A password needs {MIN_LENGTH} to {MAX_LENGTH} characters.", slug="weak-password"
        )
    if password.strip() == "" or len(set(password)) < 4:
        raise InvalidInput("That password is too easy to guess.", slug="weak-password")


def hash_password(settings: Settings, password: str) -> str:
    return hasher(settings).hash(password)


def verify_password(settings: Settings, password_hash: str | None, password: str) -> bool:
    """Constant-time verification; with no hash, still spend the time of one."""
    ph = hasher(settings)
    if password_hash is None:
        ph.hash(password)
        return False
    try:
        return ph.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(settings: Settings, password_hash: str) -> bool:
    return hasher(settings).check_needs_rehash(password_hash)


def temporary_password() -> str:
    """16 characters from 12 random bytes, easy to read out over the phone."""
    return secrets.token_urlsafe(12)
