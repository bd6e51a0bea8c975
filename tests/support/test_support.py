"""Service health, service requests with comments, and devices."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from tenantry.access.roles import Role
from tenantry.core.context import Context
from tenantry.support import health
from tests.conftest import Org


def test_health_lists_every_service_with_operator_messages(
    org: Org, sessions: sessionmaker[Session], settings
) -> None:
    with sessions.begin() as session:
        health.set_status(
            Context(session=session, settings=settings),
            "mail",
            "degraded",
            "Delays for external recipients",
        )
    services = {s["id"]: s for s in org.admin.get(f"{org.base}/health").json()["services"]}
    assert {"directory", "mail", "files", "device_management"} <= set(services)
    assert services["mail"]["status"] == "degraded"
    assert services["mail"]["messages"][0]["message"] == "Delays for external recipients"
    with sessions.begin() as session:
        health.set_status(Context(session=session, settings=settings), "Mail", "healthy", None)
    support = org.user_api((Role.SERVICE_SUPPORT_ADMINISTRATOR,))
    assert support.get(f"{org.base}/health").status_code == 200


def test_service_request_lifecycle(org: Org) -> None:
    base = f"{org.base}/service-requests"
    created = org.admin.post(
        base, {"title": "Mail is slow", "description": "Since 9am", "severity": "high"}, expect=201
    ).json()
    assert (created["status"], created["severity"]) == ("open", "high")
    assert created["created_by_user_id"] == org.admin_id
    rid = created["id"]
    assert org.admin.get(f"{base}/{rid}").json()["title"] == "Mail is slow"
    comment = org.admin.post(f"{base}/{rid}/comments", {"body": "Still slow"}, expect=201).json()
    assert comment["author_user_principal_name"] == org.admin_upn
    assert [c["body"] for c in org.admin.get(f"{base}/{rid}/comments").json()["items"]] == [
        "Still slow"
    ]
    closed = org.admin.patch(f"{base}/{rid}", {"status": "resolved"}).json()
    assert closed["status"] == "resolved"
    assert [r["id"] for r in org.admin.get(f"{base}?status=resolved").json()["items"]] == [rid]
    assert org.admin.get(f"{base}?status=open").json()["items"] == []
    org.admin.post(base, {"title": "", "description": "x"}, expect=422)
    org.admin.post(base, {"title": "x", "description": "y", "severity": "urgent"}, expect=422)
    org.admin.patch(f"{base}/{rid}", {"status": "exploded"}, expect=422)
    org.admin.post(f"{base}/{rid}/comments", {"body": ""}, expect=422)


def test_devices(org: Org, other_org: Org) -> None:
    base = f"{org.base}/devices"
    device = org.admin.post(
        base,
        {"name": "LAPTOP-01", "platform": "windows", "owner_user_id": org.admin_id},
        expect=201,
    ).json()
    assert device["owner_user_id"] == org.admin_id
    assert org.admin.get(f"{base}/{device['id']}").json()["name"] == "LAPTOP-01"
    org.admin.post(base, {"name": "X", "platform": "amiga"}, expect=422)
    org.admin.post(
        base, {"name": "X", "platform": "linux", "owner_user_id": other_org.admin_id}, expect=404
    )
    renamed = org.admin.patch(f"{base}/{device['id']}", {"name": "LAPTOP-02"}).json()
    assert renamed["name"] == "LAPTOP-02"
    devices = org.user_api((Role.DEVICE_ADMINISTRATOR,))
    assert [d["id"] for d in devices.get(base).json()["items"]] == [device["id"]]
    devices.delete(f"{base}/{device['id']}")
    org.admin.get(f"{base}/{device['id']}", expect=404)


def test_text_no_database_can_store_is_422_not_500(org: Org) -> None:
    """Found by schemathesis: a NUL byte reached PostgreSQL and came back as a 500."""
    org.admin.post(
        f"{org.base}/service-requests", {"title": "\x00", "description": "x"}, expect=422
    )
    org.admin.get(f"{org.base}/users?search=%00", expect=422)
    org.admin.get(f"{org.base}/users?search=%ff", expect=422)
    org.admin.get(f"{org.base}/domains/a%00b", expect=422)
