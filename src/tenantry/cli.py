"""The ``tenantry`` command: serve, migrate, seed, and the operator's tasks.

Errors print as one readable line and exit non-zero; no tracebacks for expected failures.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from tenantry.audit import chain as audit
from tenantry.core.config import ConfigurationError, Settings, load_settings
from tenantry.core.context import Context
from tenantry.core.db import make_engine, make_sessionmaker, transaction
from tenantry.core.errors import ServiceError
from tenantry.directory import tenants, users
from tenantry.operations import demo, outbox
from tenantry.operations import sweeper as jobs
from tenantry.partners import enrolment as partners
from tenantry.support import health

app = typer.Typer(
    help="Tenantry: multi-tenant administration with partner delegation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants.", no_args_is_help=True)
user_app = typer.Typer(help="Users (the operator's recovery).", no_args_is_help=True)
partner_app = typer.Typer(help="The partner program.", no_args_is_help=True)
health_app = typer.Typer(help="Service health.", no_args_is_help=True)
outbox_app = typer.Typer(help="Outgoing e-mail.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
jobs_app = typer.Typer(help="Background work.", no_args_is_help=True)
for sub, name in (
    (db_app, "db"),
    (tenant_app, "tenant"),
    (user_app, "user"),
    (partner_app, "partner"),
    (health_app, "health"),
    (outbox_app, "outbox"),
    (audit_app, "audit"),
    (jobs_app, "jobs"),
):
    app.add_typer(sub, name=name)

out = Console()
err = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])


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
def operator_context() -> Iterator[Context]:
    settings = load_settings()
    engine = make_engine(settings.effective_database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            yield Context(session=session, settings=settings, request_id="cli")
    finally:
        engine.dispose()


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
) -> None:
    """Serve the web pages and the API."""
    import uvicorn

    load_settings()  # fail early on bad configuration
    uvicorn.run(
        "tenantry.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
    )


@db_app.command("upgrade")
@friendly
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    settings = load_settings()
    upgrade_database(settings)
    out.print(f"Database at head: {_safe_url(settings)}")


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


@tenant_app.command("create")
@friendly
def tenant_create(
    name: Annotated[str, typer.Option(help="Organisation name")],
    domain: Annotated[str, typer.Option(help="Initial domain label, e.g. contoso")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="First admin's password")
    ],
) -> None:
    """Create a tenant with its first Global Administrator."""
    with operator_context() as ctx:
        new = tenants.create_tenant(
            ctx, organization_name=name, initial_domain=domain, admin_password=password
        )
        out.print(
            f"Created {new.tenant.name} ({new.tenant.id}); admin: {new.admin.user_principal_name}"
        )


@user_app.command("reset-mfa")
@friendly
def user_reset_mfa(upn: Annotated[str, typer.Argument(help="User name, e.g. ann@contoso")]) -> None:
    """Remove a user's second factor (a lost phone) and end its sessions; audited in its
    tenant as the operator, and the user is told by e-mail."""
    with operator_context() as ctx:
        user = users.operator_reset_second_factor(ctx, upn)
        out.print(
            f"Second factor of {user.user_principal_name} removed and its sessions ended; it "
            "signs in with its password and enrols again."
        )


@partner_app.command("enroll")
@friendly
def partner_enroll(reference: Annotated[str, typer.Argument(help="Tenant id or domain")]) -> None:
    """Enrol a tenant in the partner program."""
    with operator_context() as ctx:
        enrolment = partners.enroll(ctx, tenants.find_tenant(ctx, reference))
        state = "enrolled" if enrolment.newly_enrolled else "already a partner"
        out.print(
            f"{enrolment.tenant.name} is {state}; {partners.ADMIN_AGENTS}: "
            f"{', '.join(enrolment.admin_agents) or 'none'}"
        )


@partner_app.command("unenroll")
@friendly
def partner_unenroll(
    reference: Annotated[str, typer.Argument(help="Tenant id or domain")],
) -> None:
    """Take a tenant out of the partner program: its relationships end now, its requests are
    withdrawn and its offers disabled."""
    with operator_context() as ctx:
        done = partners.unenroll(ctx, tenants.find_tenant(ctx, reference))
        out.print(
            f"{done.tenant.name} is no longer a partner; relationships ended: {done.ended}, "
            f"requests withdrawn: {done.withdrawn}, offers disabled: {done.offers_disabled}"
        )


@health_app.command("set")
@friendly
def health_set(
    service: Annotated[str, typer.Argument(help="Service id or name, e.g. mail")],
    status: Annotated[str, typer.Argument(help="healthy, degraded or incident")],
    message: Annotated[str | None, typer.Option(help="What customers should read")] = None,
) -> None:
    """Post a service's health."""
    with operator_context() as ctx:
        row = health.set_status(ctx, service, status, message)
        out.print(f"{row.name}: {row.status}")


