"""Errors a service can raise; the API turns them into RFC 9457 problems, the CLI into a line."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

Choice = TypeVar("Choice", bound=StrEnum)


class ServiceError(Exception):
    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, slug: str | None = None, title: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if slug:
            self.slug = slug
        if title:
            self.title = title


class InvalidInput(ServiceError):
    status = 422
    slug = "invalid-input"
    title = "The request is not valid"


class Unauthenticated(ServiceError):
    status = 401
    slug = "unauthenticated"
    title = "Authentication required"


class Forbidden(ServiceError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class NotFound(ServiceError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(ServiceError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class PreconditionFailed(ServiceError):
    status = 412
    slug = "precondition-failed"
    title = "The resource has changed"


class PreconditionRequired(ServiceError):
    status = 428
    slug = "precondition-required"
    title = "If-Match is required"


class Gone(ServiceError):
    status = 410
    slug = "gone"
    title = "No longer available"


class TooManyRequests(ServiceError):
    status = 429
    slug = "too-many-requests"
    title = "Too many attempts"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)


class Unavailable(ServiceError):
    status = 503
    slug = "unavailable"
    title = "A service this request needs is unavailable"

    def __init__(
        self,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail, slug=slug, title=title)
        self.retry_after = retry_after


def parse_choice(choices: type[Choice], value: str, what: str, *, refusal: str = "") -> Choice:
    """A value from a form, the CLI or the API as a member of ``choices``: anything else is
    refused, by default with a message listing the choices ("<what> is one of: ...")."""
    try:
        return choices(value)
    except ValueError:
        listed = ", ".join(choices)
        raise InvalidInput(refusal or f"{what} is one of: {listed}.") from None
