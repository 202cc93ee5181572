"""JSON paths into vendor records.

Plain paths (`model.name`, `$.data.assets`, `addresses[0].street`) compile to a tuple of keys
and indexes walked directly: they run once per field per record, so they must be cheap.
Anything richer (wildcards, recursive descent, filters) goes to jsonpath-ng.

When a plain path finds nothing, `explain` tells a value that is simply absent from one whose
shape changed on the way (schema drift); it walks the path again, so it is called only then.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from jsonpath_ng.exceptions import JsonPathParserError
from jsonpath_ng.ext import parse as jsonpath_parse

MISSING: Any = object()

_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


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
        elif steps is not None and len(steps) == 2:
            self.first = self._first_of_two  # the next most common (`model.name`)
            self._step, self._second = steps

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

    def explain(self, document: Any) -> str | None:
        """Why `first` found nothing in `document`: None when the value is simply absent (a missing
        key, an index past the end, a null on the way), else the type mismatch that stopped the walk
        ("expected an object at model, got a string"). Paths that are not plain are taken as absent."""
        if self._steps is None:
            return None
        value = document
        for position, step in enumerate(self._steps):
            if value is None:
                return None
            if isinstance(step, str):
                if not isinstance(value, dict):
                    return f"expected an object at {self._place(position)}, got {json_kind(value)}"
            elif not isinstance(value, list):
                return f"expected a list at {self._place(position)}, got {json_kind(value)}"
            try:
                value = value[step]
            except (KeyError, IndexError):
                return None
        return None

    def _place(self, position: int) -> str:
        """The path up to step `position`, as an operator wrote it: `addresses[0]`, `model`."""
        if position == 0:
            return "the top level"
        text = ""
        for step in self._steps[:position]:
            if isinstance(step, int):
                text += f"[{step}]"
            elif _NAME.fullmatch(step):
                text += f".{step}" if text else step
            else:
                text += f"[{step!r}]"
        return text

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

    def within(self, other: CompiledPath) -> bool:
        """Whether this path may read what the plain path `other` finds, or inside it: it starts with
        `other`'s steps, or it is not plain (and could match anywhere)."""
        return self._steps is None or self._steps[:len(other._steps)] == other._steps

    def without(self, document: Any) -> Any:
        """`document` with what this plain path finds (it must find something) replaced by an empty
        list: the containers on the way are copied, `document` itself is left as it was."""
        if not self._steps:
            return []
        top = copy = _shallow_copy(document)
        for step in self._steps[:-1]:
            copy[step] = _shallow_copy(copy[step])
            copy = copy[step]
        copy[self._steps[-1]] = []
        return top

    def _first_of_one(self, document: Any) -> Any:
        try:
            return document[self._step]
        except (KeyError, IndexError, TypeError):
            return MISSING

    def _first_of_two(self, document: Any) -> Any:
        try:
            return document[self._step][self._second]
        except (KeyError, IndexError, TypeError):
            return MISSING

    def __repr__(self) -> str:
        return f"CompiledPath({self.expression!r})"


def value_at(document: Any, path: str) -> Any:
    """The first value at `path` in `document`, None when there is none."""
    value = compile_path(path).first(document)
    return None if value is MISSING else value


def int_at(document: Any, path: str | None) -> int | None:
    """The whole number at `path` (None: no path, no value, or not a number)."""
    if path is None:
        return None
    try:
        value = value_at(document, path)
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _shallow_copy(container: Any) -> Any:
    return dict(container) if isinstance(container, dict) else list(container)


def json_kind(value: Any) -> str:
    """A JSON value's kind, as a message names it: "an object", "a list", "a string", "a number"."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    kind = {dict: "an object", list: "a list", str: "a string"}.get(type(value))
    return kind or f"a {type(value).__name__}"


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
