"""The provider's signing keys at rest (both databases): the private key is stored encrypted
under a key derived from the secret key, never in the clear, and is unreadable with another
secret key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from joserfc.errors import JoseError
from sqlalchemy.orm import Session, sessionmaker

from tenantry.core.config import Settings
from tenantry.identity import signing_keys


def test_private_keys_are_encrypted_with_a_key_derived_from_the_secret_key(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    with sessions() as session:
        try:
            row = signing_keys.create_key(session, settings, datetime.now(UTC))
            sealed = row.private_jwk_encrypted
            assert sealed.count(".") == 4  # a compact JWE
            public = row.public_jwk
            assert "d" not in public and public["kid"] == row.kid
            assert public["n"] not in sealed  # nothing of the key in the clear
            opened = signing_keys._open(settings, sealed)
            assert opened.is_private and opened.as_dict(private=False)["n"] == public["n"]
            other = Settings(**{**settings.model_dump(), "secret_key": "another-" + "y" * 40})
            with pytest.raises((JoseError, ValueError)):
                signing_keys._open(other, sealed)
        finally:
            session.rollback()
