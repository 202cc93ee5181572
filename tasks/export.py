"""A hub record back to the vendor: the mapping run in reverse, and the request that pushes it.

`vendor_body` and `export_path` are pure. A field is sent only when its rule can be reversed
(`FieldRule.why_not_reversible` says why not): a plain `source` path (`model.name`) is written
at that nested path. Never sent: templates and constants (built, not read), wildcard, filter and
list-index paths (no single place to write), join and split (they change the value's shape), and
value maps with a default or with two keys giving the same value. A one-to-one value map is
looked up backwards (a value it does not produce went through unchanged, and goes back so);
lower, upper and strip only normalised text, and the hub's value goes back as it is.
Datetimes go out as ISO 8601 in UTC, dates (`type: date`) as YYYY-MM-DD, either in the rule's
`format` when it has one.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from prefect import task
from prefect.cache_policies import NO_CACHE

from blocks.host_bound import vendor_client
from models.errors import HubError
from models.paths import path_keys
from models.redact import redact
from models.spec import ConnectorSpec, FieldRule, MapValues, placeholders
from tasks.http import SNIPPET_SCAN_CHARS, RetryPolicy, failure, send

ANSWER_CHARS = 120


def vendor_body(spec: ConnectorSpec, record: dict[str, Any]) -> dict[str, Any]:
    """The JSON an export sends for `record` (a hub record's target fields, `external_id` included
    when it is the sync key), wrapped under `export.body_path` when the spec has one."""
    body: dict[str, Any] = {}
    for name in spec.export_fields:
        if name in record:  # external_id is only known when it is the sync key
            rule = spec.mapping[name]
            _put(body, path_keys(rule.source), outgoing(rule, record[name]))
    if spec.export.body_path:
        wrapped: dict[str, Any] = {}
        _put(wrapped, path_keys(spec.export.body_path), body)
        return wrapped
    return body


def export_path(spec: ConnectorSpec, sync_key: str, record: dict[str, Any]) -> str:
    """`export.path` with its placeholders filled from the record, each URL-encoded."""
    values = {}
    for name in placeholders(spec.export.path):
        value = sync_key if name == "sync_key" else record.get(name)
        if value is None or value == "":
            raise HubError(f"export.path {spec.export.path} needs the record's {name}, and it has none")
        if name != "sync_key":
            value = outgoing(spec.mapping[name], value)
        values[name] = quote(str(value), safe="")
    return spec.export.path.format(**values)


def not_sent(spec: ConnectorSpec) -> dict[str, str]:
    """The mapped fields an export can never send, with why."""
    return {name: why for name, rule in spec.mapping.items() if (why := rule.why_not_reversible())}


def outgoing(rule: FieldRule, value: Any) -> Any:
    """One hub value as the vendor had it: dates as text, then value maps looked up backwards
    (the mapping's steps undone in reverse order)."""
    if value is None:
        return None
    value = _as_text_if_date(rule, value)
    for transform in reversed(rule.transforms):
        if isinstance(transform, MapValues):
            value = next((key for key, mapped in transform.map.items() if mapped == value), value)
    return value


def _as_text_if_date(rule: FieldRule, value: Any) -> Any:
    if rule.type in ("datetime", "date") and isinstance(value, str):
        value = datetime.fromisoformat(value)  # custom records keep their dates as ISO text
    if isinstance(value, datetime):
        value = value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
        if rule.format:
            return value.strftime(rule.format)
        return value.date().isoformat() if rule.type == "date" else value.isoformat()
    if isinstance(value, date):
        return value.strftime(rule.format) if rule.format else value.isoformat()
    return value


def _put(document: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    *parents, last = keys
    for key in parents:
        document = document.setdefault(key, {})
    document[last] = value


@task(name="push-record", cache_policy=NO_CACHE)
def push_record(spec: ConnectorSpec, auth: httpx.Auth, body: dict[str, Any], path: str) -> tuple[int, str]:
    """Send one record with `export.method` to `path`; returns the status and a summary of the vendor's answer.

    Retried like a page (429, 5xx, timeouts, with backoff); any other failure raises a `HubError`
    with the vendor's reason. A status the spec ignores when reading is still a failure here.
    """
    with vendor_client(auth, spec.request) as client:
        request = client.build_request(spec.export.method, f"{spec.request.base_url}/{path.lstrip('/')}", json=body)
        response = send(client, request, spec.vendor, RetryPolicy.from_spec(spec.http))
    if response.is_error:
        raise failure(response, spec.vendor)
    return response.status_code, summary(response)


_NOTABLE = ("id", "status", "version", "updated_at")
"""The fields of a vendor's answer worth a place in the action log: which record it is now, and how recent."""


def summary(response: httpx.Response) -> str:
    """The vendor's answer in a few words for the action log, never its whole body: `(a record of 12
    fields: id 42, status repair, updated_at 2026-12-03T10:00:00Z)`, `(a list of 3 items)`, or the
    start of an answer that is not JSON, redacted."""
    if not response.content.strip():
        return ""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        text = redact(" ".join(response.text[:SNIPPET_SCAN_CHARS].split()))
        return f"({text[:ANSWER_CHARS]}{'…' if len(text) > ANSWER_CHARS else ''})"
    if isinstance(body, dict):
        notable = [f"{name} {body[name]}" for name in _NOTABLE if isinstance(body.get(name), (str, int, float))]
        fields = f"a record of {len(body)} field{'s' if len(body) != 1 else ''}"
        return redact(f"({fields}: {', '.join(notable)})" if notable else f"({fields})")
    if isinstance(body, list):
        return f"(a list of {len(body)} item{'s' if len(body) != 1 else ''})"
    return redact(f"({str(body)[:ANSWER_CHARS]})")
