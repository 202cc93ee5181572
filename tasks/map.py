"""Vendor records -> rows of a hub object. Pure: no I/O (and no Prefect: a page worker process maps
with it, tasks/mapped_pages.py), so it is cheap to test and to retry.

Each record goes first through a function written for the spec (`_fast_rows`), which maps a
record of the expected shape in one pass; a record it cannot map as simply (a value missing,
drifted or refused, a key absent) is mapped again by the rule interpreter (`RecordMapper._values`),
which gives the exact outcome and reason. Both read the same compiled rules.

A record whose shape changed at the vendor (an object became text on a mapped path, a list came
where a number was) is schema drift: it is rejected, marked as drift, so its stored row keeps its
values instead of being overwritten with NULL. A value that is simply absent maps to None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, NamedTuple

from models.paths import MISSING, compile_path, json_kind
from models.spec import ConnectorSpec, FieldRule, Join, MapValues, Transform, template_paths
from models.targets import EXTERNAL_ID, FIELD_TYPES
from tasks.bind import BoundRows


class Rejected(ValueError):
    """Raised while mapping one record; the record is set aside with this reason."""


class Drifted(Rejected):
    """The record's shape changed at the vendor: a mapped path or value is not the kind it was."""


@dataclass
class Rejection:
    sync_key: str | None
    reason: str
    drift: bool = False


class MappedBatch:
    """One batch mapped. A plain class, not a dataclass: handed to upsert-records' `wait_for` (the run
    graph's edge), Prefect neither walks its rows nor loses track of the map-records run that made it."""

    __slots__ = ("rows", "rejected", "drift", "bound", "__weakref__")

    def __init__(self, rows: list[dict[str, Any]] | None = None, rejected: list[Rejection] | None = None,
                 drift: dict[str, int] | None = None, bound: BoundRows | None = None):
        self.rows: list[dict[str, Any]] = rows if rows is not None else []
        """Each row has `sync_key` and the target's fields (custom objects: `sync_key` and `data`)."""
        self.rejected: list[Rejection] = rejected if rejected is not None else []
        """Drifted records too, marked `drift`."""
        self.drift: dict[str, int] = drift if drift is not None else {}
        """Each drift reason ("model.name: expected an object at model, got a string") -> its records."""
        self.bound = bound
        """The rows bound for the database, in place of `rows`, when they were mapped for it (tasks/bind.py)."""

    def extend(self, other: MappedBatch) -> None:
        """Add `other`'s rows, rejections and drift after this batch's own."""
        self.rows += other.rows
        if other.bound is not None:
            if self.bound is None:
                self.bound = BoundRows()
            self.bound.extend(other.bound)
        self.rejected += other.rejected
        for reason, records in other.drift.items():
            self.drift[reason] = self.drift.get(reason, 0) + records

    def writes(self) -> list[dict[str, Any]] | BoundRows:
        """The rows for upsert-records: bound, if they were, else as mapped."""
        return self.bound if self.bound is not None else self.rows

    def keys(self) -> list[str | None]:
        """The sync key of every record mapped: the rows', then the rejections' (None where a rejection has none)."""
        rows = self.bound.keys() if self.bound is not None else [row["sync_key"] for row in self.rows]
        return rows + [rejection.sync_key for rejection in self.rejected]

    def only(self, keep: Callable[[str], bool]) -> MappedBatch:
        """The rows and rejections whose sync keys `keep` accepts (a rejection without a key: none)."""
        return MappedBatch(rows=[row for row in self.rows if keep(row["sync_key"])],
                           rejected=[rejection for rejection in self.rejected
                                     if rejection.sync_key is not None and keep(rejection.sync_key)],
                           bound=self.bound.only(keep) if self.bound is not None else None)

    @property
    def records(self) -> int:
        """How many records were mapped: rows and rejections."""
        return len(self.rows) + len(self.bound or ()) + len(self.rejected)


def _no_shape(value: Any, expected: str) -> None:
    """An object or a list where a scalar belongs is drift, not a bad value: raise it as such."""
    if isinstance(value, (dict, list)):
        raise Drifted(f"expected {expected}, got {json_kind(value)}")


