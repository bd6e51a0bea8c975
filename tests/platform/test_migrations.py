"""Migrations from empty to head and back, and no drift between models and migrations."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.util.exc import CommandError
from sqlalchemy import inspect, text

from tenantry.core.db import make_engine
from tenantry.migrations import alembic_config
from tenantry.models import Base
from tests.databases import fresh_database


@pytest.fixture
def empty_database(backend: str, tmp_path) -> str:
    with fresh_database(backend, tmp_path) as url:
        yield url


def test_empty_to_head_to_base_and_back(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "head")
    engine = make_engine(empty_database)
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM skus")).scalar() >= 2
            assert conn.execute(text("SELECT count(*) FROM services")).scalar() == 4
        command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        command.upgrade(config, "head")
    finally:
        engine.dispose()


def test_models_and_migrations_agree(database_url: str) -> None:
    """`alembic check`: autogenerate finds nothing to add."""
    try:
        command.check(alembic_config(database_url))
    except CommandError as exc:  # pragma: no cover - the message is the diagnosis
        pytest.fail(f"models and migrations differ: {exc}")


def test_0003_upgrades_data_from_the_previous_release(empty_database: str) -> None:
    """Agent groups get their kind from their old names (partners only), partner names that
    clash in any case are numbered, and duplicate pending requests are withdrawn."""
    import uuid
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import MetaData

    config = alembic_config(empty_database)
    command.upgrade(config, "0002")
    engine = make_engine(empty_database)
    now = datetime.now(UTC)
    try:
        old = MetaData()
        old.reflect(engine)
        tenants, groups, relationships = (
            old.tables[t] for t in ("tenants", "groups", "relationships")
        )
        fabrikam, impostor, customer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

        def key(value: uuid.UUID) -> object:
            """Reflected SQLite columns are plain CHAR(32): bind what the Uuid type stores."""
            return value.hex if engine.dialect.name == "sqlite" else value

        blank = {
            k: ""
            for k in (
                "street",
                "city",
                "postal_code",
                "country",
                "phone",
                "technical_contact_email",
            )
        }
        with engine.begin() as conn:
            for tid, name, partner, enrolled in (
                (fabrikam, "Fabrikam", True, now - timedelta(days=2)),
                (impostor, "FABRIKAM", True, now - timedelta(days=1)),
                (customer, "Contoso", False, None),
            ):
                conn.execute(
                    tenants.insert().values(
                        id=key(tid),
                        name=name,
                        is_partner=partner,
                        partner_enrolled_at=enrolled,
                        audit_seq=0,
                        audit_head_hash="0" * 64,
                        created_at=now,
                        updated_at=now,
                        **blank,
                    )
                )
            for tid in (fabrikam, customer):
                for name in ("Admin agents", "Helpdesk agents"):
                    conn.execute(
                        groups.insert().values(
                            id=key(uuid.uuid4()),
                            tenant_id=key(tid),
                            name=name,
                            kind="security",
                            description="",
                            created_at=now,
                        )
                    )
            for age in (1, 2):
                conn.execute(
                    relationships.insert().values(
                        id=key(uuid.uuid4()),
                        partner_tenant_id=key(fabrikam),
                        customer_tenant_id=key(customer),
                        roles=["global_reader"],
                        status="approval_pending",
                        duration_days=30,
                        auto_extend=False,
                        created_at=now - timedelta(days=age),
                        version=1,
                    )
                )
        command.upgrade(config, "head")
        with engine.connect() as conn:
            levels = conn.execute(
                text("SELECT tenant_id, name, agent_level FROM groups ORDER BY name")
            ).all()
            names = dict(conn.execute(text("SELECT id, name FROM tenants")).all())
            pending = conn.execute(
                text("SELECT count(*) FROM relationships WHERE status = 'approval_pending'")
            ).scalar()
    finally:
        engine.dispose()
    as_uuid = {(uuid.UUID(str(t)), n): lv for t, n, lv in levels}
    assert as_uuid[(fabrikam, "Admin agents")] == "full"
    assert as_uuid[(fabrikam, "Helpdesk agents")] == "limited"
    assert as_uuid[(customer, "Admin agents")] is None
    by_id = {uuid.UUID(str(k)): v for k, v in names.items()}
    assert by_id[fabrikam] == "Fabrikam"
    assert by_id[impostor] == "FABRIKAM (2)"
    assert pending == 1


def test_0004_keys_partner_names_from_the_previous_release(empty_database: str) -> None:
    """Partner names that 0003 let through because they differ by more than case (a Cyrillic
    a, a full-width letter, an invisible character) are numbered; every partner gets its
    key, customers none; the search index on names survives the upgrade."""
    import uuid
    from datetime import UTC, datetime, timedelta

    config = alembic_config(empty_database)
    command.upgrade(config, "0003")
    engine = make_engine(empty_database)
    now = datetime.now(UTC)
    rows = [
        ("Fabrikam", True, 4),
        ("F\u0430brikam", True, 3),  # Cyrillic a
        ("\uff26abrikam\u200b", True, 2),  # full-width F, zero-width space
        ("Litware", True, 1),
        ("Fabrikam", False, 0),  # a customer may share a partner's name
    ]
    ids = [uuid.uuid4() for _ in rows]
    try:
        with engine.begin() as conn:
            for tid, (name, partner, age) in zip(ids, rows, strict=True):
                conn.execute(
                    text(
                        "INSERT INTO tenants (id, name, street, city, postal_code, country, "
                        "phone, technical_contact_email, is_partner, partner_enrolled_at, "
                        "audit_seq, audit_head_hash, created_at, updated_at) VALUES (:id, "
                        ":name, '', '', '', '', '', '', :partner, :enrolled, 0, :hash, :now, "
                        ":now)"
                    ),
                    {
                        "id": tid.hex if engine.dialect.name == "sqlite" else tid,
                        "name": name,
                        "partner": partner,
                        "enrolled": now - timedelta(days=age) if partner else None,
                        "hash": "0" * 64,
                        "now": now,
                    },
                )
        command.upgrade(config, "head")
        with engine.connect() as conn:
            found = {
                uuid.UUID(str(tid)): (name, key)
                for tid, name, key in conn.execute(
                    text("SELECT id, name, partner_name_key FROM tenants")
                )
            }
            indexes = {ix["name"] for ix in inspect(conn).get_indexes("tenants")}
            if engine.dialect.name == "sqlite":
                indexes |= set(
                    conn.execute(
                        text("SELECT name FROM sqlite_master WHERE tbl_name = 'tenants'")
                    ).scalars()
                )
    finally:
        engine.dispose()
    assert [found[t] for t in ids] == [
        ("Fabrikam", "fabrikam"),
        ("F\u0430brikam (2)", "fabrikam (2)"),
        ("\uff26abrikam\u200b (3)", "fabrikam (3)"),
        ("Litware", "litware"),
        ("Fabrikam", None),
    ]
    assert "ix_search_tenants_name" in indexes
    assert "ix_tenants_partner_name_key" in indexes


def test_0006_upgrades_data_from_the_previous_release(empty_database: str) -> None:
    """Access assignments keep their standing roles and get no eligible ones (60 minutes, no
    approval); partner policies don't ask for the customer's approval; a multi-factor token
    proved its factor when it was issued, a password-only one never."""
    import json
    import uuid
    from datetime import UTC, datetime, timedelta

    config = alembic_config(empty_database)
    command.upgrade(config, "0005")
    engine = make_engine(empty_database)
    now = datetime.now(UTC)
    sqlite = engine.dialect.name == "sqlite"

    def key(value: uuid.UUID) -> object:
        return value.hex if sqlite else value

    partner, customer, group, user = (uuid.uuid4() for _ in range(4))
    relationship, assignment, mfa_token, plain_token = (uuid.uuid4() for _ in range(4))
    issued = now - timedelta(hours=1)
    try:
        with engine.begin() as conn:
            for tid, name, is_partner in (
                (partner, "Fabrikam", True),
                (customer, "Contoso", False),
            ):
                conn.execute(
                    text(
                        "INSERT INTO tenants (id, name, street, city, postal_code, country, "
                        "phone, technical_contact_email, is_partner, audit_seq, "
                        "audit_head_hash, created_at, updated_at) VALUES (:id, :name, '', '', "
                        "'', '', '', '', :partner, 0, :hash, :now, :now)"
                    ),
                    {
                        "id": key(tid),
                        "name": name,
                        "partner": is_partner,
                        "hash": "0" * 64,
                        "now": now,
                    },
                )
            conn.execute(
                text(
                    "INSERT INTO users (id, tenant_id, user_principal_name, display_name, "
                    "must_change_password, enabled, mfa_enabled, created_at, updated_at) VALUES "
                    "(:id, :tid, 'a@fabrikam.test', 'A', false, true, true, :now, :now)"
                ),
                {"id": key(user), "tid": key(partner), "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO groups (id, tenant_id, name, kind, description, created_at) "
                    "VALUES (:id, :tid, 'Admin agents', 'security', '', :now)"
                ),
                {"id": key(group), "tid": key(partner), "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO relationships (id, partner_tenant_id, customer_tenant_id, roles, "
                    "status, duration_days, auto_extend, created_at, version) VALUES (:id, :p, "
                    ":c, '[\"global_reader\"]', 'active', 30, false, :now, 1)"
                ),
                {"id": key(relationship), "p": key(partner), "c": key(customer), "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO access_assignments (id, relationship_id, group_id, roles, "
                    "created_at) VALUES (:id, :r, :g, '[\"global_reader\"]', :now)"
                ),
                {"id": key(assignment), "r": key(relationship), "g": key(group), "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO partner_policies (tenant_id, blocked_permissions, "
                    "allow_privileged_roles, updated_at) VALUES (:t, '[]', false, :now)"
                ),
                {"t": key(customer), "now": now},
            )
            for token, mfa in ((mfa_token, True), (plain_token, False)):
                conn.execute(
                    text(
                        "INSERT INTO api_tokens (id, user_id, token_hash, mfa, created_at, "
                        "expires_at) VALUES (:id, :u, :h, :mfa, :at, :until)"
                    ),
                    {
                        "id": key(token),
                        "u": key(user),
                        "h": token.hex * 2,
                        "mfa": mfa,
                        "at": issued,
                        "until": now + timedelta(hours=7),
                    },
                )
        command.upgrade(config, "head")
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT roles, eligible_roles, max_activation_minutes, approval_required, "
                    "approver_group_id FROM access_assignments"
                )
            ).one()
            flag = conn.execute(
                text("SELECT require_customer_approval_for_global_admin FROM partner_policies")
            ).scalar()
            proven = dict(conn.execute(text("SELECT mfa, mfa_at FROM api_tokens")).all())
            count = conn.execute(text("SELECT count(*) FROM activations")).scalar()
    finally:
        engine.dispose()
    roles, eligible, minutes, approval, approvers = row

    def as_list(value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    assert (as_list(roles), as_list(eligible), minutes, bool(approval), approvers) == (
        ["global_reader"],
        [],
        60,
        False,
        None,
    )
    assert not flag
    assert proven[False] is None
    mfa_at = proven[True]
    mfa_at = datetime.fromisoformat(mfa_at) if isinstance(mfa_at, str) else mfa_at
    assert abs(mfa_at.replace(tzinfo=UTC) - issued) < timedelta(seconds=1)
    assert count == 0


def test_0007_upgrades_tokens_and_keeps_every_tenants_rows(empty_database: str) -> None:
    """A token of the previous release with MFA was proven by a TOTP code (the only factor
    there was), one without by none; partners don't require passkeys until they say so. The
    new column on tenants is added in place: on SQLite a copy of the table would drop it, and
    ON DELETE CASCADE every row of every tenant (users, tokens) with it, both ways."""
    import uuid
    from datetime import UTC, datetime, timedelta

    config = alembic_config(empty_database)
    command.upgrade(config, "0006")
    engine = make_engine(empty_database)
    now = datetime.now(UTC)
    tenant, user = uuid.uuid4(), uuid.uuid4()
    tokens = {True: uuid.uuid4(), False: uuid.uuid4()}

    def key(value: uuid.UUID) -> object:
        return value.hex if engine.dialect.name == "sqlite" else value

    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO tenants (id, name, street, city, postal_code, country, phone, "
                    "technical_contact_email, is_partner, audit_seq, audit_head_hash, "
                    "created_at, updated_at) VALUES (:id, 'Fabrikam', '', '', '', '', '', '', "
                    ":partner, 0, :hash, :now, :now)"
                ),
                {"id": key(tenant), "partner": True, "hash": "0" * 64, "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO users (id, tenant_id, user_principal_name, display_name, "
                    "must_change_password, enabled, mfa_enabled, created_at, updated_at) "
                    "VALUES (:id, :tenant, 'ann@fabrikam.test', 'Ann', :no, :yes, :yes, :now, "
                    ":now)"
                ),
                {"id": key(user), "tenant": key(tenant), "no": False, "yes": True, "now": now},
            )
            for mfa, token in tokens.items():
                conn.execute(
                    text(
                        "INSERT INTO api_tokens (id, user_id, token_hash, mfa, created_at, "
                        "expires_at) VALUES (:id, :user, :hash, :mfa, :now, :later)"
                    ),
                    {
                        "id": key(token),
                        "user": key(user),
                        "hash": token.hex * 2,
                        "mfa": mfa,
                        "now": now,
                        "later": now + timedelta(hours=1),
                    },
                )
        command.upgrade(config, "head")
        with engine.connect() as conn:
            factors = {
                uuid.UUID(str(t)): f
                for t, f in conn.execute(text("SELECT id, second_factor FROM api_tokens"))
            }
            required = conn.execute(
                text("SELECT require_phishing_resistant_mfa FROM tenants")
            ).scalar_one()
            users = conn.execute(text("SELECT count(*) FROM users")).scalar_one()
        command.downgrade(config, "0006")
        with engine.connect() as conn:
            kept = [
                conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
                for t in ("tenants", "users", "api_tokens")
            ]
    finally:
        engine.dispose()
    assert factors == {tokens[True]: "totp", tokens[False]: "none"}
    assert not required and users == 1
    assert kept == [1, 1, 2]


def test_0008_keeps_every_earlier_audit_event_verifying(empty_database: str) -> None:
    """Audit events gain a client actor (0008); an event written before, hashed over the
    fields it had then, still verifies after the upgrade, and the API client tables arrive
    empty."""
    import hashlib
    import hmac
    import json
    import uuid
    from datetime import UTC, datetime

    from sqlalchemy.orm import Session

    from tenantry.audit import chain
    from tenantry.models.tenancy import GENESIS_HASH

    config = alembic_config(empty_database)
    command.upgrade(config, "0007")
    engine = make_engine(empty_database)
    key = hashlib.sha256(b"migration test audit key").digest()
    now = datetime.now(UTC).replace(microsecond=123456)
    tid, eid, actor = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    # The canonical form of the previous release, written out by hand.
    old_form = {
        "tenant_id": str(tid),
        "seq": 1,
        "occurred_at": now.isoformat(timespec="microseconds"),
        "action": "user.create",
        "outcome": "success",
        "actor_user_id": str(actor),
        "actor_user_principal_name": "admin@contoso.example",
        "actor_tenant_id": str(tid),
        "partner_tenant_id": None,
        "relationship_id": None,
        "target": "user:x",
        "details": {"upn": "x@contoso.example"},
        "request_id": "r1",
        "client_address": "192.0.2.1",
        "prev_hash": GENESIS_HASH,
    }
    digest = hmac.new(
        key, json.dumps(old_form, sort_keys=True, separators=(",", ":")).encode(), "sha256"
    ).hexdigest()

    def bind(value: uuid.UUID) -> object:
        return value.hex if engine.dialect.name == "sqlite" else value

    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO tenants (id, name, street, city, postal_code, country, phone, "
                    "technical_contact_email, is_partner, audit_seq, audit_head_hash, "
                    "created_at, updated_at) VALUES (:id, 'Contoso', '', '', '', '', '', '', "
                    "false, 1, :head, :now, :now)"
                ),
                {"id": bind(tid), "head": digest, "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO audit_events (id, tenant_id, seq, occurred_at, action, outcome, "
                    "actor_user_id, actor_user_principal_name, actor_tenant_id, target, "
                    "details, request_id, client_address, prev_hash, hash) VALUES (:id, :tid, "
                    "1, :now, 'user.create', 'success', :actor, 'admin@contoso.example', :tid, "
                    "'user:x', :details, 'r1', '192.0.2.1', :prev, :hash)"
                ),
                {
                    "id": bind(eid),
                    "tid": bind(tid),
                    "now": now,
                    "actor": bind(actor),
                    "details": json.dumps(old_form["details"]),
                    "prev": GENESIS_HASH,
                    "hash": digest,
                },
            )
        command.upgrade(config, "head")
        with Session(engine) as session:
            assert list(chain.verify(session, key, tid)) == []
            assert session.execute(text("SELECT count(*) FROM api_clients")).scalar() == 0
    finally:
        engine.dispose()
