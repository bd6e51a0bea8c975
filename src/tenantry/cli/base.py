"""What every command shares: the root ``tenantry`` app, one-line errors instead of
tracebacks, and the operator's context (a transaction on the configured database)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from tenantry.core.config import ConfigurationError, Settings, load_settings
from tenantry.core.context import Context
from tenantry.core.db import make_engine, make_sessionmaker, transaction
from tenantry.core.errors import ServiceError

app = typer.Typer(
    help="Tenantry: multi-tenant administration with partner delegation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])


# The order ``tenantry --help`` lists the command groups in, whatever the import order.
GROUP_ORDER = (
    "db",
    "tenant",
    "user",
    "partner",
    "scim",
    "service",
    "oidc",
    "health",
    "outbox",
    "audit",
    "jobs",
)
groups: dict[str, typer.Typer] = {}


def group(name: str, help: str) -> typer.Typer:
    """A command group (``tenantry NAME ...``); ``add_groups`` puts it under the root app."""
    groups[name] = typer.Typer(help=help, no_args_is_help=True)
    return groups[name]


def add_groups() -> None:
    for name in sorted(groups, key=GROUP_ORDER.index):
        app.add_typer(groups[name], name=name)


def friendly(func: F) -> F:
    """Turn expected failures into one line on stderr and exit code 1."""

    @wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ServiceError, ConfigurationError) as exc:
            err.print(f"[red]error:[/red] {getattr(exc, 'detail', exc)}", highlight=False)
        except OperationalError as exc:
            err.print(
                f"[red]error:[/red] database unavailable or not migrated: "
                f"{str(exc.orig).splitlines()[0]} (try 'tenantry db upgrade')",
                highlight=False,
            )
        except SQLAlchemyError as exc:
            err.print(
                f"[red]error:[/red] database error: {str(exc).splitlines()[0]}", highlight=False
            )
        raise typer.Exit(1)

    return run  # type: ignore[return-value]


@contextmanager
def operator_sessions() -> Iterator[tuple[sessionmaker[Session], Settings]]:
    """Sessions on the configured database, for work of several transactions."""
    settings = load_settings()
    engine = make_engine(settings.effective_database_url, settings.database_lock_wait_seconds)
    try:
        yield make_sessionmaker(engine), settings
    finally:
        engine.dispose()


@contextmanager
def operator_context() -> Iterator[Context]:
    with operator_sessions() as (sessions, settings), transaction(sessions) as session:
        yield Context(session=session, settings=settings, request_id="cli")


def safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.effective_database_url).render_as_string(hide_password=True)
