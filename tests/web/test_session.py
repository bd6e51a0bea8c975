"""web/session.py without a browser: CSRF tokens, cookie flags, flash and pending-step
signatures, safe redirects."""

from __future__ import annotations

import uuid
from http.cookies import SimpleCookie
from types import SimpleNamespace

import pytest
from fastapi import Request, Response

from tenantry.web import session

SECRET = "s" * 48


def make_request(cookies: dict[str, str] | None = None, scheme: str = "http") -> Request:
    app = SimpleNamespace(
        state=SimpleNamespace(settings=SimpleNamespace(effective_secret_key=SECRET))
    )
    header = "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())
    scope = {
        "type": "http",
        "method": "POST",
        "scheme": scheme,
        "server": ("testserver", 443 if scheme == "https" else 80),
        "path": "/",
        "query_string": b"",
        "headers": [(b"cookie", header.encode())] if header else [],
        "app": app,
    }
    return Request(scope)


def set_cookies(response: Response) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for name, value in response.raw_headers:
        if name == b"set-cookie":
            jar.load(value.decode())
    return jar


def test_csrf_token_belongs_to_its_session() -> None:
    mine = make_request({session.SESSION_COOKIE: "token-a"})
    token = session.csrf_token(mine)
    assert len(token) == 64
    assert session.csrf_valid(mine, token)
    assert not session.csrf_valid(make_request({session.SESSION_COOKIE: "token-b"}), token)
    assert not session.csrf_valid(mine, token[:-1] + ("0" if token[-1] != "0" else "1"))
    assert not session.csrf_valid(mine, "")
    assert not session.csrf_valid(mine, None)


def test_before_sign_in_the_token_rests_on_the_nonce_cookie() -> None:
    fresh = make_request()
    token = session.csrf_token(fresh)
    assert session.csrf_token(fresh) == token  # one nonce per request
    # Without the nonce cookie in the browser, no token is valid (a cross-site first post).
    assert not session.csrf_valid(make_request(), token)
    response = Response()
    session.keep_nonce(response, fresh)
    nonce = set_cookies(response)[session.NONCE_COOKIE].value
    back = make_request({session.NONCE_COOKIE: nonce})
    assert session.csrf_valid(back, token)


@pytest.mark.parametrize(("scheme", "secure"), [("http", False), ("https", True)])
def test_session_cookie_flags(scheme: str, secure: bool) -> None:
    response = Response()
    session.start_session(response, make_request(scheme=scheme), "tok", 3600)
    cookie = set_cookies(response)[session.SESSION_COOKIE]
    assert cookie.value == "tok"
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "lax"
    assert bool(cookie["secure"]) is secure
    assert cookie["max-age"] == "3600"


def test_flash_survives_a_redirect_and_resists_tampering() -> None:
    response = Response()
    session.flash(response, make_request(), "error", "No TXT record found")
    value = set_cookies(response)[session.FLASH_COOKIE].value
    shown = session.take_flash(make_request({session.FLASH_COOKIE: value}))
    assert shown == {"kind": "error", "text": "No TXT record found"}
    assert session.take_flash(make_request({session.FLASH_COOKIE: value + "x"})) is None
    assert session.take_flash(make_request()) is None


def test_pending_second_step_is_signed_and_keeps_only_local_targets() -> None:
    user_id = uuid.uuid4()
    response = Response()
    session.remember_pending(response, make_request(), user_id, "//evil.example/")
    value = set_cookies(response)[session.PENDING_COOKIE].value
    assert session.pending(make_request({session.PENDING_COOKIE: value})) == (user_id, "/")
    assert session.pending(make_request({session.PENDING_COOKIE: "x" + value})) is None


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/partner/find?q=a", "/partner/find?q=a"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_safe_next(target: str | None, expected: str) -> None:
    assert session.safe_next(target) == expected
