"""A status or kind is spelled once, as a member of its StrEnum: no bare string equal to one of
their values is compared, assigned, passed or returned in src/tenantry outside models/ (where
the enums and the CHECK constraints live) and migrations/ (which never change)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import tenantry
import tenantry.models
from tenantry.access.grants import DecisionPath
from tenantry.core.context import SecondFactor

SRC = Path(tenantry.__file__).parent
SKIPPED_DIRS = ("models", "migrations")

# Enums defined outside tenantry.models (those inside are found on their own).
ENUMS_ELSEWHERE: tuple[type[StrEnum], ...] = (DecisionPath, SecondFactor)

# (file or folder under src/tenantry, value): why a bare string equal to a status is right
# there. Folders, not files, where a split of the folder's modules is under way.
ALLOWED: dict[tuple[str, str], str] = {
    ("web/pages.py", "success"): "a flash message's kind (success or error), not an outcome",
    ("identity/", "disabled"): "why a sign-in failed (the account is disabled), not an offer",
    ("directory/users.py", "operator"): "audit detail: an operator or an admin reset the second "
    "factor; no relationship party is meant",
    ("web/session.py", "pending"): "the salt of the pending second sign-in step's cookie, "
    "not an outbox status",
    ("cli/", "partner"): "the name of the `tenantry partner` command group, not a party",
    ("identity/oidc.py", "email"): "an OpenID Connect scope and claim, not a domain capability",
    ("identity/oidc.py", "none"): "the token endpoint auth method of a public client "
    "(OpenID Connect), not a second factor or an API client's credential",
    ("cli/", "tenant"): "the name of the `tenantry tenant` command group, not an API client's kind",
    ("web/__init__.py", "static"): "the mount of the static files, not a customer group's kind",
    ("provisioning/", "active"): "SCIM's attribute name (RFC 7643 §4.1.1 'active'), not a status",
}


def _allowed(name: str, value: str) -> bool:
    return any(name.startswith(where) and value == allowed for where, allowed in ALLOWED)


# The partner domain's enums come in another change; until they are here, its files still
# spell relationship statuses ("active", "expired") that equal subscription statuses.
PARTNER_ENUMS_MERGED = hasattr(
    importlib.import_module("tenantry.models.partners"), "RelationshipStatus"
)
PENDING_PARTNER_FILES = ("partners/", "operations/sweeper.py")


def status_enums() -> list[type[StrEnum]]:
    """Every StrEnum defined in a tenantry.models module, so new ones are checked unasked."""
    found: list[type[StrEnum]] = list(ENUMS_ELSEWHERE)
    for info in pkgutil.iter_modules(tenantry.models.__path__, "tenantry.models."):
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, StrEnum) and obj is not StrEnum and obj.__module__ == info.name:
                found.append(obj)
    return found


def _strings(node: ast.AST | None) -> Iterator[ast.Constant]:
    """The string constants a value is made of (a tuple of them, either arm of an ``if``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node
    elif isinstance(node, ast.Tuple | ast.List | ast.Set):
        for element in node.elts:
            yield from _strings(element)
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body)
        yield from _strings(node.orelse)
    elif isinstance(node, ast.Dict):
        for value in node.values:
            yield from _strings(value)


def _used_values(tree: ast.AST) -> Iterator[ast.Constant]:
    """Strings in comparisons, assignments, calls, defaults and returns (not docstrings,
    not f-strings, not dictionary keys, not the members of an enum defined here)."""
    definitions = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(isinstance(base, ast.Name) and base.id == "StrEnum" for base in node.bases)
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in definitions:
            continue
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                yield from _strings(operand)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign | ast.Return):
            yield from _strings(node.value)
        elif isinstance(node, ast.Call):
            for argument in (*node.args, *(k.value for k in node.keywords)):
                yield from _strings(argument)
        elif isinstance(node, ast.arguments):
            for default in (*node.defaults, *node.kw_defaults):
                yield from _strings(default)


def _scanned_files() -> Iterator[tuple[str, Path]]:
    for path in sorted(SRC.rglob("*.py")):
        name = path.relative_to(SRC).as_posix()
        if name.split("/")[0] in SKIPPED_DIRS:
            continue
        if not PARTNER_ENUMS_MERGED and name.startswith(PENDING_PARTNER_FILES):
            continue
        yield name, path


def test_enums_are_found() -> None:
    names = {e.__name__ for e in status_enums()}
    assert {"DomainStatus", "GroupKind", "SubscriptionStatus", "HealthStatus"} <= names
    assert {"RequestStatus", "Severity", "AuditOutcome", "DecisionPath"} <= names


def test_no_status_is_spelled_as_a_bare_string() -> None:
    owners: dict[str, list[str]] = {}
    for enum in status_enums():
        for member in enum:
            owners.setdefault(member.value, []).append(f"{enum.__name__}.{member.name}")
    found = [
        f"{name}:{constant.lineno}: {constant.value!r} is {' or '.join(owners[constant.value])}"
        for name, path in _scanned_files()
        for constant in _used_values(ast.parse(path.read_text(), filename=str(path)))
        if constant.value in owners and not _allowed(name, constant.value)
    ]
    assert not found, "use the enum member:\n" + "\n".join(found)


def test_allowed_exceptions_still_exist() -> None:
    """An allow-list entry whose string is gone is dead weight: remove it."""
    for where, value in ALLOWED:
        used = (
            c.value
            for name, path in _scanned_files()
            if name.startswith(where)
            for c in _used_values(ast.parse(path.read_text()))
        )
        assert value in used, (where, value)
