"""The operator's command line: readable output, one-line errors, non-zero exits."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tenantry.cli import app
from tenantry.migrations import alembic_config
from tenantry.models import AuditEvent, OutboxMessage, RoleAssignment, Tenant
from tests.conftest import PASSWORD, TEST_SECRET_KEY, Api, make_org, sign_in, unique_label
from tests.databases import fresh_database

runner = CliRunner()


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENANTRY_DATABASE_URL", database_url)
    monkeypatch.setenv("TENANTRY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TENANTRY_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("TENANTRY_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("TENANTRY_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("TENANTRY_ARGON2_PARALLELISM", "1")


def run(*args: str) -> object:
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_tenant_create_and_partner_enroll(cli_env: None, client: TestClient) -> None:
    label = unique_label()
    created = run(
        "tenant", "create", "--name", "Fabrikam", "--domain", label, "--password", PASSWORD
    )
    assert created.exit_code == 0, created.output
    upn = f"admin@{label}.tenantry.test"
    assert upn in created.output
    enrolled = run("partner", "enroll", f"{label}.tenantry.test")
    assert enrolled.exit_code == 0 and "is enrolled" in enrolled.output
    assert upn in enrolled.output
    again = run("partner", "enroll", f"{label}.tenantry.test")
    assert "already a partner" in again.output
    admin = sign_in(client, upn)
    me = admin.get("/me").json()
    assert me["is_partner_agent"] is True
    tenant = admin.get(f"/tenants/{me['tenant_id']}").json()
    assert tenant["is_partner"] is True
    groups = {g["name"]: g for g in admin.get(f"/tenants/{me['tenant_id']}/groups").json()["items"]}
    assert set(groups) == {"Admin agents", "Helpdesk agents"}
    members = admin.get(
        f"/tenants/{me['tenant_id']}/groups/{groups['Admin agents']['id']}/members"
    ).json()["items"]
    assert [m["user_principal_name"] for m in members] == [upn]
    left = run("partner", "unenroll", f"{label}.tenantry.test")
    assert left.exit_code == 0 and "no longer a partner" in left.output, left.output
    assert admin.get(f"/tenants/{me['tenant_id']}").json()["is_partner"] is False
    again = run("partner", "unenroll", f"{label}.tenantry.test")
    assert again.exit_code == 1 and again.output.strip().startswith("error:"), again.output


def test_errors_are_one_line_and_exit_1(cli_env: None) -> None:
    for args in (
        ("partner", "enroll", "nowhere.example"),
        ("health", "set", "mail", "on-fire"),
        ("health", "set", "teleporter", "healthy"),
        ("tenant", "create", "--name", "X", "--domain", "Bad Label", "--password", PASSWORD),
    ):
        result = run(*args)
        assert result.exit_code == 1, args
        assert "Traceback" not in result.output
        assert result.output.strip().startswith("error:"), result.output
        assert len(result.output.strip().splitlines()) == 1, result.output


def test_health_set_is_seen_by_tenants(cli_env: None, client: TestClient) -> None:
    result = run("health", "set", "files", "incident", "--message", "Uploads failing")
    assert result.exit_code == 0 and "Files: incident" in result.output
    label = unique_label()
    signup = (
        Api(client)
        .post(
            "/signup",
            {"organization_name": "H", "initial_domain": label, "admin_password": PASSWORD},
            expect=201,
        )
        .json()
    )
    admin = sign_in(client, signup["admin_user_principal_name"])
    services = admin.get(f"/tenants/{signup['tenant_id']}/health").json()["services"]
    files = next(s for s in services if s["id"] == "files")
    assert files["status"] == "incident" and files["messages"][0]["message"] == "Uploads failing"
    assert run("health", "set", "files", "healthy").exit_code == 0


def test_audit_verify_for_one_tenant(cli_env: None, client: TestClient) -> None:
    label = unique_label()
    Api(client).post(
        "/signup",
        {"organization_name": "A", "initial_domain": label, "admin_password": PASSWORD},
        expect=201,
    )
    result = run("audit", "verify", "--tenant", f"{label}.tenantry.test")
    assert result.exit_code == 0 and "intact" in result.output


def test_check_demo_and_outbox(cli_env: None, database_url: str) -> None:
    checked = run("check")
    assert checked.exit_code == 0
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert "schema revision" in checked.output and str(head) in checked.output
    assert "passkeys" in checked.output and "RP id" in checked.output
    first, second = run("demo"), run("demo")
    assert first.exit_code == 0 and second.exit_code == 0
    assert "admin@fabrikam.tenantry.test" in second.output
    assert "Tenantry-Demo-2026" in second.output
    assert run("outbox", "list").exit_code == 0


def test_db_upgrade_on_a_new_sqlite_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENANTRY_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    result = run("db", "upgrade")
    assert result.exit_code == 0 and "head" in result.output
    assert (tmp_path / "new.db").exists()


def test_production_without_secret_key_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TENANTRY_ENVIRONMENT", "production")
    monkeypatch.delenv("TENANTRY_SECRET_KEY", raising=False)
    monkeypatch.setenv("TENANTRY_DATA_DIR", str(tmp_path))
    result = run("check")
    assert result.exit_code == 1
    assert "TENANTRY_SECRET_KEY" in result.output and "Traceback" not in result.output


def test_audit_verify_fails_after_tampering(
    cli_env: None, client: TestClient, sessions: sessionmaker[Session]
) -> None:
    label = unique_label()
    signup = (
        Api(client)
        .post(
            "/signup",
            {"organization_name": "T", "initial_domain": label, "admin_password": PASSWORD},
            expect=201,
        )
        .json()
    )
    sign_in(client, signup["admin_user_principal_name"])
    with sessions.begin() as session:
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.tenant_id == uuid.UUID(signup["tenant_id"]), AuditEvent.seq == 1)
            .values(action="tenant.nothing")
        )
    result = run("audit", "verify", "--tenant", f"{label}.tenantry.test")
    assert result.exit_code == 1
    assert "content does not match its hash" in result.output


def test_audit_checkpoint_then_verify_finds_a_chain_cut_short(
    cli_env: None, client: TestClient, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    org = make_org(client)
    org.create_user()
    saved = tmp_path / "checkpoint.json"
    assert run("audit", "checkpoint", "--out", str(saved)).exit_code == 0
    verified = run("audit", "verify", "--tenant", org.domain, "--checkpoint", str(saved))
    assert verified.exit_code == 0 and "every head of the checkpoint" in verified.output
    tid = uuid.UUID(org.tenant_id)
    with sessions.begin() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.tenant_id == tid, AuditEvent.seq > 1))
        first = session.scalars(select(AuditEvent.hash).filter_by(tenant_id=tid, seq=1)).one()
        session.execute(
            update(Tenant).where(Tenant.id == tid).values(audit_seq=1, audit_head_hash=first)
        )
    assert run("audit", "verify", "--tenant", org.domain).exit_code == 0
    cut = run("audit", "verify", "--tenant", org.domain, "--checkpoint", str(saved))
    assert cut.exit_code == 1 and "chain cut short" in cut.output
    saved.write_text(saved.read_text().replace('"seq": ', '"seq": 1'))
    forged = run("audit", "verify", "--tenant", org.domain, "--checkpoint", str(saved))
    assert forged.exit_code == 1 and "signature does not match" in forged.output


def test_backup_and_restore_commands(
    cli_env: None, client: TestClient, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = make_org(client)
    saved = tmp_path / "tenantry.backup"
    assert run("backup", str(saved)).exit_code == 0 and saved.is_file()
    refused = run("restore", str(saved))
    assert refused.exit_code == 1 and "not empty" in refused.output
    with fresh_database(backend, tmp_path) as empty_url:
        monkeypatch.setenv("TENANTRY_DATABASE_URL", empty_url)
        restored = run("restore", str(saved))
        assert restored.exit_code == 0 and "Restored" in restored.output
        assert run("audit", "verify", "--tenant", org.domain).exit_code == 0


def test_jobs_run_once(cli_env: None) -> None:
    first, second = run("jobs", "run-once"), run("jobs", "run-once")
    assert first.exit_code == 0 and "expired:" in first.output
    assert (
        second.exit_code == 0
        and "pending expired: 0, extended: 0, expiring: 0, expired: 0" in second.output
    )


def test_grant_global_admin_recovers_an_organisation(
    cli_env: None, client: TestClient, sessions: sessionmaker[Session]
) -> None:
    """An organisation whose administrators are gone (here: its role assignment removed in
    the database) gets one back from the operator, audited as the operator and announced to
    the organisation's admin addresses."""
    org = make_org(client)
    heir = org.create_user()
    heir_upn = org.users[heir]
    spare = org.create_user()
    org.admin.patch(f"{org.base}/users/{spare}", {"enabled": False}, expect=200)
    with sessions.begin() as session:
        session.execute(
            delete(RoleAssignment).where(RoleAssignment.tenant_id == uuid.UUID(org.tenant_id))
        )

    done = run("user", "grant-global-admin", heir_upn.upper())
    assert done.exit_code == 0, done.output  # type: ignore[attr-defined]
    assert f"{heir_upn} is now a Global Administrator" in done.output  # type: ignore[attr-defined]
    heir_api = sign_in(client, heir_upn)
    assignments = heir_api.get(f"{org.base}/role-assignments").json()["items"]
    assert [(a["role"], a["user_id"]) for a in assignments] == [("global_administrator", heir)]
    heir_api.patch(org.base, {"phone": "+1 555 0199"}, expect=200)  # it administers again
    with sessions() as session:
        event = session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.tenant_id == uuid.UUID(org.tenant_id),
                AuditEvent.action == "role.assign",
            )
            .order_by(AuditEvent.seq.desc())
        ).first()
        assert event is not None and event.actor_user_id is None and event.request_id == "cli"
        assert event.details == {"role": "global_administrator", "by": "operator"}
        told = session.scalars(
            select(OutboxMessage.recipient).where(
                OutboxMessage.subject == f"{heir_upn} is now a Global Administrator"
            )
        ).all()
    assert heir_upn in told

    again = run("user", "grant-global-admin", heir_upn)
    assert again.exit_code == 1 and "already holds" in again.output  # type: ignore[attr-defined]
    spare_upn = org.users[spare]
    refused = run("user", "grant-global-admin", spare_upn)
    assert refused.exit_code == 1 and "is disabled" in refused.output  # type: ignore[attr-defined]
    enabled = run("user", "grant-global-admin", spare_upn, "--enable")
    assert enabled.exit_code == 0, enabled.output  # type: ignore[attr-defined]
    assert heir_api.get(f"{org.base}/users/{spare}").json()["enabled"] is True
    sign_in(client, spare_upn)
    missing = run("user", "grant-global-admin", "nobody@nowhere.test")
    assert missing.exit_code == 1 and "There is no user" in missing.output  # type: ignore[attr-defined]
