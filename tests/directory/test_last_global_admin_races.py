"""The last enabled Global Administrator survives administrators removing each other at once.

Counting the administrators after a change is a check, then a write: on PostgreSQL every
request of a ring (each administrator removes the next one) passes it unless the removals
queue (``role_assignments.lock_global_admins``). Every way of removing one is attacked; the
invariant is checked after each round, on both databases."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tenantry.access.roles import Role
from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.directory.role_assignments import global_admin_ids
from tests.conftest import Api, FakeClock, Org, make_org, make_partner, sign_in

RING = 20
ROUNDS = 2
# A removal succeeds (200/204), is refused as the last one (409), or comes from an
# administrator already removed (401: its tokens ended; 403: its role is gone). Never a 500.
ALLOWED = {200, 204, 401, 403, 409}
GA = Role.GLOBAL_ADMINISTRATOR.value


@dataclass
class Ring:
    tenant_id: str
    admins: list[Api]
    # remove(admin, i): the admin removes the i-th administrator's hold on the role.
    remove: Callable[[Api, int], int]


def run_ring(ring: Ring, sessions: sessionmaker[Session], settings: Settings) -> list[int]:
    count = len(ring.admins)
    with ThreadPoolExecutor(max_workers=count) as pool:
        codes = list(pool.map(lambda i: ring.remove(ring.admins[i], (i + 1) % count), range(count)))
    with sessions() as session:
        left = global_admin_ids(
            Context(session=session, settings=settings), uuid.UUID(ring.tenant_id)
        )
    assert left, f"no enabled Global Administrator is left: {codes}"
    assert set(codes) <= ALLOWED, codes
    return codes


def direct_admins(org: Org) -> tuple[list[str], list[Api]]:
    ids = [org.admin_id] + [
        org.create_user(roles=(Role.GLOBAL_ADMINISTRATOR,)) for _ in range(RING - 1)
    ]
    return ids, [org.admin] + [sign_in(org.client, org.users[uid]) for uid in ids[1:]]


def drop_direct_role(org: Org, user_id: str) -> None:
    found = org.admin.get(f"{org.base}/role-assignments?user_id={user_id}").json()["items"]
    org.admin.delete(f"{org.base}/role-assignments/{found[0]['id']}")


def status(response: object) -> int:
    return int(response.status_code)  # type: ignore[attr-defined]


def test_administrators_disabling_each_other_leave_one(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    for _ in range(ROUNDS):
        org = make_org(client)
        ids, admins = direct_admins(org)
        run_ring(
            Ring(
                org.tenant_id,
                admins,
                lambda api, i, org=org, ids=ids: status(
                    api.patch(f"{org.base}/users/{ids[i]}", {"enabled": False}, expect=None)
                ),
            ),
            sessions,
            settings,
        )


def test_administrators_deleting_each_other_leave_one(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    for _ in range(ROUNDS):
        org = make_org(client)
        ids, admins = direct_admins(org)
        run_ring(
            Ring(
                org.tenant_id,
                admins,
                lambda api, i, org=org, ids=ids: status(
                    api.delete(f"{org.base}/users/{ids[i]}", expect=None)
                ),
            ),
            sessions,
            settings,
        )


def test_administrators_unassigning_each_other_leave_one(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    for _ in range(ROUNDS):
        org = make_org(client)
        ids, admins = direct_admins(org)
        aids = [
            org.admin.get(f"{org.base}/role-assignments?user_id={uid}").json()["items"][0]["id"]
            for uid in ids
        ]
        run_ring(
            Ring(
                org.tenant_id,
                admins,
                lambda api, i, org=org, aids=aids: status(
                    api.delete(f"{org.base}/role-assignments/{aids[i]}", expect=None)
                ),
            ),
            sessions,
            settings,
        )


def group_admins(org: Org) -> tuple[list[str], list[Api], str]:
    """RING administrators held through one group 'Admins' (none directly)."""
    gid = org.admin.post(f"{org.base}/groups", {"name": "Admins"}, expect=201).json()["id"]
    org.admin.post(f"{org.base}/role-assignments", {"role": GA, "group_id": gid}, expect=201)
    ids = [org.admin_id] + [org.create_user() for _ in range(RING - 1)]
    for uid in ids:
        org.admin.post(f"{org.base}/groups/{gid}/members", {"user_id": uid}, expect=201)
    drop_direct_role(org, org.admin_id)
    return ids, [org.admin] + [sign_in(org.client, org.users[uid]) for uid in ids[1:]], gid


def test_administrators_removing_each_other_from_the_admin_group_leave_one(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    for _ in range(ROUNDS):
        org = make_org(client)
        ids, admins, gid = group_admins(org)
        run_ring(
            Ring(
                org.tenant_id,
                admins,
                lambda api, i, org=org, ids=ids, gid=gid: status(
                    api.delete(f"{org.base}/groups/{gid}/members/{ids[i]}", expect=None)
                ),
            ),
            sessions,
            settings,
        )


def one_group_each(org: Org) -> tuple[list[str], list[str], list[Api]]:
    """RING administrators, each held through a group of its own: (groups, their role
    assignments, the administrators)."""
    ids = [org.admin_id] + [org.create_user() for _ in range(RING - 1)]
    gids, aids = [], []
    for n, uid in enumerate(ids):
        gid = org.admin.post(f"{org.base}/groups", {"name": f"Admins {n}"}, expect=201).json()["id"]
        aid = org.admin.post(
            f"{org.base}/role-assignments", {"role": GA, "group_id": gid}, expect=201
        ).json()["id"]
        org.admin.post(f"{org.base}/groups/{gid}/members", {"user_id": uid}, expect=201)
        gids.append(gid)
        aids.append(aid)
    drop_direct_role(org, org.admin_id)
    return gids, aids, [org.admin] + [sign_in(org.client, org.users[uid]) for uid in ids[1:]]


def test_administrators_deleting_each_others_groups_leave_one(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    for _ in range(ROUNDS):
        org = make_org(client)
        gids, _, admins = one_group_each(org)
        run_ring(
            Ring(
                org.tenant_id,
                admins,
                lambda api, i, org=org, gids=gids: status(
                    api.delete(f"{org.base}/groups/{gids[i]}", expect=None)
                ),
            ),
            sessions,
            settings,
        )


def test_administrators_unassigning_each_others_group_role_leave_one(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    for _ in range(ROUNDS):
        org = make_org(client)
        _, aids, admins = one_group_each(org)
        run_ring(
            Ring(
                org.tenant_id,
                admins,
                lambda api, i, org=org, aids=aids: status(
                    api.delete(f"{org.base}/role-assignments/{aids[i]}", expect=None)
                ),
            ),
            sessions,
            settings,
        )


def test_full_agents_demoting_each_other_leave_the_partner_one(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, clock: FakeClock
) -> None:
    """A partner whose Admin agents group holds Global Administrator at home: its Full
    agents setting each other to no administration keep one."""
    for _ in range(ROUNDS):
        partner = make_partner(client, sessions, settings, clock)
        org = partner.org
        groups = org.admin.get(f"{org.base}/groups").json()["items"]
        gid = next(g["id"] for g in groups if g["name"] == "Admin agents")
        org.admin.post(f"{org.base}/role-assignments", {"role": GA, "group_id": gid}, expect=201)
        ids = [org.create_user() for _ in range(RING)]
        for uid in ids:
            org.admin.request("PUT", f"/partner/agents/{uid}", 200, json={"access": "full"})
        drop_direct_role(org, org.admin_id)
        agents = [sign_in(client, org.users[uid]) for uid in ids]
        run_ring(
            Ring(
                org.tenant_id,
                agents,
                lambda api, i, ids=ids: status(
                    api.request("PUT", f"/partner/agents/{ids[i]}", json={"access": "none"})
                ),
            ),
            sessions,
            settings,
        )