@health_app.command("list")
@friendly
def health_list() -> None:
    """Show every service's health."""
    with operator_context() as ctx:
        for item in health.overview(ctx):
            out.print(f"{item.service.name}: {item.service.status}")


@outbox_app.command("list")
@friendly
def outbox_list(
    pending: Annotated[bool, typer.Option(help="Only messages not yet sent")] = False,
    limit: Annotated[int, typer.Option(help="How many")] = 50,
) -> None:
    """List e-mail in the outbox, newest first."""
    with operator_context() as ctx:
        messages = outbox.list_messages(ctx.session, pending_only=pending, limit=limit)
        table = Table()
        for column in ("Created", "To", "Subject", "Sent"):
            table.add_column(column)
        for m in messages:
            table.add_row(
                m.created_at.isoformat(timespec="seconds"),
                m.recipient,
                m.subject,
                m.sent_at.isoformat(timespec="seconds") if m.sent_at else "pending",
            )
        out.print(table if messages else "The outbox is empty.")


@outbox_app.command("send")
@friendly
def outbox_send() -> None:
    """Deliver pending e-mail over TENANTRY_SMTP_URL now."""
    with operator_context() as ctx:
        if not ctx.settings.smtp_url:
            raise ConfigurationError("TENANTRY_SMTP_URL is not set")
        out.print(f"Sent {outbox.deliver_pending(ctx)} message(s).")


@audit_app.command("verify")
@friendly
def audit_verify(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (id or domain)")] = None,
) -> None:
    """Check every tenant's audit hash chain; exit 1 if any event was edited or deleted."""
    with operator_context() as ctx:
        tenant_id = tenants.find_tenant(ctx, tenant).id if tenant else None
        problems = list(audit.verify(ctx.session, tenant_id))
    if problems:
        for p in problems:
            err.print(
                f"[red]broken:[/red] tenant {p.tenant_id} event {p.seq}: {p.problem}",
                highlight=False,
            )
        raise typer.Exit(1)
    out.print("Audit chains intact.")


@jobs_app.command("run-once")
@friendly
def jobs_run_once() -> None:
    """Move relationships along their lifecycle and deliver e-mail, once."""
    with operator_context() as ctx:
        report, sent = jobs.run_once(ctx)
    out.print(
        f"pending expired: {report.pending_expired}, extended: {report.extended}, "
        f"expiring: {report.expiring}, expired: {report.expired}, e-mails sent: {sent}"
    )


@app.command()
@friendly
def check() -> None:
    """Report the configuration and whether the database answers."""
    settings = load_settings()
    table = Table(title="Tenantry configuration")
    table.add_column("Setting")
    table.add_column("Value")
    table.add_row("environment", settings.environment)
    table.add_row("database", _safe_url(settings))
    table.add_row("initial domain suffix", settings.initial_domain_suffix)
    table.add_row("secret key", settings.secret_key_source)
    table.add_row("open sign-up", "on" if settings.open_signup else "off")
    table.add_row("token lifetime", f"{settings.token_lifetime_seconds} s")
    table.add_row("SMTP", "configured" if settings.smtp_url else "not set (outbox only)")
    table.add_row("DNS resolver", settings.dns_resolver or "system default")
    engine = make_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        table.add_row("schema revision", str(revision))
    except SQLAlchemyError as exc:
        table.add_row("schema revision", f"unavailable ({str(exc).splitlines()[0][:80]})")
    finally:
        engine.dispose()
    out.print(table)


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.effective_database_url).render_as_string(hide_password=True)


def main() -> None:
    try:
        app()
    except ConfigurationError as exc:  # raised while typer parses, before @friendly applies
        err.print(f"error: {exc}")
        sys.exit(1)
