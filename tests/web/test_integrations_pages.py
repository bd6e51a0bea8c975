"""The Integrations page of the Admin center (apps, provisioning tokens, webhooks) and the
Partner center's Webhooks page, without a browser: forms with their CSRF token, each secret
shown once on the page answering the form and never again, refusals in words (a User
Administrator, a partner on behalf, a partner's agent); then one Chromium run that creates a
webhook, copies its secret and sees a delivery after a user is created and the sweeper runs."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session, sessionmaker

from tenantry.access.roles import Role
from tenantry.core.config import Settings
from tenantry.operations import webhooks
from tenantry.web import session as web_session
from tests.conftest import Agent, Api, FakeClock, Org, Partner, accepted
from tests.dns_server import LoopbackDns
from tests.web.browsing import nav, sign_in
from tests.web.conftest import demo_server
from tests.web.test_quality import check_page
from tests.webhooks.receiver import receiving

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SHOWN = re.compile(r'<input id="{}" readonly value="([^"]+)"')
ON_BEHALF = "never on behalf of it"


class Web:
    """A browser without a browser: one signed-in web session (the API token as the session
    cookie), posting forms with the page's CSRF token."""

    def __init__(self, app: Any, api: Api) -> None:
        self.client = TestClient(app, follow_redirects=False)
        self.client.cookies.set(web_session.SESSION_COOKIE, str(api.token))

    def get(self, path: str, status: int = 200) -> str:
        response = self.client.get(path)
        assert response.status_code == status, response.text
        return str(response.text)

    def post(self, path: str, form: dict[str, str], *, page: str, csrf: bool = True) -> Any:
        token = CSRF.search(self.get(page))
        assert token, f"no CSRF token on {page}"
        data = {**form, "csrf_token": token.group(1)} if csrf else form
        return self.client.post(path, data=data, headers={"Referer": page})

    def flashed(self, response: Any) -> str:
        """The page a redirect leads to, with its message on top."""
        assert response.status_code == 303, response.text
        return self.get(response.headers["location"].split("#")[0])


def shown(page: str, field: str) -> str:
    found = re.search(SHOWN.pattern.format(field), page)
    assert found, f"{field} is not shown"
    return found.group(1)


