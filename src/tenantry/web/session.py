"""Browser sessions, CSRF tokens, flash messages and the pending second sign-in step.

A web session is an ordinary Tenantry token (32 random bytes, stored hashed, revocable) kept
in an HttpOnly, SameSite=Lax cookie: sign-out revokes it on the server, sign-in issues a new
one (the session rotates), and disabling a user ends it in every process at once.

CSRF: every form carries ``csrf_token`` = HMAC(secret key, the session token) — or, before
sign-in, of a random per-browser nonce cookie — compared in constant time on every POST.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "tenantry_session"
NONCE_COOKIE = "tenantry_nonce"
FLASH_COOKIE = "tenantry_flash"
PENDING_COOKIE = "tenantry_pending"
PENDING_SECONDS = 300
FLASH_SECONDS = 120


def _secret(request: Request) -> str:
    """The key the whole app signs with: TENANTRY_SECRET_KEY, or in development the key
    generated once per installation (never the empty setting: anyone could sign with that)."""
    key = str(request.app.state.settings.effective_secret_key)
    if not key:
        raise RuntimeError("no secret key to sign web cookies with")
    return key


def _serializer(request: Request, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(request), salt=f"tenantry.web.{purpose}")


def secure(request: Request) -> bool:
    """Secure cookies whenever the page is served over HTTPS (behind a proxy: run uvicorn
    with --proxy-headers so the scheme is right)."""
    return request.url.scheme == "https"


def set_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        secure=secure(request),
        samesite="lax",
        path="/",
    )


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def start_session(response: Response, request: Request, token: str, lifetime: int) -> None:
    set_cookie(response, request, SESSION_COOKIE, token, lifetime)
    response.delete_cookie(PENDING_COOKIE, path="/")


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


# --- CSRF -------------------------------------------------------------------------------


def _nonce(request: Request) -> str:
    """The pre-sign-in nonce: from the cookie, or a new one that the response will set."""
    nonce = request.cookies.get(NONCE_COOKIE) or getattr(request.state, "new_nonce", None)
    if not nonce:
        nonce = secrets.token_urlsafe(32)
        request.state.new_nonce = nonce
    return str(nonce)


def csrf_token(request: Request) -> str:
    basis = session_token(request) or _nonce(request)
    digest = hmac.new(_secret(request).encode(), b"csrf|" + basis.encode(), hashlib.sha256)
    return digest.hexdigest()


def csrf_valid(request: Request, submitted: str | None) -> bool:
    if not submitted or not (session_token(request) or request.cookies.get(NONCE_COOKIE)):
        return False
    return hmac.compare_digest(csrf_token(request), submitted)


def keep_nonce(response: Response, request: Request) -> None:
    """Set the nonce cookie if this page made one (its forms depend on it)."""
    nonce = getattr(request.state, "new_nonce", None)
    if nonce:
        set_cookie(response, request, NONCE_COOKIE, nonce, None)


# --- flash messages ---------------------------------------------------------------------


def flash(response: Response, request: Request, kind: str, text: str) -> None:
    """A message for the next page (after a redirect): "success" or "error"."""
    value = _serializer(request, "flash").dumps({"kind": kind, "text": text})
    set_cookie(response, request, FLASH_COOKIE, value, FLASH_SECONDS)


def take_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        value: Any = _serializer(request, "flash").loads(raw, max_age=FLASH_SECONDS)
    except BadSignature:
        return None
    if not isinstance(value, dict):
        return None
    return {"kind": str(value.get("kind", "")), "text": str(value.get("text", ""))}


# --- the second sign-in step ------------------------------------------------------------


def remember_pending(
    response: Response,
    request: Request,
    user_id: uuid.UUID,
    next_url: str,
    challenge: bytes | None = None,
) -> None:
    """Password accepted, second factor still to come: who, for five minutes, and the passkey
    challenge issued to it, if it has a passkey (kept server-side as well: the cookie only
    names it; the server spends it once)."""
    value: dict[str, str] = {"user": str(user_id), "next": next_url}
    if challenge is not None:
        value["challenge"] = base64.urlsafe_b64encode(challenge).decode()
    set_cookie(
        response,
        request,
        PENDING_COOKIE,
        _serializer(request, "pending").dumps(value),
        PENDING_SECONDS,
    )


def pending_challenge(request: Request) -> bytes | None:
    """The passkey challenge of the pending sign-in, if one was issued."""
    raw = request.cookies.get(PENDING_COOKIE)
    if not raw:
        return None
    try:
        value: Any = _serializer(request, "pending").loads(raw, max_age=PENDING_SECONDS)
        return base64.urlsafe_b64decode(str(value["challenge"]))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def pending(request: Request) -> tuple[uuid.UUID, str] | None:
    raw = request.cookies.get(PENDING_COOKIE)
    if not raw:
        return None
    try:
        value: Any = _serializer(request, "pending").loads(raw, max_age=PENDING_SECONDS)
        return uuid.UUID(value["user"]), safe_next(str(value.get("next", "/")))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def safe_next(target: str | None) -> str:
    """Only local paths: never an open redirect to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
