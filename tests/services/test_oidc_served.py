"""Issue 13's done-when for OpenID Connect, end to end against a running `tenantry serve` (both
databases): a service registered with the operator's CLI; an independent relying party
(Authlib's OAuth2Client) completes code + PKCE while Chromium drives Tenantry's sign-in page
with its second factor, validates the ID token with the JWKS (joserfc), refreshes, can't
replay its code, and logs out; then the example service (examples/notes_service, run as its own
process) signs the same person in through the browser, shows their tenant, roles and licences,
and has posted its own health with its own credential."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import PASSWORD, TEST_SECRET_KEY, free_tcp_port, unique_label, wait_until_up
from tests.databases import fresh_database
from tests.operations.servers import FAST_HASHES
from tests.web.conftest import CHROMIUM

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("tenantry"))


def _environment(url: str, data: Path, base: str) -> dict[str, str]:
    return {
        **os.environ,
        "TENANTRY_DATABASE_URL": url,
        "TENANTRY_DATA_DIR": str(data),
        "TENANTRY_SECRET_KEY": TEST_SECRET_KEY,
        "TENANTRY_PUBLIC_URL": base,
        "TENANTRY_SIGNUP_PER_ADDRESS_PER_HOUR": "100000",
        **FAST_HASHES,
    }


@contextmanager
def process(args: list[str], env: dict[str, str], url: str, log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        running = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        try:
            wait_until_up(url, running)
        except RuntimeError:
            raise RuntimeError(log.read_text(errors="replace")) from None
        yield
    finally:
        running.terminate()
        running.wait(timeout=10)


@contextmanager
def service_landing(port: int) -> Iterator[list[str]]:
    """Where the relying party's browser lands (its redirect URIs): a page that notes each
    address it was sent to. (Playwright does not intercept the targets of redirects.)"""
    arrived: list[str] = []

    class Landing(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/favicon.ico":
                arrived.append(f"http://127.0.0.1:{port}{self.path}")
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"back at the service")

        def log_message(self, *args: Any) -> None:
            pass

    class Quiet(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a browser closing its connection early is not news

    server = Quiet(("127.0.0.1", port), Landing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield arrived
    finally:
        server.shutdown()
        server.server_close()


def _printed(output: str, name: str) -> str:
    found = re.search(rf"^{name}: (\S+)$", output, re.MULTILINE)
    assert found, output
    return found.group(1)


def _admin_with_licence_and_totp(base: str) -> tuple[str, str, str, list[int]]:
    """A new organisation whose admin holds a Business Standard licence and has TOTP on:
    (user name, TOTP secret, tenant id)."""
    api = httpx.Client(base_url=base + "/api/v1")
    label = unique_label()
    made = api.post(
        "/signup",
        json={
            "organization_name": f"Contoso {label}",
            "initial_domain": label,
            "admin_password": PASSWORD,
        },
    ).json()
    upn, tid = made["admin_user_principal_name"], made["tenant_id"]
    token = api.post("/auth/token", json={"username": upn, "password": PASSWORD}).json()
    api.headers["Authorization"] = f"Bearer {token['access_token']}"
    me = api.get("/me").json()["id"]
    sub = api.post(
        f"/tenants/{tid}/subscriptions", json={"sku_id": "business_standard", "seats": 1}
    ).json()
    assert (
        api.post(
            f"/tenants/{tid}/subscriptions/{sub['id']}/licenses", json={"user_id": me}
        ).status_code
        == 201
    )
    secret = api.post("/me/mfa/totp", json={"password": PASSWORD}).json()["secret"]
    used: list[int] = []
    confirmed = api.post("/me/mfa/totp/confirm", json={"code": _next_code(secret, used)})
    assert confirmed.status_code == 200, confirmed.text
    return upn, secret, tid, used


def _sign_in(page: Any, upn: str, code: str) -> None:
    page.get_by_label("User name").fill(upn)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Verification code").fill(code)
    page.get_by_role("button", name="Verify").click()


def _arrive(page: Any, pattern: str) -> None:
    """Wait for the browser to get to ``pattern``; if it does not, say where it is."""
    try:
        page.wait_for_url(pattern, timeout=15000)
    except Exception as exc:
        text = page.locator("main").inner_text() if page.locator("main").count() else ""
        raise AssertionError(f"stuck at {page.url}: {text[:800]}") from exc


def _next_code(secret: str, used: list[int]) -> str:
    """A TOTP code of a time step after the last one used (each step is accepted once; the
    server accepts the next step too, so this rarely waits)."""
    totp = pyotp.TOTP(secret)
    while True:
        now = int(time.time()) // totp.interval
        step = max(now, used[-1] + 1) if used else now
        if step <= now + 1:
            used.append(step)
            return totp.generate_otp(step)
        time.sleep(1)


def test_a_relying_party_and_the_example_service_sign_in_with_tenantry(
    backend: str, tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `make test` (installs it).")
    from playwright.sync_api import sync_playwright

    tenantry_port, rp_port, notes_port = free_tcp_port(), free_tcp_port(), free_tcp_port()
    base = f"http://127.0.0.1:{tenantry_port}"
    rp = f"http://127.0.0.1:{rp_port}"
    notes = f"http://localhost:{notes_port}"
    with fresh_database(backend, tmp_path) as url:
        env = _environment(url, tmp_path, base)
        subprocess.run([CLI, "db", "upgrade"], env=env, check=True, capture_output=True)
        registered = subprocess.run(
            [
                CLI,
                "service",
                "register",
                "Notes",
                "--redirect-uri",
                f"{rp}/cb",
                "--redirect-uri",
                f"{notes}/callback",
                "--post-logout-redirect-uri",
                f"{rp}/bye",
                "--post-logout-redirect-uri",
                f"{notes}/",
                "--require-license",
                "business_standard",
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        client_id = _printed(registered, "client_id")
        secret = _printed(registered, "client_secret")
        listed = subprocess.run(
            [CLI, "service", "list"], env=env, check=True, capture_output=True, text=True
        ).stdout
        assert client_id in listed and "Notes" in listed
        with process(
            [CLI, "serve", "--port", str(tenantry_port)], env, base, tmp_path / "serve.log"
        ):
            upn, totp_secret, tid, used = _admin_with_licence_and_totp(base)
            metadata = httpx.get(f"{base}/.well-known/openid-configuration").json()
            assert metadata["issuer"] == base
            keys = KeySet.import_key_set(httpx.get(metadata["jwks_uri"]).json())
            relying_party = OAuth2Client(
                client_id,
                secret,
                scope="openid profile",
                redirect_uri=f"{rp}/cb",
                code_challenge_method="S256",
            )
            verifier = os.urandom(32).hex() + "abcdefghij"
            authorize_url, state = relying_party.create_authorization_url(
                metadata["authorization_endpoint"], code_verifier=verifier, nonce="n-0ce"
            )
            with sync_playwright() as playwright, service_landing(rp_port) as arrived:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
                )
                page = browser.new_page()

                page.goto(authorize_url)
                _sign_in(page, upn, _next_code(totp_secret, used))
                _arrive(page, f"{rp}/cb*")
                callback = arrived[-1]
                assert f"state={state}" in callback

                token = relying_party.fetch_token(
                    metadata["token_endpoint"],
                    authorization_response=callback,
                    code_verifier=verifier,
                )
                claims = jwt.decode(token["id_token"], keys, algorithms=["RS256"]).claims
                jwt.JWTClaimsRegistry(
                    iss={"essential": True, "value": base},
                    aud={"essential": True, "value": client_id},
                    nonce={"essential": True, "value": "n-0ce"},
                    exp={"essential": True},
                ).validate(claims)
                assert claims["tid"] == tid
                assert "global_administrator" in claims["roles"]
                assert "business_standard" in claims["licenses"]
                assert "otp" in claims["amr"]
                renewed = relying_party.refresh_token(
                    metadata["token_endpoint"], refresh_token=token["refresh_token"]
                )
                assert renewed["refresh_token"] != token["refresh_token"]
                info = relying_party.get(metadata["userinfo_endpoint"]).json()
                assert info["tid"] == tid and info["licenses"]
                # The code is spent; replaying it revokes what it gave (the renewed token).
                code = re.search(r"code=([^&]+)", callback).group(1)  # type: ignore[union-attr]
                with pytest.raises(OAuthError):
                    OAuth2Client(client_id, secret, redirect_uri=f"{rp}/cb").fetch_token(
                        metadata["token_endpoint"], code=code, code_verifier=verifier
                    )
                with pytest.raises(OAuthError):
                    relying_party.refresh_token(
                        metadata["token_endpoint"], refresh_token=renewed["refresh_token"]
                    )

                # RP-initiated logout: back to the registered page, Tenantry's session over.
                page.goto(
                    metadata["end_session_endpoint"]
                    + f"?id_token_hint={token['id_token']}&post_logout_redirect_uri={rp}/bye"
                    + "&state=later"
                )
                _arrive(page, f"{rp}/bye*")
                assert arrived[-1] == f"{rp}/bye?state=later"
                page.goto(f"{base}/me")
                assert "/sign-in" in page.url

                # The example service, as its own process, through the browser.
                notes_env = {
                    **os.environ,
                    "TENANTRY_URL": base,
                    "NOTES_CLIENT_ID": client_id,
                    "NOTES_CLIENT_SECRET": secret,
                    "NOTES_SERVICE_ID": "notes",
                    "NOTES_STATUS": "degraded",
                }
                with process(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "--app-dir",
                        "examples/notes_service",
                        "app:app",
                        "--host",
                        "localhost",
                        "--port",
                        str(notes_port),
                    ],
                    notes_env,
                    notes,
                    tmp_path / "notes.log",
                ):
                    page.goto(notes + "/")
                    page.get_by_role("link", name="Sign in with Tenantry").click()
                    _sign_in(page, upn, _next_code(totp_secret, used))
                    _arrive(page, notes + "/")
                    assert tid in page.locator("#tid").inner_text()
                    assert "global_administrator" in page.locator("#roles").inner_text()
                    assert "business_standard" in page.locator("#licenses").inner_text()
                    page.get_by_role("link", name="Sign out").click()
                    _arrive(page, notes + "/")
                    assert page.get_by_role("link", name="Sign in with Tenantry").is_visible()
                browser.close()
            # The example posted its own health at start: the customer sees it.
            api = httpx.Client(base_url=base + "/api/v1")
            signed = api.post(
                "/auth/token",
                json={
                    "username": upn,
                    "password": PASSWORD,
                    "totp_code": _next_code(totp_secret, used),
                },
            ).json()
            health = api.get(
                f"/tenants/{tid}/health",
                headers={"Authorization": f"Bearer {signed['access_token']}"},
            ).json()
            assert {"name": "Notes", "status": "degraded"}.items() <= next(
                s for s in health["services"] if s["name"] == "Notes"
            ).items()
