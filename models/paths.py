"""JSON paths into vendor records.

Plain paths (`model.name`, `$.data.assets`, `addresses[0].street`) compile to a tuple of keys
and indexes walked directly: they run once per field per record, so they must be cheap.
Anything richer (wildcards, recursive descent, filters) goes to jsonpath-ng.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from jsonpath_ng.exceptions import JsonPathParserError
from jsonpath_ng.ext import parse as jsonpath_parse

MISSING: Any = object()

_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


class PathError(ValueError):
    """A path expression that cannot be parsed."""


class CompiledPath:
    """A path ready to be applied to many documents."""

    def __init__(self, expression: str, steps: tuple[str | int, ...] | None, jsonpath: Any = None):
        self.expression = expression
        self._steps = steps
        self._jsonpath = jsonpath
        if steps is not None and len(steps) == 1:
            self.first = self._first_of_one  # the common case (`name`), without the loop
            self._step = steps[0]

    def first(self, document: Any) -> Any:
        """The first value at this path, or MISSING."""
        if self._steps is None:
            matches = self._jsonpath.find(document)
            return matches[0].value if matches else MISSING
        value = document
        for step in self._steps:
            try:
                value = value[step]
            except (KeyError, IndexError, TypeError):
                return MISSING
        return value

    @property
    def is_plain(self) -> bool:
        """True for a path to one place; False for wildcards, filters and recursive descent."""
        return self._steps is not None

    @property
    def keys(self) -> tuple[str, ...] | None:
        """The keys of a path to one place in nested objects (`model.name` -> ("model", "name")), the
        place an export writes back to; None for list indexes, the root, and anything not plain."""
        if not self._steps or not all(isinstance(step, str) for step in self._steps):
            return None
        return self._steps

    def all(self, document: Any) -> list[Any]:
        """Every value at this path (a plain path has at most one)."""
        if self._steps is None:
            return [match.value for match in self._jsonpath.find(document)]
        value = self.first(document)
        return [] if value is MISSING else [value]

    def _first_of_one(self, document: Any) -> Any:
        try:
            return document[self._step]
        except (KeyError, IndexError, TypeError):
            return MISSING

    def __repr__(self) -> str:
        return f"CompiledPath({self.expression!r})"


@lru_cache(maxsize=1024)
def compile_path(expression: str) -> CompiledPath:
    steps = _simple_steps(expression)
    if steps is not None:
        return CompiledPath(expression, steps)
    try:
        return CompiledPath(expression, None, jsonpath_parse(expression))
    except (JsonPathParserError, Exception) as exc:  # jsonpath-ng raises bare Exceptions too
        raise PathError(f"'{expression}' is not a valid JSON path ({exc})") from None


def _simple_steps(expression: str) -> tuple[str | int, ...] | None:
    """Split a plain dotted/indexed path into steps, or None if it needs a real JSONPath engine."""
    text = expression.strip()
    if text in ("", "$"):
        return ()
    if text.startswith("$."):
        text = text[2:]
    elif text.startswith("$["):
        text = text[1:]
    steps: list[str | int] = []
    position = 0
    while position < len(text):
        if text[position] == "." and steps:
            position += 1
        match = _STEP.match(text, position)
        if not match:
            return None
        name, index, single, double = match.groups()
        steps.append(int(index) if index is not None else next(s for s in (name, single, double) if s is not None))
        position = match.end()
    return tuple(steps)


def path_keys(expression: str) -> tuple[str, ...] | None:
    """`compile_path(expression).keys`, or None when the expression is not a path at all."""
    try:
        return compile_path(expression).keys
    except PathError:
        return None
