"""The ``tenantry`` command: serve, migrate, seed, and the operator's tasks, one module per
domain (docs/architecture.md §1).

Errors print as one readable line and exit non-zero; no tracebacks for expected failures.
"""

from __future__ import annotations

import sys

# Importing a module registers its commands on the root app.
from tenantry.cli import (
    audit,
    directory,
    jobs,
    operations,
    partners,
    platform,
    provisioning,
    services,
    support,
)
from tenantry.cli.base import add_groups, app, err
from tenantry.core.config import ConfigurationError

add_groups()

__all__ = [
    "app",
    "audit",
    "directory",
    "jobs",
    "main",
    "operations",
    "partners",
    "platform",
    "provisioning",
    "services",
    "support",
]


def main() -> None:
    try:
        app()
    except ConfigurationError as exc:  # raised while typer parses, before @friendly applies
        err.print(f"error: {exc}")
        sys.exit(1)
