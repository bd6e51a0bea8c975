"""Web forms read through the API's own input models: a page takes exactly what the API takes
(the same text rules, the same lengths), and says in words what it refused."""

from __future__ import annotations

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
