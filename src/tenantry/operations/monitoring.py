"""What a load balancer and Prometheus ask of a running process: readiness (the database
answers and its schema is at the migrations' head) and the metrics read at scrape time (outbox
backlog, sweep lag) next to the counters of core/metrics.py."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from tenantry.migrations import alembic_config
from tenantry.operations import outbox


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str


@cache
def schema_heads() -> frozenset[str]:
    """The revisions the shipped migrations end at (read from the scripts once)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def readiness(engine: Engine) -> Readiness:
    """Ready when the database answers and is migrated to head; the reason says what is wrong
    without details a probe has no use for (no URL, no driver message)."""
    try:
        with engine.connect() as connection:
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError:
        return Readiness(False, "database unreachable")
    if current != schema_heads():
        return Readiness(False, "database schema is not at head; run 'tenantry db upgrade'")
    return Readiness(True, "ready")


class ScrapeTimeCollector(Collector):
    """Gauges computed when Prometheus scrapes: one cheap count and one subtraction."""

    def __init__(
        self, sessions: sessionmaker[Session], last_sweep: Callable[[], float | None]
    ) -> None:
        self.sessions = sessions
        self.last_sweep = last_sweep

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self.sessions() as session:
                pending: float = outbox.backlog(session)
        except SQLAlchemyError:
            pending = float("nan")
        yield GaugeMetricFamily(
            "tenantry_outbox_backlog", "E-mail messages not sent yet", value=pending
        )
        last = self.last_sweep()
        yield GaugeMetricFamily(
            "tenantry_sweep_lag_seconds",
            "Seconds since this process's last successful lifecycle sweep (NaN before the "
            "first one, or when this process does not sweep)",
            value=float("nan") if last is None else max(0.0, time.time() - last),
        )


def exposition(scrape_time: Collector) -> bytes:
    """The Prometheus text format: the counters (summed over every worker when
    PROMETHEUS_MULTIPROC_DIR is set) and the scrape-time gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counters = CollectorRegistry()
        multiprocess.MultiProcessCollector(counters)
    else:
        counters = REGISTRY
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(scrape_time)
    return generate_latest(counters) + generate_latest(gauges)
