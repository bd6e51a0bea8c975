"""Services that sign people in with Tenantry (OpenID Connect), registered by the operator,
and the provider's signing keys."""

from __future__ import annotations

from typing import Annotated

import typer

from tenantry.cli.base import friendly, group, operator_context, out
from tenantry.identity import relying_parties, signing_keys

service_app = group("service", "Services that sign people in with Tenantry (OpenID Connect).")
oidc_app = group("oidc", "The OpenID Connect provider's signing keys.")


@service_app.command("register")
@friendly
def register(
    name: Annotated[str, typer.Argument(help="The service's name (also its health entry)")],
    redirect_uri: Annotated[
        list[str], typer.Option("--redirect-uri", help="Where sign-ins return (repeatable)")
    ],
    post_logout_redirect_uri: Annotated[
        list[str] | None,
        typer.Option("--post-logout-redirect-uri", help="Where sign-outs return (repeatable)"),
    ] = None,
    require_license: Annotated[
        str | None,
        typer.Option("--require-license", help="A SKU id or service plan users must hold"),
    ] = None,
    public: Annotated[
        bool, typer.Option("--public", help="A public client: no secret, PKCE only")
    ] = False,
) -> None:
    """Register a platform service; prints its client_id and its secret (shown once)."""
    with operator_context() as ctx:
        made = relying_parties.register_platform_service(
            ctx, name, redirect_uri, post_logout_redirect_uri or [], require_license, public
        )
        out.print(f"client_id: {made.party.client_id}", highlight=False)
        if made.secret:
            out.print(f"client_secret: {made.secret}", highlight=False)
            out.print("Keep the secret now: it is not shown again.", highlight=False)
        out.print(f"service id (health): {made.party.service_id}", highlight=False)


@service_app.command("list")
@friendly
def list_services() -> None:
    """Every platform service: name, client_id, enabled, licence required, redirect URIs."""
    with operator_context() as ctx:
        for row in relying_parties.platform_services(ctx):
            state = f"enabled={'yes' if row.enabled else 'no'}"
            licence = f" licence={row.required_license}" if row.required_license else ""
            out.print(
                f"{row.name}\t{row.client_id}\t{state}\tservice={row.service_id}{licence}\t"
                + " ".join(row.redirect_uris),
                highlight=False,
            )


@service_app.command("rotate-secret")
@friendly
def rotate_secret(
    service: Annotated[str, typer.Argument(help="Name or client_id")],
) -> None:
    """A new secret (shown once); the old one stops working at once."""
    with operator_context() as ctx:
        row = relying_parties.platform_service(ctx, service)
        secret = relying_parties.rotate_secret(ctx, row)
        out.print(f"client_secret: {secret}", highlight=False)


@service_app.command("disable")
@friendly
def disable(service: Annotated[str, typer.Argument(help="Name or client_id")]) -> None:
    """No more sign-ins, tokens or refreshes for this service."""
    with operator_context() as ctx:
        row = relying_parties.platform_service(ctx, service)
        relying_parties.set_enabled(ctx, row, False)
        out.print(f"{row.name}: disabled", highlight=False)


@oidc_app.command("rotate-keys")
@friendly
def rotate_keys() -> None:
    """A new signing key signs from now on; the one it replaces stays in the JWKS (tokens it
    signed still validate); older ones are retired."""
    with operator_context() as ctx:
        new, retired = signing_keys.rotate(ctx.session, ctx.settings, ctx.now)
        out.print(f"signing key: {new.kid}", highlight=False)
        for kid in retired:
            out.print(f"retired: {kid}", highlight=False)
