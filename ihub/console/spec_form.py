"""The connector form's first step as a part of the spec, and back: which form field shows which part
of the spec, and each spec problem beside its field.

This only translates: every rule stays the spec's own (models/spec.py), checked by `ConnectorSpec.parse`.
"""

from __future__ import annotations

import json
from typing import Any

from models.spec import Problem

PAGINATION_FIELDS: dict[str, tuple[str, ...]] = {
    "none": (),
    "offset": ("limit", "limit_param", "offset_param", "total_path"),
    "page": ("size", "page_param", "size_param", "first_page", "total_pages_path", "total_path"),
    "cursor": ("cursor_path", "cursor_header", "cursor_param", "has_more_path", "size", "size_param"),
    "advanced": ("next_url_path", "stop_path"),
}
"""The pagination types of seed 004 (limit-offset, limit-page, cursor, advanced, none) and the fields each shows."""

PAGINATION_LABELS = {"offset": "Limit/Offset", "page": "Limit/Page", "cursor": "Cursor", "advanced": "Advanced",
                     "none": "No Pagination"}
TARGETS = {"asset": "Assets", "person": "Users (people)", "custom": "Custom objects"}

_SPEC_FIELDS = {("vendor",): "vendor", ("request", "base_url"): "base_url", ("request", "method"): "method",
                ("request", "path"): "path", ("request", "params"): "params", ("request", "headers"): "headers",
                ("request", "body"): "body", ("records", "path"): "records_path", ("records",): "records_path",
                ("target", "object"): "target", ("target", "custom_type"): "custom_type", ("target",): "target",
                ("pagination",): "pagination", ("pagination", "type"): "pagination", ("request",): "base_url"}


class FormProblem(ValueError):
    """Text in a field that is not in the form's own format (a params line without `=`, a body that is not JSON)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def field_of(loc: tuple[str | int, ...], pagination: str) -> str | None:
    """The form field that shows the spec's part at `loc`, or None when the form does not show it."""
    if len(loc) >= 2 and loc[0] == "pagination" and loc[1] in PAGINATION_FIELDS.get(pagination, ()):
        return f"{pagination}-{loc[1]}"
    for length in range(len(loc), 0, -1):
        if loc[:length] in _SPEC_FIELDS:
            return _SPEC_FIELDS[loc[:length]]
    return None


def problems_by_field(problems: list[Problem], pagination: str) -> tuple[dict[str, str], list[str]]:
    """Each problem beside its field; the others (parts of the spec the form does not show) in a list."""
    fields: dict[str, str] = {}
    others: list[str] = []
    for problem in problems:
        name = field_of(problem.loc, pagination)
        if name is None:
            where = ".".join(map(str, problem.loc))
            others.append(f"{where}: {problem.message}" if where else problem.message)
        else:
            deeper = ".".join(map(str, problem.loc[2:] if name != "records_path" else ()))
            text = f"{deeper}: {problem.message}" if deeper and name in ("params", "headers", "body") else problem.message
            fields[name] = f"{fields[name]}; {text}" if name in fields else text
    return fields, others


def form_values(spec: dict[str, Any]) -> dict[str, str]:
    """The first step's fields filled from a spec (as `model_dump(mode="json")` gives it)."""
    request = spec.get("request", {})
    pagination = spec.get("pagination", {"type": "none"})
    target = spec.get("target", {})
    values = {
        "vendor": spec.get("vendor", ""), "base_url": request.get("base_url", ""),
        "method": request.get("method", "GET"), "path": request.get("path", ""),
        "params": "\n".join(f"{k}={v}" for k, v in (request.get("params") or {}).items()),
        "headers": "\n".join(f"{k}: {v}" for k, v in (request.get("headers") or {}).items()),
        "body": json.dumps(request["body"], indent=2) if request.get("body") is not None else "",
        "records_path": spec.get("records", {}).get("path", "$"), "target": target.get("object", "asset"),
        "custom_type": target.get("custom_type") or "", "pagination": pagination.get("type", "none"),
    }
    for kind, names in PAGINATION_FIELDS.items():
        for name in names:
            value = pagination.get(name) if pagination.get("type") == kind else None
            values[f"{kind}-{name}"] = "" if value is None else str(value)
    return values


def spec_data(form: dict[str, str], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """The spec `current` (None for a new one) with the first step's fields put in; not yet validated.

    What the form does not show (timeouts, a records filter, a pagination's sort) stays as it was,
    unless the pagination type changes, which starts that block afresh.
    """
    data = json.loads(json.dumps(current or {}))
    data["vendor"] = form.get("vendor", "").strip()
    request = data.setdefault("request", {})
    request.update(base_url=form.get("base_url", "").strip(), method=form.get("method", "GET"),
                   path=form.get("path", "").strip(), params=_pairs(form.get("params", ""), "=", "params"),
                   headers=_pairs(form.get("headers", ""), ":", "headers"))
    body = form.get("body", "").strip()
    request.pop("body", None)
    if body:
        try:
            request["body"] = json.loads(body)
        except json.JSONDecodeError as exc:
            raise FormProblem("body", f"the body is not valid JSON: {exc}") from None
    data.setdefault("records", {})["path"] = form.get("records_path", "").strip() or "$"
    data["target"] = {"object": form.get("target", "")}
    if form.get("custom_type", "").strip():
        data["target"]["custom_type"] = form["custom_type"].strip()
    kind = form.get("pagination", "none")
    before = data.get("pagination") or {}
    pagination = dict(before) if before.get("type") == kind else {}
    pagination["type"] = kind
    for name in PAGINATION_FIELDS.get(kind, ()):
        value = form.get(f"{kind}-{name}", "").strip()
        if value:
            pagination[name] = value
        else:
            pagination.pop(name, None)
    data["pagination"] = pagination
    return data


def _pairs(text: str, separator: str, field: str) -> dict[str, str]:
    """`name=value` (or `Name: value`) lines as a mapping; blank lines skipped."""
    pairs = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, found, value = line.partition(separator)
        if not found or not name.strip():
            example = "name=value" if separator == "=" else "Name: value"
            raise FormProblem(field, f"line {number} ({line.strip()!r}) is not {example}: one a line")
        pairs[name.strip()] = value.strip()
    return pairs
