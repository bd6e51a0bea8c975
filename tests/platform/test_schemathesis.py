"""Property-based run over the OpenAPI spec: no 5xx, every response matches the schema.

Requests carry the token of a partner's Global Administrator (MFA on, one customer) and,
where a path names a tenant, that administrator's tenant, so the generated data reaches the
services, not just the 404 gate.
(Schemathesis' own pytest plugin does not load under pytest 9, so each operation's
Hypothesis strategy is driven here directly.)
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from tests.conftest import accepted, make_org, make_partner

CHECKS = [
    checks.not_a_server_error,
    openapi_checks.response_schema_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.status_code_conformance,
]
SKIP = {"POST /api/v1/auth/logout"}  # would end the session the run depends on


def test_api_never_errors_and_matches_its_schema(
    app: Any, client: Any, sessions: Any, settings: Any, clock: Any
) -> None:
    # A partner admin with MFA, who also has a customer: the partner endpoints get past
    # their gates and the generated data reaches the services.
    partner = make_partner(client, sessions, settings, clock, "Fuzz")
    accepted(partner, make_org(client, "Fuzzed customer"))
    org = partner.org
    headers = {"Authorization": f"Bearer {org.admin.token}"}
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40

    for operation in operations:
        if f"{operation.method.upper()} {operation.path}" in SKIP:
            continue

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: Any) -> None:
            if case.path_parameters and "tid" in case.path_parameters:
                case.path_parameters["tid"] = org.tenant_id
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            exercise()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
