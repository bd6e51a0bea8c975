"""A WebAuthn authenticator and browser in software: the *client* side of the protocol, for
tests (the server side is py_webauthn's). One EC P-256 key per credential (``cryptography``),
'none' attestation, and authenticatorData, clientDataJSON and the attestation object laid out
as the WebAuthn spec says (§6.1 authenticator data, §6.5 attestation object, §5.8.1 client
data, §6.3.3 the assertion signature over authenticatorData ‖ SHA-256(clientDataJSON)), CBOR
by cbor2. Every part a test may want to falsify is a parameter: the origin the "browser"
reports, the RP id, the challenge, the counter, the user handle.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

FLAG_UP = 0x01  # user present
FLAG_UV = 0x04  # user verified
FLAG_BE = 0x08  # backup eligible
FLAG_BS = 0x10  # backed up
FLAG_AT = 0x40  # attested credential data included
AAGUID = bytes.fromhex("5e0f7a11000040008000000000000001")  # a made-up model


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    """One passkey the authenticator holds."""

    id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    """Makes and uses passkeys for the origin a browser would report (``origin``)."""

    origin: str
    credentials: dict[bytes, Credential] = field(default_factory=dict)
    # A key that keeps no counter (passkeys synced across devices) always says 0.
    counts: bool = True

    def _cose_key(self, key: ec.EllipticCurvePrivateKey) -> bytes:
        numbers = key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _client_data(self, kind: str, challenge: bytes, origin: str | None) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": b64url(challenge),
                "origin": origin or self.origin,
                "crossOrigin": False,
            },
            separators=(",", ":"),
        ).encode()

    def create(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: bytes | None = None,
        credential_id: bytes | None = None,
        flags: int = FLAG_UP | FLAG_UV,
    ) -> dict[str, Any]:
        """navigator.credentials.create(): a new key for the options' RP and user, answered as
        PublicKeyCredential.toJSON() would."""
        rp = rp_id or options["rp"]["id"]
        excluded = {unb64url(c["id"]) for c in options.get("excludeCredentials", [])}
        if excluded & set(self.credentials):
            raise RuntimeError("InvalidStateError: this authenticator has one already")
        key = ec.generate_private_key(ec.SECP256R1())
        cred_id = credential_id or secrets.token_bytes(32)
        user_handle = unb64url(options["user"]["id"])
        credential = Credential(cred_id, key, rp, user_handle)
        self.credentials[cred_id] = credential
        auth_data = (
            hashlib.sha256(rp.encode()).digest()
            + bytes([flags | FLAG_AT])
            + struct.pack(">I", 0)
            + AAGUID
            + struct.pack(">H", len(cred_id))
            + cred_id
            + self._cose_key(key)
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data(
            "webauthn.create", challenge or unb64url(options["challenge"]), origin
        )
        return {
            "id": b64url(cred_id),
            "rawId": b64url(cred_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: bytes | None = None,
        credential: Credential | None = None,
        sign_count: int | None = None,
        user_handle: bytes | None = None,
        flags: int = FLAG_UP | FLAG_UV,
    ) -> dict[str, Any]:
        """navigator.credentials.get(): sign the options' challenge with a passkey they allow
        (or the one given), the counter one up (or ``sign_count``)."""
        if credential is None:
            allowed = [unb64url(c["id"]) for c in options.get("allowCredentials", [])]
            held = [self.credentials[i] for i in allowed if i in self.credentials]
            if not held:
                raise RuntimeError("NotAllowedError: no passkey for this site")
            credential = held[0]
        if sign_count is None:
            sign_count = credential.sign_count + 1 if self.counts else 0
        credential.sign_count = max(credential.sign_count, sign_count)
        rp = rp_id or options.get("rpId") or credential.rp_id
        auth_data = (
            hashlib.sha256(rp.encode()).digest() + bytes([flags]) + struct.pack(">I", sign_count)
        )
        client_data = self._client_data(
            "webauthn.get", challenge or unb64url(options["challenge"]), origin
        )
        signature = credential.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        handle = credential.user_handle if user_handle is None else user_handle
        return {
            "id": b64url(credential.id),
            "rawId": b64url(credential.id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(handle),
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }


# --- the API's passkey ceremonies, as a client runs them -------------------------------------


def add_passkey(
    api: Any, authenticator: SoftAuthenticator, name: str = "Key", password: str | None = None
) -> dict[str, Any]:
    """Register a new passkey of ``authenticator`` for the caller of ``api`` (a tests.conftest
    Api): the options with the current password, then the authenticator's answer."""
    from tests.conftest import PASSWORD

    options = api.post(
        "/me/passkeys/register/options", {"password": password or PASSWORD}, expect=200
    ).json()
    answer = authenticator.create(options)
    return dict(
        api.post(
            "/me/passkeys/register/verify", {"name": name, "credential": answer}, expect=201
        ).json()
    )


def passkey_options(client: Any, username: str, password: str | None = None) -> dict[str, Any]:
    from tests.conftest import PASSWORD, Api

    body = {"username": username, "password": password or PASSWORD}
    return dict(Api(client).post("/auth/passkey/options", body, expect=200).json())


def sign_in_with_passkey(
    client: Any,
    username: str,
    authenticator: SoftAuthenticator,
    password: str | None = None,
    **answer: Any,
) -> Any:
    """Sign in with the password and a passkey of ``authenticator``: an Api with the token."""
    from tests.conftest import PASSWORD, Api

    assertion = authenticator.get(passkey_options(client, username, password), **answer)
    body = {"username": username, "password": password or PASSWORD, "passkey": assertion}
    token = Api(client).post("/auth/token", body, expect=200).json()["access_token"]
    return Api(client, token)
