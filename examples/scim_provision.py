"""Provision users and groups from a CSV file into a Tenantry organisation by SCIM 2.0, the way
an identity system does it: scim2-client (over httpx2) with the models it discovers from the
server's /Schemas and /ResourceTypes (scim2-models).

    python examples/scim_provision.py --url https://tenantry.example/scim/v2/<tenant id> \\
        --token "$TENANTRY_SCIM_TOKEN" people.csv

The CSV has a header row: userName, displayName, email, externalId, groups (group names
separated by ';'). Running it again updates what changed: a user found by its userName is
updated (displayName, emails, externalId), a group found by its displayName gets the missing
members. It prints one line per change and exits 1 if any row was refused (the server's SCIM
Error says why: a privileged user or group, for example, is not changed by provisioning).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path
from typing import Any

import httpx2
from scim2_client import SCIMClientException
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import (
    Error,
    ListResponse,
    PatchOp,
    PatchOperation,
    SCIMException,
    SearchRequest,
)


def connect(url: str, token: str) -> SyncSCIMClient:
    http = httpx2.Client(
        base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    client = SyncSCIMClient(http)
    client.discover()
    return client


def model(client: SyncSCIMClient, name: str) -> Any:
    found = client.get_resource_model(name)
    if found is None:
        raise SystemExit(f"The server serves no {name} resources.")
    return found


def find(client: SyncSCIMClient, kind: Any, attribute: str, value: str) -> Any | None:
    """The one resource whose ``attribute`` equals ``value`` (a quoted filter value)."""
    search = SearchRequest(filter=f"{attribute} eq {_quote(value)}", count=1)
    found = client.query(kind, query_parameters=search)
    if isinstance(found, ListResponse) and found.resources:
        return found.resources[0]
    return None


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _replace(path: str, value: Any) -> PatchOperation[Any]:
    return PatchOperation(op=PatchOperation.Op.replace_, path=path, value=value)


def provision_user(client: SyncSCIMClient, row: dict[str, str], say: Any) -> str:
    """The user's id, created or brought up to date."""
    User = model(client, "User")
    emails = [{"value": row["email"], "type": "work", "primary": True}] if row.get("email") else []
    existing = find(client, User, "userName", row["userName"])
    if existing is None:
        user = User.model_validate(
            {
                "userName": row["userName"],
                "displayName": row.get("displayName") or row["userName"],
                "active": True,
                "externalId": row.get("externalId") or None,
                "emails": emails or None,
            }
        )
        created = client.create(user)
        say(f"created user {row['userName']} ({created.id})")
        return str(created.id)
    operations = []
    if row.get("displayName") and existing.display_name != row["displayName"]:
        operations.append(_replace("displayName", row["displayName"]))
    if row.get("externalId") and existing.external_id != row["externalId"]:
        operations.append(_replace("externalId", row["externalId"]))
    have = [str(e.value) for e in existing.emails or []]
    if emails and have != [row["email"]]:
        operations.append(_replace("emails", emails))
    if operations:
        client.modify(User, existing.id, PatchOp[User](operations=operations))
        say(f"updated user {row['userName']}")
    return str(existing.id)


def provision_group(client: SyncSCIMClient, name: str, members: list[str], say: Any) -> None:
    Group = model(client, "Group")
    existing = find(client, Group, "displayName", name)
    if existing is None:
        created = client.create(
            Group.model_validate({"displayName": name, "members": [{"value": m} for m in members]})
        )
        say(f"created group {name} ({created.id}) with {len(members)} members")
        return
    have = {str(m.value) for m in existing.members or []}
    missing = [m for m in members if m not in have]
    if missing:
        operation = PatchOperation(
            op=PatchOperation.Op.add, path="members", value=[{"value": m} for m in missing]
        )
        client.modify(Group, existing.id, PatchOp[Group](operations=[operation]))
        say(f"added {len(missing)} members to group {name}")


def provision(client: SyncSCIMClient, rows: list[dict[str, str]], say: Any = print) -> int:
    """Provision every row; the number of rows (or groups) refused."""
    refused = 0
    groups: dict[str, list[str]] = {}
    for row in rows:
        try:
            user_id = provision_user(client, row, say)
        except (SCIMClientException, SCIMException) as exc:
            refused += 1
            say(f"refused {row.get('userName')}: {_why(exc)}")
            continue
        for name in filter(None, (g.strip() for g in (row.get("groups") or "").split(";"))):
            groups.setdefault(name, []).append(user_id)
    for name, members in groups.items():
        try:
            provision_group(client, name, members, say)
        except (SCIMClientException, SCIMException) as exc:
            refused += 1
            say(f"refused group {name}: {_why(exc)}")
    return refused


def _why(exc: Exception) -> str:
    source = getattr(exc, "source", None)
    if isinstance(source, Error):
        return f"{source.status} {source.scim_type or ''} {source.detail}".strip()
    try:
        body = source.json() if source is not None else None
    except Exception:
        body = None
    if isinstance(body, dict) and body.get("detail"):
        return f"{body.get('status')} {body.get('scimType') or ''} {body['detail']}".strip()
    return str(exc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, help="userName,displayName,email,externalId,groups")
    parser.add_argument("--url", required=True, help="The SCIM base URL: .../scim/v2/<tenant>")
    parser.add_argument(
        "--token",
        default=os.environ.get("TENANTRY_SCIM_TOKEN"),
        help="A provisioning token (or TENANTRY_SCIM_TOKEN)",
    )
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("give --token or set TENANTRY_SCIM_TOKEN")
    with args.csv.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    refused = provision(connect(args.url, args.token), rows)
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