def _to_str(value: Any) -> str:
    if isinstance(value, (dict, list)):
        raise Drifted(f"expected text, got {json_kind(value)}")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise Rejected("expected a number, got a boolean")
    try:
        return float(value)
    except (TypeError, ValueError):
        _no_shape(value, "a number")
        raise Rejected(f"expected a number, got {value!r}") from None


def _to_int(value: Any) -> int:
    number = _to_float(value) if not isinstance(value, int) or isinstance(value, bool) else value
    if number != int(number):
        raise Rejected(f"expected a whole number, got {value!r}")
    return int(number)


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise Rejected("expected a number, got a boolean")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        _no_shape(value, "a number")
        raise Rejected(f"expected a number, got {value!r}") from None


_TRUE, _FALSE = {"true", "yes", "y", "1", "on"}, {"false", "no", "n", "0", "off"}


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    _no_shape(value, "true or false")
    raise Rejected(f"expected true or false, got {value!r}")


def _to_datetime(value: Any, format: str | None = None) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, str):
        try:
            parsed = datetime.strptime(value, format) if format else datetime.fromisoformat(value)
        except ValueError:
            expected = f"a date like {format!r}" if format else "an ISO 8601 date"
            raise Rejected(f"expected {expected}, got {value!r}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    _no_shape(value, "a date")
    raise Rejected(f"expected a date, got {value!r}")


def _to_date(value: Any, format: str | None = None) -> date:
    if format is None and value.__class__ is str and len(value) == 10:  # "2024-05-31", the usual case
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass  # said below, as for any other value
    return _to_datetime(value, format).date()


CONVERT: dict[str, Callable[..., Any]] = {
    "str": _to_str, "int": _to_int, "float": _to_float, "decimal": _to_decimal, "bool": _to_bool,
    "datetime": _to_datetime, "date": _to_date,
}
"""A rule's explicit `type` -> its conversion."""

COERCE_TO: dict[type, tuple[type, Callable[[Any], Any]]] = {
    kind: (kind, coerce) for kind, coerce in ((str, _to_str), (float, _to_float), (datetime, _to_datetime))
}
"""Target column type -> (the type a value already has when it needs nothing done, the coercion)."""


def _text(name: str, function: Callable[[str], str]) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        if not isinstance(value, str):
            _no_shape(value, f"text for {name}")
            raise Rejected(f"{name} needs text, got {value!r}")
        return function(value)
    return apply


def _map_values(rule: MapValues) -> Callable[[Any], Any]:
    table = {str(key): mapped for key, mapped in rule.map.items()}

    def apply(value: Any) -> Any:
        key = _to_str(value)
        if key in table:
            return table[key]
        return rule.default if rule.default is not None else value
    return apply


def _join(separator: str) -> Callable[[Any], Any]:
    return lambda value: separator.join(_to_str(item) for item in value) if isinstance(value, list) else value


def _split(separator: str) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return [part.strip() for part in value.split(separator) if part.strip()]
    return apply


def compile_transform(transform: Transform) -> Callable[[Any], Any]:
    if transform == "lower":
        return _text("lower", str.lower)
    if transform == "upper":
        return _text("upper", str.upper)
    if transform == "strip":
        return _text("strip", str.strip)
    if isinstance(transform, MapValues):
        return _map_values(transform)
    if isinstance(transform, Join):
        return _join(transform.join)
    return _split(transform.split)


def _template(template: str) -> Callable[[Any], Any]:
    """Fill "{name.first} {name.last}" from a record; a missing path reads as empty text, a path
    whose shape changed is drift."""
    paths = {path: compile_path(path) for path in template_paths(template)}
    pattern = template
    for index, path in enumerate(paths):
        pattern = pattern.replace("{" + path, "{" + f"_{index}")
    names = {f"_{index}": path for index, path in enumerate(paths.values())}

    def render(record: Any) -> Any:
        values = {name: path.first(record) for name, path in names.items()}
        for name, value in values.items():
            if value is MISSING and (why := names[name].explain(record)) is not None:
                raise Drifted(f"{names[name].expression}: {why}")
        if all(value is MISSING or value is None for value in values.values()):
            return MISSING
        return pattern.format(**{n: "" if v is MISSING or v is None else v for n, v in values.items()}).strip()
    return render


def _json_safe(value: Any) -> Any:
    """Custom objects are stored as JSON documents."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


class _Field(NamedTuple):
    """One compiled rule; unpacked in the per-record loop, which runs a million times a 100k sync."""

    name: str
    get: Callable[[Any], Any] | None
    constant: Any
    default: Any
    required: bool
    origin: str | None
    steps: tuple[Callable[[Any], Any], ...]
    kind: type | None
    coerce: Callable[[Any], Any] | None


class RecordMapper:
    """Applies a spec's mapping to records; compiled once per run."""

    def __init__(self, spec: ConnectorSpec):
        types = FIELD_TYPES[spec.target.object]
        self.custom = types is None
        self.sync_key = spec.sync_key
        self.sync_source = spec.mapping[spec.sync_key].source or "a constant"
        self.fields = [self._compile(name, rule, types) for name, rule in spec.mapping.items()]
        # field -> why its path found nothing: looked up only then, so the per-record loop is unchanged
        self._explain = {name: compile_path(rule.source).explain for name, rule in spec.mapping.items()
                         if rule.source is not None}
        self._key_getter = next(field.get for field in self.fields if field.name == self.sync_key)
        self._fast_row = _fast_rows(self.fields, [compile_path(rule.source).keys if rule.source else None
                                                  for rule in spec.mapping.values()], self.sync_key, self.custom)

    @staticmethod
    def _compile(name: str, rule: FieldRule, types: dict[str, type] | None) -> _Field:
        get = None
        if rule.source is not None:
            get = compile_path(rule.source).first
        elif rule.template is not None:
            get = _template(rule.template)
        steps = [compile_transform(transform) for transform in rule.transforms]
        if rule.type is not None:
            convert = CONVERT[rule.type]
            steps.append((lambda value, c=convert, f=rule.format: c(value, f)) if rule.format else convert)
        kind, coerce = (None, None)
        if types is not None and name != EXTERNAL_ID:
            kind, coerce = COERCE_TO[types[name]]
        return _Field(name, get, rule.constant, rule.default, rule.required, rule.source or rule.template,
                      tuple(steps), kind, coerce)

    def map(self, records: list[Any]) -> MappedBatch:
        batch = MappedBatch()
        fast_row, rows = self._fast_row, batch.rows
        for record in records:
            row = fast_row(record)
            if row is not None:
                rows.append(row)
                continue
            try:
                values = self._values(record)
                key = values.pop(self.sync_key) if self.sync_key == EXTERNAL_ID else values.get(self.sync_key)
                if key is None or key == "":
                    raise Rejected(f"no sync key: '{self.sync_key}' (from {self.sync_source}) is empty")
                try:
                    key = _to_str(key)
                except Drifted as exc:
                    raise Drifted(f"{self.sync_source}: {exc}") from None
            except Drifted as exc:
                reason = str(exc)
                batch.rejected.append(Rejection(self._guess_key(record), reason, drift=True))
                batch.drift[reason] = batch.drift.get(reason, 0) + 1
                continue
            except Rejected as exc:
                batch.rejected.append(Rejection(self._guess_key(record), str(exc)))
                continue
            values.pop(EXTERNAL_ID, None)
            if self.custom:
                batch.rows.append({"sync_key": key, "data": {k: _json_safe(v) for k, v in values.items()}})
            else:
                batch.rows.append({"sync_key": key, **values})
        return batch

    def _values(self, record: Any) -> dict[str, Any]:
        if not isinstance(record, dict):
            raise Rejected(f"a record must be a JSON object, got {type(record).__name__}")
        values = {}
        for name, get, constant, default, required, origin, steps, kind, coerce in self.fields:
            value = constant if get is None else get(record)
            if value is MISSING or value is None:
                if value is MISSING:
                    self._raise_if_drifted(name, origin, record)
                value = default
                if value is None:
                    if required:
                        raise Rejected(f"required field '{name}' is missing (source {origin})")
                    values[name] = None
                    continue
            if steps or (coerce is not None and value.__class__ is not kind):
                try:
                    for step in steps:
                        value = step(value)
                    if coerce is not None and value.__class__ is not kind:
                        value = coerce(value)
                except Rejected as exc:
                    if exc.__class__ is Drifted and get is not None:  # a vendor's value, not the spec's constant
                        raise Drifted(f"{origin}: {exc}") from None
                    raise Rejected(f"field '{name}': {exc}") from None
            values[name] = value
        return values

    def _raise_if_drifted(self, name: str, origin: str | None, record: Any) -> None:
        """Raise `Drifted` when the path of field `name` found nothing because the record's shape changed."""
        explain = self._explain.get(name)
        why = explain(record) if explain is not None else None
        if why is not None:
            raise Drifted(f"{origin}: {why}")

    def _guess_key(self, record: Any) -> str | None:
        """The sync key of a rejected record, if it can be read at all, so the log can name it."""
        if self._key_getter is None or not isinstance(record, dict):
            return None
        value = self._key_getter(record)
        return None if value is MISSING or value is None or isinstance(value, (dict, list)) else str(value)


def _fast_rows(fields: list[_Field], paths: list[tuple[str, ...] | None], sync_key: str,
               custom: bool) -> Callable[[Any], dict[str, Any] | None]:
    """A function that maps one record to its row, or returns None for the interpreter to map it.

    It is written for the spec, a field at a time, so the per-record loop interprets nothing: a
    path of object keys is read with `dict.get` (a missing key or a null on the way is absent, as
    the interpreter has it), other paths and templates by their compiled getters. It gives up (None)
    whenever the interpreter might do anything else than store a plain value: a required field
    without a value, no sync key, any exception (a shape that drifted, a value refused)."""
    space: dict[str, Any] = {"MISSING": MISSING, "to_str": _to_str, "json_safe": _json_safe}
    lines = ["def fast_row(r):", "    try:"]
    for index, field in enumerate(fields):
        space.update({f"get{index}": field.get, f"const{index}": field.constant, f"default{index}": field.default,
                      f"kind{index}": field.kind, f"coerce{index}": field.coerce})
        code = []
        if field.get is None:
            code.append(f"v = const{index}")
        elif paths[index]:
            first, *rest = paths[index]
            code.append(f"v = r.get({first!r})")
            code += [f"if v is not None: v = v.get({key!r})" for key in rest]
        else:
            code += [f"v = get{index}(r)", "if v is MISSING: return None"]
        if field.default is not None:
            code.append(f"if v is None: v = default{index}")
        elif field.required:
            code.append("if v is None: return None")
        convert = [f"v = step{index}_{number}(v)" for number in range(len(field.steps))]
        space.update({f"step{index}_{number}": step for number, step in enumerate(field.steps)})
        if field.coerce is not None:
            convert.append(f"if v.__class__ is not kind{index}: v = coerce{index}(v)")
        if convert:
            code += ["if v is not None:", *(f"    {line}" for line in convert)]
        code.append(f"f{index} = v")
        lines += [f"        {line}" for line in code]
    key = f"f{next(index for index, field in enumerate(fields) if field.name == sync_key)}"
    lines += [f"        if {key} is None or {key} == '': return None",
              f"        key = {key} if {key}.__class__ is str else to_str({key})"]
    stored = [(index, field) for index, field in enumerate(fields) if field.name != EXTERNAL_ID]
    if custom:  # only converted values and constants can be dates or decimals: JSON's own values are stored as they are
        values = ", ".join(f"{field.name!r}: " + (f"f{index}" if field.get is not None and not field.steps
                                                   else f"json_safe(f{index})") for index, field in stored)
        lines.append(f"        return {{'sync_key': key, 'data': {{{values}}}}}")
    else:
        values = "".join(f", {field.name!r}: f{index}" for index, field in stored)
        lines.append(f"        return {{'sync_key': key{values}}}")
    lines += ["    except Exception:", "        return None"]
    exec(compile("\n".join(lines), "<fast_row>", "exec"), space)
    return space["fast_row"]
