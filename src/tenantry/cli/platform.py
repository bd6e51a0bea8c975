"""Run and look after the installation: serve, migrate, seed the demo, check the configuration."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from tenantry.cli.base import app, friendly, group, operator_context, out, safe_url
from tenantry.core.config import Settings, load_settings
from tenantry.core.db import make_engine
from tenantry.identity import passkeys
from tenantry.operations import demo

db_app = group("db", "Database schema.")


def upgrade_database(settings: Settings) -> None:
    from alembic import command

    from tenantry.migrations import alembic_config

    command.upgrade(alembic_config(settings.effective_database_url), "head")


@app.command()
@friendly
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Proxies trusted to set X-Forwarded-For (comma-separated addresses or "
            "networks, '*' for any); overrides TENANTRY_FORWARDED_ALLOW_IPS (default 127.0.0.1)"
        ),
    ] = None,
) -> None:
    """Serve the web pages and the API."""
    import uvicorn

    settings = load_settings()  # fail early on bad configuration
    uvicorn.run(
        "tenantry.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips or settings.forwarded_allow_ips,
        log_level="info",
    )


@db_app.command("upgrade")
@friendly
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    settings = load_settings()
    upgrade_database(settings)
    out.print(f"Database at head: {safe_url(settings)}")


@app.command("demo")
@friendly
def demo_seed() -> None:
    """Seed a partner and a few customers (once) and print the demo sign-ins."""
    with operator_context() as ctx:
        sign_ins = demo.seed(ctx)
    table = Table(title=f"Demo sign-ins (password: {demo.DEMO_PASSWORD})")
    table.add_column("Organisation")
    table.add_column("User", no_wrap=True)
    table.add_column("Role")
    for s in sign_ins:
        table.add_row(s.organisation, s.user_principal_name, s.role)
    out.print(table)


@app.command()
@friendly
def check() -> None:
    """Report the configuration and whether the database answers."""
    settings = load_settings()
    table = Table(title="Tenantry configuration")
    table.add_column("Setting")
    table.add_column("Value")
    table.add_row("environment", settings.environment)
    table.add_row("database", safe_url(settings))
    table.add_row("initial domain suffix", settings.initial_domain_suffix)
    table.add_row("secret key", settings.secret_key_source)
    table.add_row("open sign-up", "on" if settings.open_signup else "off")
    table.add_row("token lifetime", f"{settings.token_lifetime_seconds} s")
    table.add_row("SMTP", "configured" if settings.smtp_url else "not set (outbox only)")
    table.add_row("DNS resolver", settings.dns_resolver or "system default")
    table.add_row("trusted proxies", settings.forwarded_allow_ips or "none")
    table.add_row("sign-ups per address", f"{settings.signup_per_address_per_hour} an hour")
    table.add_row("/metrics", "bearer token" if settings.metrics_token else "no token needed")
    table.add_row("log format", settings.log_format)
    table.add_row("lock wait", f"{settings.database_lock_wait_seconds:g} s, then 503")
    rp = passkeys.relying_party(settings)
    problem = passkeys.relying_party_problem(settings)
    table.add_row(
        "passkeys", f"RP id {rp.id}, origin {rp.origin}" + (f" ({problem})" if problem else "")
    )
    engine = make_engine(settings.effective_database_url, settings.database_lock_wait_seconds)
    try:
        with engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        table.add_row("schema revision", str(revision))
    except SQLAlchemyError as exc:
        table.add_row("schema revision", f"unavailable ({str(exc).splitlines()[0][:80]})")
    finally:
        engine.dispose()
    out.print(table)
