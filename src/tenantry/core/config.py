"""Typed settings, all read from ``TENANTRY_*`` environment variables (or a ``.env`` file)."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigurationError(RuntimeError):
    """The configuration cannot work; the message says what to change."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TENANTRY_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    # How long a request waits for a lock or a pooled connection before it is answered 503
    # (core/db.py): SQLite's busy timeout, PostgreSQL's lock_timeout and the pool's timeout.
    database_lock_wait_seconds: float = Field(default=10.0, gt=0, le=300)
    initial_domain_suffix: str = "tenantry.test"
    secret_key: str = Field(default="", repr=False)
    open_signup: bool = True
    token_lifetime_seconds: int = Field(default=8 * 3600, ge=60, le=30 * 24 * 3600)
    # Access tokens of API clients (POST /oauth2/token): short, since a client gets a new one
    # with its secret or key whenever it needs to.
    client_token_lifetime_seconds: int = Field(default=15 * 60, ge=60, le=24 * 3600)
    smtp_url: str = Field(default="", repr=False)
    mail_from: str = "Tenantry <no-reply@tenantry.test>"
    public_url: str = "http://127.0.0.1:8000"
    # Peers whose X-Forwarded-For/-Proto `serve` believes (comma-separated addresses or
    # networks, "*" for any): the load balancer's, so each client keeps its own address.
    forwarded_allow_ips: str = "127.0.0.1"
    # How often `serve` runs the relationship lifecycle sweeper and delivers e-mail; 0 = never.
    jobs_interval_seconds: int = Field(default=60, ge=0)
    # How often `serve` looks for partners' bulk jobs to run (README "Jobs"); 0 = never.
    job_poll_seconds: float = Field(default=2.0, ge=0)
    # Items done per transaction (each in a savepoint): on SQLite a batch holds the write lock.
    job_batch_size: int = Field(default=50, ge=1, le=1000)
    # A pause between batches, so requests waiting for SQLite's write lock get their turn.
    job_batch_pause_seconds: float = Field(default=0.05, ge=0, le=10)
    # When set, /metrics answers only "Authorization: Bearer <this token>"; unset, it is open
    # (aggregate counts only: no tenant, user or address).
    metrics_token: str = Field(default="", repr=False)
    # Webhooks (README "Webhooks"): delivering to loopback, private or link-local addresses
    # (and registering such a URL) is refused unless this is on; http URLs need the second.
    webhooks_allow_private_networks: bool = False
    webhooks_allow_http: bool = False
    # "json": one JSON object per log line with the request id (core/logs.py).
    log_format: Literal["text", "json"] = "text"
    dns_resolver: str = ""
    dns_timeout_seconds: float = 3.0
    # Sign-in throttling: failures within the window before the account/address is locked.
    throttle_account_failures: int = 5
    throttle_address_failures: int = 30
    throttle_window_seconds: int = 900
    # Sign-ups (new organisations) accepted from one client address per hour.
    signup_per_address_per_hour: int = Field(default=10, ge=1)
    # argon2id cost; the defaults are argon2-cffi's RFC 9106 "low memory" profile.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    # At most this many argon2 hashes at once per process (each takes argon2_memory_kib); a
    # burst queues, and one that waits longer than the timeout is answered 503.
    password_hash_concurrency: int = Field(default=4, ge=1)
    password_hash_wait_seconds: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _production_needs_secret(self) -> Settings:
        if self.environment == "production" and len(self.secret_key) < 32:
            raise ConfigurationError(
                "TENANTRY_SECRET_KEY must be set to at least 32 characters in production"
            )
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tenantry.db').as_posix()}"

    @cached_property
    def effective_secret_key(self) -> str:
        """The configured key, or in development one generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        key_file = self.data_dir / "secret_key"
        if key_file.exists():
            return key_file.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key

    @property
    def secret_key_source(self) -> str:
        if self.secret_key:
            return "TENANTRY_SECRET_KEY"
        return f"generated for development in {self.data_dir / 'secret_key'}"


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ConfigurationError:
        raise
    except ValueError as exc:  # pydantic ValidationError
        raise ConfigurationError(str(exc)) from exc