@pytest.fixture(autouse=True)
def _allow_loopback(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback http receivers, as an operator allows them (tests/webhooks/conftest.py)."""
    monkeypatch.setattr(app.state.settings, "webhooks_allow_private_networks", True)
    monkeypatch.setattr(app.state.settings, "webhooks_allow_http", True)


def test_apps_and_provisioning_tokens_show_their_secret_once(app: Any, org: Org) -> None:
    web, page = Web(app, org.admin), f"/admin/{org.tenant_id}/integrations"
    listed = web.get(page)
    assert 'aria-current="page">Integrations' in listed
    assert f'action="{page}/apps"' in listed and f'action="{page}/scim-tokens"' in listed

    made = web.post(
        f"{page}/apps",
        {"name": "Intranet", "redirect_uris": "https://intranet.example.com/cb\n"},
        page=page,
    )
    assert made.status_code == 200, made.text
    secret, client_id = shown(made.text, "client-secret"), shown(made.text, "client-id")
    assert "Shown only this once" in made.text
    listed = web.get(page)
    assert "Intranet" in listed and client_id in listed and secret not in listed
    (app_row,) = org.admin.get(f"{org.base}/oidc-apps").json()["items"]
    assert app_row["redirect_uris"] == ["https://intranet.example.com/cb"]

    rotated = web.post(f"{page}/apps/{app_row['id']}/rotate-secret", {}, page=page)
    new_secret = shown(rotated.text, "client-secret")
    assert new_secret != secret and new_secret not in web.get(page)
    assert "Intranet is deleted." in web.flashed(
        web.post(f"{page}/apps/{app_row['id']}/delete", {}, page=page)
    )
    assert org.admin.get(f"{org.base}/oidc-apps").json()["items"] == []

    made = web.post(f"{page}/scim-tokens", {"name": "Okta"}, page=page)
    assert made.status_code == 200, made.text
    token = shown(made.text, "scim-token")
    assert shown(made.text, "scim-base-url").endswith(f"/scim/v2/{org.tenant_id}")
    listed = web.get(page)
    assert "Okta" in listed and token not in listed
    # The token works at the SCIM endpoint, and the list shows when it was last used.
    scim = org.client.get(
        f"/scim/v2/{org.tenant_id}/Users", headers={"Authorization": f"Bearer {token}"}
    )
    assert scim.status_code == 200, scim.text
    (row,) = org.admin.get(f"{org.base}/scim-tokens").json()["items"]
    assert row["last_used_at"] is not None
    revoked = web.post(f"{page}/scim-tokens/{row['id']}/revoke", {}, page=page)
    assert "The provisioning token is revoked." in web.flashed(revoked)
    assert org.admin.get(f"{org.base}/scim-tokens").json()["items"] == []


def test_a_form_without_its_csrf_token_is_refused_and_writes_nothing(app: Any, org: Org) -> None:
    web, page = Web(app, org.admin), f"/admin/{org.tenant_id}/integrations"
    for path, form in [
        (f"{page}/apps", {"name": "X", "redirect_uris": "https://x.example.com/cb"}),
        (f"{page}/scim-tokens", {"name": "Okta"}),
        (f"{page}/webhooks", {"url": "http://127.0.0.1:9/h", "event:user.created": "on"}),
    ]:
        refused = web.post(path, form, page=page, csrf=False)
        assert "This form has expired" in web.flashed(refused), path
    assert org.admin.get(f"{org.base}/oidc-apps").json()["items"] == []
    assert org.admin.get(f"{org.base}/scim-tokens").json()["items"] == []
    assert org.admin.get(f"{org.base}/webhooks").json()["items"] == []


def test_webhooks_secret_once_deliveries_and_replay(
    app: Any,
    org: Org,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    web, page = Web(app, org.admin), f"/admin/{org.tenant_id}/integrations"
    listed = web.get(page)
    assert "<h4>Add a webhook</h4>" in listed  # under the section's h3
    for event in ("user.created", "relationship.accepted", "license.assigned"):
        assert f'name="event:{event}"' in listed
    no_event = web.post(f"{page}/webhooks", {"url": "https://hooks.example.com/x"}, page=page)
    assert "Choose at least one event." in web.flashed(no_event)

    with receiving() as receiver:
        form = {"url": receiver.url, "event:user.created": "on", "event:user.deleted": "on"}
        made = web.post(f"{page}/webhooks", form, page=page)
        assert made.status_code == 200, made.text
        secret = shown(made.text, "webhook-secret")
        assert secret.startswith("whsec_")
        listed = web.get(page)
        assert receiver.url in listed and secret not in listed
        (hook,) = org.admin.get(f"{org.base}/webhooks").json()["items"]
        assert hook["events"] == ["user.created", "user.deleted"]
        hook_page = f"{page}/webhooks/{hook['id']}"
        assert "No deliveries yet." in web.get(hook_page)

        org.create_user("hooked")
        allowed = settings.model_copy(
            update={"webhooks_allow_private_networks": True, "webhooks_allow_http": True}
        )
        assert webhooks.deliver_pending(sessions, allowed, clock()) == 1
        (received,) = receiver.received
        assert received.verify(secret)["type"] == "user.created"
        shown_hook = web.get(hook_page)
        assert secret not in shown_hook
        assert "user.created" in shown_hook and "delivered" in shown_hook
        assert "HTTP 204" in shown_hook

        (delivery,) = org.admin.get(f"{org.base}/webhooks/{hook['id']}/deliveries").json()["items"]
        replayed = web.post(f"{hook_page}/deliveries/{delivery['id']}/replay", {}, page=hook_page)
        assert "is sent again as a new delivery" in web.flashed(replayed)
        again = org.admin.get(f"{org.base}/webhooks/{hook['id']}/deliveries").json()["items"]
        assert [d["replay_of"] for d in again] == [delivery["id"], None]

    off = web.post(hook_page, {"action": "disable"}, page=hook_page)
    assert "The webhook is off" in web.flashed(off)
    assert org.admin.get(f"{org.base}/webhooks/{hook['id']}").json()["enabled"] is False
    on = web.post(hook_page, {"action": "enable"}, page=hook_page)
    assert "The webhook is on" in web.flashed(on)
    rotated = web.post(f"{hook_page}/rotate-secret", {}, page=hook_page)
    new_secret = shown(rotated.text, "webhook-secret")
    assert new_secret != secret and new_secret not in web.get(hook_page)
    deleted = web.post(f"{hook_page}/delete", {}, page=hook_page)
    assert "The webhook is deleted." in web.flashed(deleted)
    assert org.admin.get(f"{org.base}/webhooks").json()["items"] == []


def test_a_user_administrator_is_told_why_and_offered_no_form(app: Any, org: Org) -> None:
    admin = org.user_api((Role.USER_ADMINISTRATOR,))
    web, page = Web(app, admin), f"/admin/{org.tenant_id}/integrations"
    shown_page = web.get(page)
    assert "You can't manage apps here." in shown_page
    assert "You can't manage provisioning tokens here." in shown_page
    assert "You can't manage webhooks here." in shown_page
    assert "<form" not in shown_page.split('id="apps"')[1]
    assert ">Integrations</a>" not in shown_page  # not in the navigation either
    refused = web.post(f"{page}/scim-tokens", {"name": "Okta"}, page=page)
    assert "Denied" in web.flashed(refused)
    web.get(f"{page}/webhooks/00000000-0000-4000-8000-000000000000", status=403)
    assert org.admin.get(f"{org.base}/scim-tokens").json()["items"] == []


def test_a_partner_on_behalf_is_told_why_and_offered_no_form(
    app: Any, org: Org, partner: Partner
) -> None:
    accepted(partner, org)
    agent = Agent(partner)
    web, page = Web(app, agent.api), f"/admin/{org.tenant_id}/integrations"
    shown_page = web.get(page)
    assert "on behalf of" in shown_page  # the banner
    assert shown_page.count(ON_BEHALF) == 3, shown_page
    assert "<form" not in shown_page.split('id="apps"')[1]
    form = {"url": "https://hooks.example.com/x", "event:user.created": "on"}
    refused = web.post(f"{page}/webhooks", form, page=page)
    assert ON_BEHALF in web.flashed(refused)
    assert org.admin.get(f"{org.base}/webhooks").json()["items"] == []


def test_the_partner_center_offers_only_partner_events(
    app: Any, partner: Partner, clock: FakeClock
) -> None:
    web, page = Web(app, partner.admin), "/partner/webhooks"
    listed = web.get(page)
    assert 'aria-current="page">Webhooks' in listed and "<h3>Add a webhook</h3>" in listed
    assert 'name="event:relationship.accepted"' in listed
    assert 'name="event:activation.started"' in listed
    assert "user.created" not in listed and "license.assigned" not in listed
    foreign = web.post(
        page, {"url": "https://hooks.example.com/p", "event:user.created": "on"}, page=page
    )
    assert "user.created" in web.flashed(foreign)
    made = web.post(
        page, {"url": "https://hooks.example.com/p", "event:relationship.accepted": "on"}, page=page
    )
    assert made.status_code == 200, made.text
    secret = shown(made.text, "webhook-secret")
    listed = web.get(page)
    assert "https://hooks.example.com/p" in listed and secret not in listed
    (hook,) = partner.admin.get("/partner/webhooks").json()["items"]
    assert "No deliveries yet." in web.get(f"{page}/{hook['id']}")
    # A partner's agent is not one of its administrators.
    agent = Web(app, Agent(partner).api)
    assert "partner.manage" in agent.get(page, status=403)


# --- in Chromium ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def webhook_server(
    backend: str, dns: LoopbackDns, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The demo platform whose sweeper runs every second and may deliver to loopback http."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TENANTRY_JOBS_INTERVAL_SECONDS", "1")
        patch.setenv("TENANTRY_WEBHOOKS_ALLOW_PRIVATE_NETWORKS", "1")
        patch.setenv("TENANTRY_WEBHOOKS_ALLOW_HTTP", "1")
        with demo_server(backend, dns, tmp_path_factory.mktemp("web-hooks")) as base:
            yield base


@pytest.mark.slow
def test_a_webhook_made_in_the_browser_receives_a_user_created(
    webhook_server: str, page: Page, shots: Any
) -> None:
    base, violations = webhook_server, []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    sign_in(page, base, "admin@adatum")
    nav(page, "Integrations")
    integrations = page.url
    check_page(page, integrations, violations)
    with receiving() as receiver:
        page.get_by_label("URL (https) that receives the events").fill(receiver.url)
        page.get_by_label("user.created", exact=True).check()
        page.get_by_role("button", name="Create webhook").click()
        secret = page.get_by_label("Signing secret", exact=True).input_value()
        assert secret.startswith("whsec_")
        page.get_by_role("link", name="Back to the webhook").click()
        hook = page.url
        expect(page.get_by_text("No deliveries yet.")).to_be_visible()
        assert secret not in page.content()

        admin_home = integrations.removesuffix("/integrations")
        page.goto(f"{admin_home}/users/new")
        page.get_by_label("Display name").fill("Hooked Person")
        page.get_by_label("User name").fill("hooked@adatum.tenantry.test")
        page.get_by_role("button", name="Create user").click()
        expect(page.get_by_role("heading", name="Hooked Person is created")).to_be_visible()

        deadline = time.monotonic() + 30
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.2)
        assert receiver.types() == ["user.created"]
        assert receiver.received[0].verify(secret)["data"]
        page.goto(hook)
        row = page.locator("tbody tr").first
        expect(row).to_contain_text("user.created")
        expect(row).to_contain_text("delivered")
        expect(row.get_by_role("button", name=re.compile("^Replay"))).to_be_visible()
        assert secret not in page.content()
    page.goto(integrations)
    expect(page.get_by_role("link", name=receiver.url)).to_be_visible()
    shots(page, "admin-integrations")
    assert violations == []
