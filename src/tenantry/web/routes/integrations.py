"""Integrations: an organisation's own OpenID Connect apps, provisioning tokens (SCIM) and
webhooks in the Admin center (/admin/{tid}/integrations), and a partner's own webhooks in the
Partner center (/partner/webhooks). The same service functions as the API, so the same
decisions: the organisation's own administrators only, never a partner on behalf of it (the
page says why instead of offering the forms). Every secret is shown once, on the page that
answers the form that made it, and never again."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from tenantry import access
from tenantry.api.schemas.scim_tokens import ScimTokenIn
from tenantry.api.schemas.services import OidcAppIn
from tenantry.api.schemas.webhooks import WebhookIn
from tenantry.billing import subscriptions as billing
from tenantry.core.context import Context
from tenantry.core.errors import InvalidInput
from tenantry.identity import oidc, relying_parties
from tenantry.models import WebhookKind
from tenantry.models.webhooks import DeliveryStatus
from tenantry.operations import webhook_endpoints as hooks
from tenantry.operations import webhooks
from tenantry.partners import enrolment as partners
from tenantry.provisioning import tokens as scim_tokens
from tenantry.web.forms import parse_form
from tenantry.web.pages import (
    Posted,
    SignedIn,
    page_tenant,
    redirect,
    render,
    render_admin,
    router,
    ticked,
)

pages = router()
PAGE = 100
DELIVERIES = 50
SECRET_NOTE = "Shown only this once: copy it now. It is never shown again; rotate it if lost."  # noqa: S105 - words


def event_choices(kind: WebhookKind) -> list[str]:
    """The events an endpoint of ``kind`` may choose, in the order they are declared."""
    allowed = webhooks.EVENTS_OF[kind]
    return [event.value for event in webhooks.EventType if event in allowed]


def _events(form: dict[str, str]) -> list[str]:
    chosen = ticked(form, "event:")
    if not chosen:
        raise InvalidInput("Choose at least one event.")
    return chosen


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _hook_values(ctx: Context, owner: hooks.Owner) -> dict[str, Any]:
    page = hooks.endpoints(ctx, owner, None, PAGE)
    return {
        "hooks": page.items,
        "hook_events": hooks.events_of(ctx, page.items),
        "event_choices": event_choices(owner.kind),
        "all_events": webhooks.ALL_EVENTS,
    }


def _made_hook(made: hooks.Made, base: str, heading: str) -> dict[str, Any]:
    return {
        "heading": heading,
        "shown": [("webhook-secret", "Signing secret", made.secret)],
        "facts": [("URL", made.endpoint.url), ("Events", ", ".join(made.events))],
        "back": f"{base}/{made.endpoint.id}",
        "back_label": "Back to the webhook",
    }


# --- the Admin center's Integrations page ---------------------------------------------------


def _base(tid: uuid.UUID) -> str:
    return f"/admin/{tid}/integrations"


@pages.get("/admin/{tid}/integrations")
def integrations(request: Request, ctx: SignedIn, tid: uuid.UUID) -> Response:
    tenant = page_tenant(ctx, tid)
    decision = access.decide(ctx, tid)
    refused = {
        "apps": relying_parties.refusal(decision),
        "tokens": scim_tokens.refusal(decision),
        "webhooks": hooks.tenant_refusal(decision),
    }
    values: dict[str, Any] = {"hooks": [], "hook_events": {}, "event_choices": []}
    if refused["webhooks"] is None:
        values = _hook_values(ctx, hooks.tenant_owner(ctx, tid))
    return render_admin(
        request,
        ctx,
        tenant,
        "admin/integrations.html",
        refused=refused,
        apps=relying_parties.tenant_apps(ctx, tid) if refused["apps"] is None else [],
        sku_names=billing.sku_names(ctx),
        tokens=(
            scim_tokens.list_tokens(ctx, tid, None, PAGE).items if refused["tokens"] is None else []
        ),
        hooks_base=f"{_base(tid)}/webhooks",
        **values,
    )


def _secret_page(
    request: Request, ctx: Context, tid: uuid.UUID, values: dict[str, Any]
) -> Response:
    return render_admin(
        request, ctx, page_tenant(ctx, tid), "admin/secret_shown.html", note=SECRET_NOTE, **values
    )


@pages.post("/admin/{tid}/integrations/apps")
def register_app(request: Request, ctx: SignedIn, tid: uuid.UUID, form: Posted) -> Response:
    page_tenant(ctx, tid)
    body = parse_form(
        form,
        OidcAppIn,
        redirect_uris=_lines(form.get("redirect_uris", "")),
        require_license=form.get("require_license") or None,
    )
    made = relying_parties.register_tenant_app(
        ctx, tid, body.name, body.redirect_uris, [], body.require_license
    )
    return _secret_page(
        request,
        ctx,
        tid,
        {
            "heading": f"{made.party.name} is registered",
            "shown": [
                ("client-id", "Client ID", made.party.client_id),
                ("client-secret", "Client secret", made.secret or ""),
            ],
            "facts": [("Issuer", oidc.issuer(ctx))],
            "back": f"{_base(tid)}#apps",
            "back_label": "Back to Integrations",
        },
    )


@pages.post("/admin/{tid}/integrations/apps/{app_id}/rotate-secret")
def rotate_app_secret(
    request: Request, ctx: SignedIn, tid: uuid.UUID, app_id: uuid.UUID, form: Posted
) -> Response:
    page_tenant(ctx, tid)
    secret = relying_parties.rotate_tenant_app_secret(ctx, tid, app_id)
    app = relying_parties.tenant_app(ctx, tid, app_id)
    return _secret_page(
        request,
        ctx,
        tid,
        {
            "heading": f"New client secret for {app.name}",
            "shown": [("client-secret", "Client secret", secret)],
            "facts": [("Client ID", app.client_id)],
            "back": f"{_base(tid)}#apps",
            "back_label": "Back to Integrations",
        },
    )


@pages.post("/admin/{tid}/integrations/apps/{app_id}/delete")
def delete_app(
    request: Request, ctx: SignedIn, tid: uuid.UUID, app_id: uuid.UUID, form: Posted
) -> Response:
    page_tenant(ctx, tid)
    name = relying_parties.tenant_app(ctx, tid, app_id).name
    relying_parties.delete_tenant_app(ctx, tid, app_id)
    return redirect(request, f"{_base(tid)}#apps", f"{name} is deleted.")


@pages.post("/admin/{tid}/integrations/scim-tokens")
def create_token(request: Request, ctx: SignedIn, tid: uuid.UUID, form: Posted) -> Response:
    page_tenant(ctx, tid)
    body = parse_form(form, ScimTokenIn)
    made = scim_tokens.create_token(ctx, tid, name=body.name)
    site = str(request.base_url).rstrip("/")  # as the API answers it
    return _secret_page(
        request,
        ctx,
        tid,
        {
            "heading": f"Provisioning token for {made.token.name}",
            "shown": [
                ("scim-base-url", "SCIM base URL", f"{site}/scim/v2/{tid}"),
                ("scim-token", "Token", made.value),
            ],
            "facts": [],
            "back": f"{_base(tid)}#tokens",
            "back_label": "Back to Integrations",
        },
    )


@pages.post("/admin/{tid}/integrations/scim-tokens/{token_id}/revoke")
def revoke_token(
    request: Request, ctx: SignedIn, tid: uuid.UUID, token_id: uuid.UUID, form: Posted
) -> Response:
    page_tenant(ctx, tid)
    scim_tokens.revoke_token(ctx, tid, token_id)
    return redirect(request, f"{_base(tid)}#tokens", "The provisioning token is revoked.")


@pages.post("/admin/{tid}/integrations/webhooks")
def create_webhook(request: Request, ctx: SignedIn, tid: uuid.UUID, form: Posted) -> Response:
    page_tenant(ctx, tid)
    owner = hooks.tenant_owner(ctx, tid)
    body = parse_form(form, WebhookIn, events=_events(form))
    made = hooks.create(ctx, owner, url=body.url, events=body.events)
    base = f"{_base(tid)}/webhooks"
    return _secret_page(request, ctx, tid, _made_hook(made, base, "The webhook is created"))


@pages.get("/admin/{tid}/integrations/webhooks/{wid}")
def webhook_page(request: Request, ctx: SignedIn, tid: uuid.UUID, wid: uuid.UUID) -> Response:
    tenant = page_tenant(ctx, tid)
    owner = hooks.tenant_owner(ctx, tid)
    values = _webhook_values(ctx, owner, wid, f"{_base(tid)}/webhooks", f"{_base(tid)}#webhooks")
    return render_admin(request, ctx, tenant, "admin/webhook.html", **values)


def _webhook_values(
    ctx: Context, owner: hooks.Owner, wid: uuid.UUID, base: str, back: str
) -> dict[str, Any]:
    endpoint = hooks.endpoint(ctx, owner, wid)
    return {
        "hook": endpoint,
        "events": hooks.events_of(ctx, [endpoint])[endpoint.id],
        "deliveries": hooks.deliveries(ctx, owner, wid, None, DELIVERIES).items,
        "pending": DeliveryStatus.PENDING,
        "hooks_base": base,
        "back": back,
    }


def _toggle(ctx: Context, owner: hooks.Owner, wid: uuid.UUID, form: dict[str, str]) -> str:
    enabled = {"enable": True, "disable": False}.get(form.get("action", ""))
    if enabled is None:
        raise InvalidInput("Choose Enable or Disable.")
    hooks.update(ctx, owner, wid, hooks.EndpointChanges(given={"enabled"}, enabled=enabled))
    return (
        "The webhook is on: new events are delivered."
        if enabled
        else ("The webhook is off: no events are delivered to it until it is on again.")
    )


@pages.post("/admin/{tid}/integrations/webhooks/{wid}")
def toggle_webhook(
    request: Request, ctx: SignedIn, tid: uuid.UUID, wid: uuid.UUID, form: Posted
) -> Response:
    page_tenant(ctx, tid)
    done = _toggle(ctx, hooks.tenant_owner(ctx, tid), wid, form)
    return redirect(request, f"{_base(tid)}/webhooks/{wid}", done)


@pages.post("/admin/{tid}/integrations/webhooks/{wid}/rotate-secret")
def rotate_webhook_secret(
    request: Request, ctx: SignedIn, tid: uuid.UUID, wid: uuid.UUID, form: Posted
) -> Response:
    page_tenant(ctx, tid)
    made = hooks.rotate_secret(ctx, hooks.tenant_owner(ctx, tid), wid)
    base = f"{_base(tid)}/webhooks"
    heading = "New signing secret (the previous one signs beside it for 24 hours)"
    return _secret_page(request, ctx, tid, _made_hook(made, base, heading))


@pages.post("/admin/{tid}/integrations/webhooks/{wid}/delete")
def delete_webhook(
    request: Request, ctx: SignedIn, tid: uuid.UUID, wid: uuid.UUID, form: Posted
) -> Response:
    page_tenant(ctx, tid)
    hooks.remove(ctx, hooks.tenant_owner(ctx, tid), wid)
    return redirect(request, f"{_base(tid)}#webhooks", "The webhook is deleted.")


@pages.post("/admin/{tid}/integrations/webhooks/{wid}/deliveries/{did}/replay")
def replay_delivery(
    request: Request,
    ctx: SignedIn,
    tid: uuid.UUID,
    wid: uuid.UUID,
    did: uuid.UUID,
    form: Posted,
) -> Response:
    page_tenant(ctx, tid)
    again = hooks.replay(ctx, hooks.tenant_owner(ctx, tid), wid, did)
    return redirect(
        request,
        f"{_base(tid)}/webhooks/{wid}",
        f"{again.event_type} ({again.message_id}) is sent again as a new delivery.",
    )


# --- the Partner center's Webhooks page -----------------------------------------------------

PARTNER_BASE = "/partner/webhooks"


def _partner(request: Request, ctx: Context, template: str, **values: Any) -> Response:
    return render(
        request,
        ctx,
        template,
        partner=partners.require_partner(ctx, None),
        section=template.split("/")[-1].removesuffix(".html"),
        **values,
    )


@pages.get("/partner/webhooks")
def partner_webhooks(request: Request, ctx: SignedIn) -> Response:
    owner = hooks.partner_owner(ctx)
    return _partner(
        request, ctx, "partner/webhooks.html", hooks_base=PARTNER_BASE, **_hook_values(ctx, owner)
    )


@pages.post("/partner/webhooks")
def create_partner_webhook(request: Request, ctx: SignedIn, form: Posted) -> Response:
    owner = hooks.partner_owner(ctx)
    body = parse_form(form, WebhookIn, events=_events(form))
    made = hooks.create(ctx, owner, url=body.url, events=body.events)
    values = _made_hook(made, PARTNER_BASE, "The webhook is created")
    return _partner(request, ctx, "partner/secret_shown.html", note=SECRET_NOTE, **values)


@pages.get("/partner/webhooks/{wid}")
def partner_webhook(request: Request, ctx: SignedIn, wid: uuid.UUID) -> Response:
    owner = hooks.partner_owner(ctx)
    values = _webhook_values(ctx, owner, wid, PARTNER_BASE, PARTNER_BASE)
    return _partner(request, ctx, "partner/webhook.html", **values)


@pages.post("/partner/webhooks/{wid}")
def toggle_partner_webhook(
    request: Request, ctx: SignedIn, wid: uuid.UUID, form: Posted
) -> Response:
    done = _toggle(ctx, hooks.partner_owner(ctx), wid, form)
    return redirect(request, f"{PARTNER_BASE}/{wid}", done)


@pages.post("/partner/webhooks/{wid}/rotate-secret")
def rotate_partner_webhook_secret(
    request: Request, ctx: SignedIn, wid: uuid.UUID, form: Posted
) -> Response:
    made = hooks.rotate_secret(ctx, hooks.partner_owner(ctx), wid)
    heading = "New signing secret (the previous one signs beside it for 24 hours)"
    values = _made_hook(made, PARTNER_BASE, heading)
    return _partner(request, ctx, "partner/secret_shown.html", note=SECRET_NOTE, **values)


@pages.post("/partner/webhooks/{wid}/delete")
def delete_partner_webhook(
    request: Request, ctx: SignedIn, wid: uuid.UUID, form: Posted
) -> Response:
    hooks.remove(ctx, hooks.partner_owner(ctx), wid)
    return redirect(request, PARTNER_BASE, "The webhook is deleted.")


@pages.post("/partner/webhooks/{wid}/deliveries/{did}/replay")
def replay_partner_delivery(
    request: Request, ctx: SignedIn, wid: uuid.UUID, did: uuid.UUID, form: Posted
) -> Response:
    again = hooks.replay(ctx, hooks.partner_owner(ctx), wid, did)
    return redirect(
        request,
        f"{PARTNER_BASE}/{wid}",
        f"{again.event_type} ({again.message_id}) is sent again as a new delivery.",
    )
