"""Pieces every API shape is built from: the request body's text rules, the list shape."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from tenantry.core.pagination import Page

T = TypeVar("T")

Name = Field(min_length=1, max_length=256)
Password = Field(min_length=1, max_length=256)


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("text must be valid Unicode") from exc
    elif isinstance(value, dict):
        for item in value.values():
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


LINE_BREAKS_AND_TABS = frozenset("\t\n\r")


def _refuse_control_characters(value: str, allowed: frozenset[str]) -> str:
    """Control characters (Unicode category Cc) hide in names, break logs and e-mails, and
    some databases refuse them; only a multi-line field may hold line breaks and tabs."""
    for character in value:
        if unicodedata.category(character) != "Cc" or character in allowed:
            continue
        if character in "\n\r":
            raise ValueError("text must be on one line")
        raise ValueError(f"text must not contain control characters (U+{ord(character):04X})")
    return value


def _single_line(value: str | None) -> str | None:
    return None if value is None else _refuse_control_characters(value, frozenset())


def _multi_line(value: str | None) -> str | None:
    return None if value is None else _refuse_control_characters(value, LINE_BREAKS_AND_TABS)


# The text rules of every request body, for the API and the web forms alike (both validate
# through these models). Lengths stay with each field; passwords are plain ``str``: a secret
# is never shown, and refusing a character in it would lock its owner out.
# ``X | None`` is its own type: around a union the field's length limit keeps the wording
# "String should have at most N characters" (inside it, pydantic says "Value ... items").
SingleLine = Annotated[str, AfterValidator(_single_line)]
SingleLineOrNone = Annotated[str | None, AfterValidator(_single_line)]
MultiLine = Annotated[str, AfterValidator(_multi_line)]
MultiLineOrNone = Annotated[str | None, AfterValidator(_multi_line)]


class Body(BaseModel):
    """Every request body: unknown fields refused, text that no database can store refused
    (in any field, named in the error)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        _check_text(value)
        return value


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ContactDetails(BaseModel):
    """An organisation's name and contact details: shown to its own admins and, for a
    partner, to its customers."""

    name: str
    street: str
    city: str
    postal_code: str
    country: str
    phone: str
    technical_contact_email: str


class ItemList(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


M = TypeVar("M", bound=BaseModel)


def page_of(page: Page[Any], model: type[M]) -> ItemList[M]:
    """A service's page of rows as the API's list shape."""
    return ItemList[model](  # type: ignore[valid-type]
        items=[model.model_validate(row) for row in page.items], next_cursor=page.next_cursor
    )


# RFC 9457 problem details: the body of every error the API returns. (No docstring: it
# would become the schema's description in the published OpenAPI document.)
class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None
