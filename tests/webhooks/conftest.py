"""Webhook tests register loopback http receivers: the app allows them here, as an operator
would with TENANTRY_WEBHOOKS_ALLOW_PRIVATE_NETWORKS=1 and TENANTRY_WEBHOOKS_ALLOW_HTTP=1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tenantry.core.config import Settings
from tenantry.operations import webhooks
from tests.conftest import FakeClock
from tests.webhooks.receiver import Receiver, receiving


@pytest.fixture(autouse=True)
def _allow_loopback(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.state.settings, "webhooks_allow_private_networks", True)
    monkeypatch.setattr(app.state.settings, "webhooks_allow_http", True)


@pytest.fixture
def allowed(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"webhooks_allow_private_networks": True, "webhooks_allow_http": True}
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


class Deliver:
    def __init__(
        self, sessions: sessionmaker[Session], settings: Settings, clock: FakeClock
    ) -> None:
        self.sessions, self.settings, self.clock = sessions, settings, clock

    def __call__(self, settings: Settings | None = None) -> int:
        return webhooks.deliver_pending(
            self.sessions, settings or self.settings, self.clock(), batch=10_000
        )


@pytest.fixture
def deliver(sessions: sessionmaker[Session], allowed: Settings, clock: FakeClock) -> Deliver:
    return Deliver(sessions, allowed, clock)
