"""Secrets typed by an operator: asked for without echo, read from stdin, or taken from the environment.

Never from an option alone: `ps` and the shell history show a command's arguments.
"""

from __future__ import annotations

import sys
from typing import Collection

import typer

from ihub.commands.common import fail


def label(field: str) -> str:
    return field.replace("_", " ")


def read_secrets(needed: list[str], given: dict[str, str | None], optional: Collection[str] = (),
                 from_stdin: bool = False) -> dict[str, str]:
    """`given` with the secrets of `needed` it lacks filled in, in that order.

    With `from_stdin`, one line each from stdin (an empty or missing line leaves an optional one
    out); otherwise each one that is not optional is asked for without echo.
    """
    values = dict(given)
    missing = [name for name in needed if not values.get(name)]
    if from_stdin:
        lines = sys.stdin.read().splitlines()
        for name in missing:
            value = lines.pop(0).strip() if lines else ""
            if not value and name not in optional:
                fail(f"--secret-stdin: no line for the {label(name)} on stdin")
            values[name] = value or None
    else:
        for name in missing:
            if name not in optional:
                values[name] = typer.prompt(label(name).capitalize(), hide_input=True)
    return {name: value for name, value in values.items() if value is not None}
