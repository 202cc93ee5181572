"""Vendor records -> rows of a hub object. Pure: no I/O, so it is cheap to test and to retry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from prefect import task
from prefect.cache_policies import NO_CACHE

from models.paths import MISSING, compile_path
from models.spec import ConnectorSpec
from models.targets import EXTERNAL_ID, FIELD_TYPES


class Rejected(ValueError):
    """Raised while mapping one record; the record is set aside with this reason."""


@dataclass
class Rejection:
    sync_key: str | None
    reason: str


@dataclass
class MappedBatch:
    rows: list[dict[str, Any]] = field(default_factory=list)
    """Each row has `sync_key` and the target's fields (custom objects: `sync_key` and `data`)."""
    rejected: list[Rejection] = field(default_factory=list)


def _to_str(value: Any) -> str:
    if isinstance(value, (dict, list)):
        raise Rejected(f"expected text, got {'an object' if isinstance(value, dict) else 'a list'}")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise Rejected("expected a number, got a boolean")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise Rejected(f"expected a number, got {value!r}") from None


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise Rejected(f"expected an ISO 8601 date, got {value!r}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    raise Rejected(f"expected a date, got {value!r}")


COERCE_TO: dict[type, tuple[type, Callable[[Any], Any]]] = {
    kind: (kind, coerce) for kind, coerce in ((str, _to_str), (float, _to_float), (datetime, _to_datetime))
}
"""Target type -> (the type a value already has when it needs nothing done, the coercion)."""


class RecordMapper:
    """Applies a spec's mapping to records; compiled once per run."""

    def __init__(self, spec: ConnectorSpec):
        types = FIELD_TYPES[spec.target.object]
        self.custom = types is None
        self.sync_key = spec.sync_key
        self.sync_source = spec.mapping[spec.sync_key].source or "a constant"
        self.fields = [
            (
                name,
                compile_path(rule.source).first if rule.source is not None else None,
                rule,
                *(COERCE_TO[types[name]] if types is not None and name != EXTERNAL_ID else (None, None)),
            )
            for name, rule in spec.mapping.items()
        ]
        self._key_getter = next(get for name, get, *_ in self.fields if name == self.sync_key)

    def map(self, records: list[Any]) -> MappedBatch:
        batch = MappedBatch()
        for record in records:
            try:
                values = self._values(record)
                key = values.pop(self.sync_key) if self.sync_key == EXTERNAL_ID else values.get(self.sync_key)
                if key is None or key == "":
                    raise Rejected(f"no sync key: '{self.sync_key}' (from {self.sync_source}) is empty")
                key = _to_str(key)
            except Rejected as exc:
                batch.rejected.append(Rejection(self._guess_key(record), str(exc)))
                continue
            values.pop(EXTERNAL_ID, None)
            batch.rows.append({"sync_key": key, "data": values} if self.custom else {"sync_key": key, **values})
        return batch

    def _values(self, record: Any) -> dict[str, Any]:
        if not isinstance(record, dict):
            raise Rejected(f"a record must be a JSON object, got {type(record).__name__}")
        values = {}
        for name, get, rule, kind, coerce in self.fields:
            value = rule.constant if get is None else get(record)
            if value is MISSING or value is None:
                value = rule.default
                if value is None:
                    if rule.required:
                        raise Rejected(f"required field '{name}' is missing (source {rule.source})")
                    values[name] = None
                    continue
            if coerce is not None and value.__class__ is not kind:
                try:
                    value = coerce(value)
                except Rejected as exc:
                    raise Rejected(f"field '{name}': {exc}") from None
            values[name] = value
        return values

    def _guess_key(self, record: Any) -> str | None:
        """The sync key of a rejected record, if it can be read at all, so the log can name it."""
        if self._key_getter is None or not isinstance(record, dict):
            return None
        value = self._key_getter(record)
        return None if value is MISSING or value is None else str(value)


@task(name="map-records", cache_policy=NO_CACHE)
def map_records(records: list[Any], spec: ConnectorSpec) -> MappedBatch:
    """Map one batch of vendor records; rejected records are returned with their reasons."""
    return RecordMapper(spec).map(records)
