"""``tenantry scim token create|revoke``: the operator's provisioning tokens."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.cli.test_cli import cli_env, run
from tests.conftest import make_org
from tests.scim.helpers import Scim, error_of

__all__ = ["cli_env"]  # the fixture, used by name


def test_the_operator_makes_and_revokes_a_token(cli_env: None, client: TestClient) -> None:
    org = make_org(client)
    made = run("scim", "token", "create", org.domain, "Entra ID")
    assert made.exit_code == 0, made.output
    assert f"/scim/v2/{org.tenant_id}" in made.output
    (token,) = re.findall(r"tnryscim_\S+", made.output)
    scim = Scim(org, token)
    scim.create_user("from-cli")
    events = org.admin.get(f"{org.base}/audit-events").json()["items"]
    made_event = next(e for e in events if e["action"] == "scim_token.create")
    assert made_event["details"]["by"] == "operator" and made_event["actor"]["user_id"] is None
    again = run("scim", "token", "create", org.domain, "Entra ID")
    assert again.exit_code == 1 and "already" in again.output
    revoked = run("scim", "token", "revoke", org.tenant_id, "Entra ID")
    assert revoked.exit_code == 0, revoked.output
    error_of(scim.get("/Users", expect=401))
    missing = run("scim", "token", "revoke", org.tenant_id, "Entra ID")
    assert missing.exit_code == 1 and "no provisioning token" in missing.output
