"""Failures a person can act on. Their messages are shown as they are: never a secret or query string.

The CLI prints them; the REST API answers NotFound with 404, Conflict with 409, Invalid with
422 and Forbidden with 403.
"""

from __future__ import annotations

from typing import Callable, TypeVar

T = TypeVar("T")


class HubError(Exception):
    """A failure with a message meant for the operator (shown in the action log and the CLI).

    `fields` names the input fields at fault, each with its problem, so a form can show the
    problem beside its field; the message says them all."""

    def __init__(self, *args: object, fields: dict[str, str] | None = None) -> None:
        super().__init__(*args)
        self.fields = fields or {}


class NotFound(HubError):
    pass


class Conflict(HubError):
    """The request clashes with what exists: a name taken, a thing still in use."""


class Invalid(HubError):
    """A value the operator gave cannot be used."""


def check_fields(**checks: Callable[[], T]) -> dict[str, T]:
    """Each field's checked value; when checks fail, one Invalid naming every field at fault."""
    values, problems = {}, {}
    for field, check in checks.items():
        try:
            values[field] = check()
        except Invalid as exc:
            problems[field] = str(exc)
    if problems:
        raise Invalid("; ".join(problems.values()), fields=problems)
    return values


class Forbidden(HubError):
    """An integration's key used outside its integration."""


class CredentialsNotFound(NotFound):
    """No credentials block of that name on the Prefect server in use."""


class CredentialsRejected(HubError):
    pass


class VendorError(HubError):
    """The vendor answered with something the connector cannot use."""


class TooManyRejected(HubError):
    pass


class IncompleteRun(HubError):
    """A run that read fewer records than the vendor says it has, even after reading the listing again."""
