"""Web forms read through the API's own input models: a page takes exactly what the API takes
(the same text rules, the same lengths), and says in words what it refused."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from tenantry.core.errors import InvalidInput


def readable_error(errors: Sequence[Mapping[str, Any]]) -> str:
    """The first validation error in words: "Display name: text must be on one line"."""
    first = errors[0] if errors else {}
    field = " ".join(str(part) for part in first.get("loc", ())).replace("_", " ")
    message = str(first.get("msg", "not valid")).removeprefix("Value error, ")
    if not field:
        return message[:1].upper() + message[1:]
    return f"{field.capitalize()}: {message[:1].lower()}{message[1:]}"


Input = TypeVar("Input", bound=BaseModel)


def parse_form(form: Mapping[str, str], model: type[Input], **values: object) -> Input:
    """The form read through its API twin's input model, so a page takes exactly what the API
    takes (the same text rules and lengths). ``values`` replace or add fields (a ticked box, a
    blank meaning "unchanged"); None leaves a field out. A refusal goes back to the form with
    the reason, as a refused service call does."""
    fields: dict[str, object] = {name: form[name] for name in model.model_fields if name in form}
    fields.update(values)
    try:
        return model.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        raise InvalidInput(readable_error(exc.errors()), title="Check the form") from exc


def optional_uuid(value: str | None, refusal: str) -> uuid.UUID | None:
    """A chosen id from a form (None when nothing was chosen); anything else than an id is
    refused in ``refusal``'s words, not a 500."""
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise InvalidInput(refusal) from exc


def assignment_terms(form: dict[str, str], model: type[Input]) -> Input:
    """A security group's terms (standing and eligible roles, the longest activation, the
    approver group) from the form, through ``model``: one access assignment or one entry of
    an access template, which take the same terms."""
    group_id = optional_uuid(form.get("group_id"), "Choose one of your security groups.")
    if group_id is None:
        raise InvalidInput("Choose one of your security groups.")
    return parse_form(
        form,
        model,
        group_id=group_id,
        roles=[k.removeprefix("role:") for k in form if k.startswith("role:")],
        eligible_roles=[k.removeprefix("eligible:") for k in form if k.startswith("eligible:")],
        max_activation_minutes=form.get("max_activation_minutes", "").strip() or None,
        approval_required=form.get("approval_required") == "on",
        approver_group_id=optional_uuid(
            form.get("approver_group_id"), "Choose one of your security groups as approvers."
        ),
    )
