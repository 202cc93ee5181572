"""The declarative connector spec: everything a universal-connector integration needs.

A spec is validated whole when it is loaded (from YAML, JSON or the database), so a bad spec
fails with a message naming the field and the problem, never in the middle of a run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import SplitResult, urlsplit

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from models.cron import cron_problem
from models.paths import PathError, compile_path, path_keys
from models.suggest import did_you_mean
from models.targets import EXTERNAL_ID, TARGET_FIELDS, TargetObject


class SpecError(ValueError):
    """A connector spec that cannot be used; the message lists every problem found.

    `problems` holds each one with its place in the spec, so a form can show it beside its field
    and an editor on the YAML line that holds it."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


@dataclass
class Problem:
    """One problem of a spec: where (`("request", "base_url")`; empty for the spec as a whole) and what."""

    loc: tuple[str | int, ...]
    message: str


def _check_path(value: str) -> str:
    try:
        compile_path(value)
    except PathError as exc:
        raise ValueError(str(exc)) from None
    return value


JsonPath = Annotated[str, AfterValidator(_check_path)]
"""A JSON path (`data.items`, `$.meta.next`, `tags[*].name`), checked when the spec is loaded."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?", re.IGNORECASE)


class RequestSpec(_Strict):
    """The web service URL (seed 004) and what to send with each request."""

    base_url: str = Field(description="scheme and host of the vendor API, e.g. https://api.example.com")
    path: str = Field(default="", description="path of the endpoint that returns the records")
    method: Literal["GET", "POST"] = "GET"
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    body: dict[str, Any] | None = Field(default=None, description="JSON body, for POST endpoints")
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=30.0, gt=0, description="read timeout for each response")
    connect_timeout_seconds: float = Field(default=10.0, gt=0)
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="other hosts (host or host:port) the vendor may send the run to in a next-page URL, e.g. "
                    "[files.example.com]; they get the credentials too. Any other host is refused",
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("allowed_hosts")
    @classmethod
    def _host_names(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            if not _HOST.fullmatch(host):
                raise ValueError(f"{host!r} is not a host name or host:port (no scheme, no path), e.g. files.example.com")
        return [host.lower() for host in hosts]

    @property
    def host(self) -> str:
        """The base URL's host (and port when it is not the default): where the credentials go."""
        return _host_of(urlsplit(self.base_url))

    def foreign(self, url: str) -> str | None:
        """Why `url` is not one of the spec's own hosts, with what to do, or None when it is one.

        Its own hosts: the base URL's host and port, and `allowed_hosts` (a host alone allows any
        port); never over plain http when the base URL is https. Reads "on another host (x);
        credentials are only sent to …", to follow "sent a next-page URL".
        """
        other = urlsplit(url)
        host = _host_of(other)
        if other.scheme not in ("http", "https"):
            return f"that is not http(s) ({other.scheme or 'no scheme'}); credentials are only sent to {self.host}"
        if urlsplit(self.base_url).scheme == "https" and other.scheme != "https":
            return f"over plain http ({host}); credentials are only sent over https to {self.host}"
        if host == self.host or host in self.allowed_hosts or other.hostname in self.allowed_hosts:
            return None
        return (f"on another host ({host}); credentials are only sent to {self.host}: "
                f"add the host to request.allowed_hosts in the spec if that is intended")

    @property
    def url(self) -> str:
        if not self.path:
            return self.base_url
        return f"{self.base_url}/{self.path.lstrip('/')}"


def _host_of(url: SplitResult) -> str:
    """host, or host:port when the port is not the scheme's default; lower case."""
    host = (url.hostname or "").lower()
    try:
        port = url.port
    except ValueError:  # not a number: keep it, so it matches nothing
        return url.netloc.rpartition("@")[2].lower()
    return host if port in (None, {"http": 80, "https": 443}.get(url.scheme)) else f"{host}:{port}"


class HttpSpec(_Strict):
    """How politely and how stubbornly to talk to the vendor."""

    max_attempts: int = Field(default=5, ge=1, le=20, description="tries of one request, the first included")
    backoff_seconds: float = Field(default=0.5, gt=0, description="first wait; doubled after each failure")
    max_backoff_seconds: float = Field(default=60.0, gt=0)
    requests_per_second: float | None = Field(default=None, gt=0, description="client-side rate limit")
    concurrency: int = Field(
        default=4, ge=1, le=32,
        description="page requests in flight at once where the next pages are known ahead (offset and page "
                    "pagination), inside requests_per_second; cursor and next-URL pagination fetch the next "
                    "page while the current one is written; a dependent stream reads this many parents' "
                    "children at once",
    )
    status_rules: dict[int, Literal["retry", "ignore", "fail"]] = Field(
        default_factory=dict,
        description="per HTTP status: retry it, ignore it (no records), or fail at once; "
                    "by default 429 and 5xx are retried and other 4xx fail",
    )

    @field_validator("status_rules")
    @classmethod
    def _http_statuses(cls, rules: dict[int, str]) -> dict[int, str]:
        odd = [status for status in rules if not 100 <= status <= 599]
        if odd:
            raise ValueError(f"{odd[0]} is not an HTTP status")
        return rules


class AuthRef(_Strict):
    """Which credentials block to use; the secret itself never appears in a spec.

    `type: none` (or no `auth` at all) is an open API: no credentials are needed or sent.
    """

    type: Literal["none", "api_token", "basic", "oauth2", "aws"]
    block: str | None = Field(default=None, min_length=1, description="name of the saved credentials block")

    @model_validator(mode="after")
    def _block_for_credentials(self) -> AuthRef:
        if self.type == "none" and self.block is not None:
            raise ValueError("auth type none sends no credentials, so it takes no block")
        if self.type != "none" and self.block is None:
            raise ValueError(f"auth type {self.type} needs block: the name of its credentials "
                             f"(`ihub credentials create NAME --type {self.type}`)")
        return self

    @property
    def open(self) -> bool:
        """An open API: nothing to authenticate with."""
        return self.type == "none"


class NoPagination(_Strict):
    """A single request returns every record."""

    type: Literal["none"] = "none"


class _Paginated(_Strict):
    max_pages: int | None = Field(default=None, gt=0, description="stop after this many pages")
    location: Literal["query", "body"] = Field(
        default="query", description="where the paging parameters go: the query string or the JSON body (POST)"
    )


class StableSort(_Strict):
    """The vendor's stable order, sent with every page: `{param: sort, value: "updated_at,id"}`.

    Offsets and page numbers only mean the same place on every request when the vendor sorts
    the same way each time, by fields that end in a unique one (`updated_at,id`, not `updated_at`).
    """

    param: str = Field(min_length=1, description="the parameter (or body field) the order is sent as, e.g. sort")
    value: str = Field(min_length=1, description='the vendor\'s sort expression, e.g. "updated_at,id"')


class _Sorted(_Paginated):
    sort: StableSort | None = Field(
        default=None, description="the vendor's stable sort, sent with every page, e.g. {param: sort, value: id}")

    @model_validator(mode="after")
    def _sort_is_not_a_paging_parameter(self) -> _Sorted:
        paging = {name: getattr(self, name) for name in type(self).model_fields if name.endswith("_param")}
        if self.sort is not None and self.sort.param in paging.values():
            clash = next(name for name, value in paging.items() if value == self.sort.param)
            raise ValueError(f"sort.param '{self.sort.param}' is already the {clash}; the order needs its own parameter")
        return self


class _Counted(_Sorted):
    """Offsets and page numbers, and where the vendor says how many records there are in all."""

    total_path: JsonPath | None = Field(default=None, description="JSON path of the total record count")
    total_header: str | None = Field(
        default=None, min_length=1, description="response header with the total record count, e.g. X-Total-Count")

    @model_validator(mode="after")
    def _one_total(self) -> _Counted:
        if self.total_path is not None and self.total_header is not None:
            raise ValueError("give the total in one place: total_path (in the body) or total_header")
        return self

    @property
    def total_source(self) -> str | None:
        """Where the total is read, in words: `meta.total`, `the X-Total-Count header`; None without one."""
        return self.total_path or (f"the {self.total_header} header" if self.total_header else None)


class OffsetPagination(_Counted):
    """Limit/offset: ask for `limit` records starting at `offset`."""

    type: Literal["offset"] = "offset"
    limit: int = Field(default=100, gt=0, le=100_000)
    limit_param: str = "limit"
    offset_param: str = "offset"
    start_offset: int = Field(default=0, ge=0)



class PagePagination(_Counted):
    """Limit/page: ask for page 1, 2, 3… of `size` records."""

    type: Literal["page"] = "page"
    size: int = Field(default=100, gt=0, le=100_000)
    page_param: str = "page"
    size_param: str = "per_page"
    first_page: Literal[0, 1] = 1
    total_pages_path: JsonPath | None = Field(default=None, description="JSON path of the number of pages")



class CursorPagination(_Paginated):
    """The vendor hands out the next page's cursor, in the body or in a header."""

    type: Literal["cursor"] = "cursor"
    cursor_path: JsonPath | None = Field(default=None, description="JSON path of the next cursor in the body")
    cursor_header: str | None = Field(default=None, description="response header with the next cursor")
    cursor_param: str = Field(default="cursor", description="parameter (or body field) the cursor is sent as")
    has_more_path: JsonPath | None = Field(default=None, description="JSON path of a flag that is false on the last page")
    size: int | None = Field(default=None, gt=0, description="page size to ask for, if the API takes one")
    size_param: str = "limit"


    @model_validator(mode="after")
    def _one_source(self) -> CursorPagination:
        if (self.cursor_path is None) == (self.cursor_header is None):
            raise ValueError("give exactly one of cursor_path (in the body) and cursor_header")
        return self


class NextUrlPagination(_Paginated):
    """Advanced: follow the next page's URL, from the `Link` header (rel="next") or a JSON path."""

    type: Literal["advanced"] = "advanced"
    next_url_path: JsonPath | None = Field(default=None, description="JSON path of the next URL; the Link header if unset")
    stop_path: JsonPath | None = Field(default=None, description="JSON path of a flag that is true on the last page")



Pagination = Annotated[
    Union[NoPagination, OffsetPagination, PagePagination, CursorPagination, NextUrlPagination],
    Field(discriminator="type"),
]


class RecordSelector(_Strict):
    """Where the records are in each response body."""

    path: JsonPath = Field(default="$", description="JSON path to the list of records (wildcards collect "
                                                     "from many lists: $.groups[*].members[*])")
    filter: str | None = Field(default=None, description="keep only records matching this JSONPath filter "
                                                          "expression, e.g. @.status != 'retired'")

    @field_validator("filter")
    @classmethod
    def _filter_expression(cls, value: str | None) -> str | None:
        if value is not None:
            _check_path(filter_path(value))
        return value


def filter_path(expression: str) -> str:
    """A record filter as the JSONPath that selects the matching records of a list."""
    return f"$[?({expression})]"


class MapValues(_Strict):
    """Replace values through a table: `{map: {A: active, S: suspended}, default: unknown}`."""

    map: dict[str, Any]
    default: Any = None


class Join(_Strict):
    """A list becomes one string: `{join: ", "}`."""

    join: str


class Split(_Strict):
    """A string becomes a list: `{split: ","}` (items stripped, empty ones dropped)."""

    split: str


Transform = Union[Literal["lower", "upper", "strip"], MapValues, Join, Split]

FieldType = Literal["str", "int", "float", "decimal", "bool", "datetime", "date"]


class FieldRule(_Strict):
    """How one target field is filled from a vendor record.

    The value comes from `source` (a path), `template` (a format string over paths, e.g.
    "{name.first} {name.last}") or `constant`; then `default` fills a missing value, the
    `transforms` run in order, and `type` (with `format` for dates) converts it. A value that
    cannot be converted rejects the record, with the field and the reason.
    """

    source: JsonPath | None = Field(default=None, description="path in the vendor record, e.g. model.name")
    template: str | None = Field(default=None, description='a format string over paths: "{name.first} {name.last}"')
    constant: Any = None
    default: Any = None
    required: bool = False
    transforms: list[Transform] = Field(default_factory=list)
    type: FieldType | None = Field(default=None, description="convert to this type (the target's type if unset)")
    format: str | None = Field(default=None, description="strptime format for datetime/date, e.g. %d/%m/%Y")

    @field_validator("transforms", mode="before")
    @classmethod
    def _known_transforms(cls, value: Any) -> Any:
        for item in value if isinstance(value, list) else []:
            named = item in ("lower", "upper", "strip")
            shaped = isinstance(item, dict) and len(set(item) & {"map", "join", "split"}) == 1
            if not (named or shaped):
                raise ValueError(f"unknown transform {item!r}; use lower, upper, strip, "
                                 "{map: {...}, default: ...}, {join: separator} or {split: separator}")
        return value

    @field_validator("template")
    @classmethod
    def _template_paths(cls, value: str | None) -> str | None:
        if value is not None:
            for path in template_paths(value):
                _check_path(path)
            if not template_paths(value):
                raise ValueError("a template needs at least one {path}")
        return value

    def why_not_reversible(self) -> str | None:
        """Why an export cannot put this field back at the vendor, or None when it can.

        Only a value read from one place (`model.name`) can be written back there; transforms
        that lose what the vendor sent (join, split, a value map that is not one-to-one) stop it.
        lower, upper and strip only normalise text: the hub's value goes back as it is.
        """
        if self.template is not None:
            return "built from a template"
        if self.constant is not None:
            return "a constant"
        if not path_keys(self.source):
            return f"its source {self.source} is not one place to write (wildcards, filters, list indexes)"
        for transform in self.transforms:
            if isinstance(transform, (Join, Split)):
                return f"its {'join' if isinstance(transform, Join) else 'split'} transform changes the value's shape"
            if isinstance(transform, MapValues):
                if transform.default is not None:
                    return "its value map has a default, so several vendor values become one"
                if len({repr(value) for value in transform.map.values()}) < len(transform.map):
                    return "its value map gives several vendor values the same hub value"
        return None

    @model_validator(mode="after")
    def _one_origin(self) -> FieldRule:
        given = [name for name in ("source", "template", "constant") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of source, template and constant"
                             + (f" (got {' and '.join(given)})" if given else ""))
        if self.format is not None and self.type not in ("datetime", "date"):
            raise ValueError("format is for type datetime or date")
        return self


def template_paths(template: str) -> list[str]:
    """The paths a template reads: "{name.first} {name.last}" -> ["name.first", "name.last"]."""
    import string

    try:
        return [field for _, field, _, _ in string.Formatter().parse(template) if field]
    except ValueError as exc:
        raise ValueError(f"not a valid template: {exc}") from None


def placeholders(template: str) -> list[str]:
    """The `{names}` in a path template; refuses conversions and formats, which a URL has no use for."""
    import string

    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"not a valid template: {exc}") from None
    for _, name, format_spec, conversion in parsed:
        if name is not None and (not name.isidentifier() or format_spec or conversion):
            raise ValueError(f"write placeholders as {{field}}, e.g. {{external_id}}; got {{{name}"
                             f"{'!' + conversion if conversion else ''}{':' + format_spec if format_spec else ''}}}")
    return [name for _, name, _, _ in parsed if name is not None]


class ExportSpec(_Strict):
    """How one hub record goes back to the vendor (an "Export Asset" action, seed 003).

    The body is the mapping run backwards: each sent field is written at its rule's source
    path. `fields` limits what is sent; by default every field whose rule can be reversed,
    except `external_id` (the vendor's own identifier, which belongs in the path).
    """

    method: Literal["POST", "PUT", "PATCH"]
    path: str = Field(min_length=1, description="endpoint path, with {sync_key} or {<mapped field>} placeholders, "
                                                "e.g. /api/v1/assets/{external_id}")
    body_path: str | None = Field(default=None, description='wrap the body under these keys: asset -> {"asset": {...}}')
    fields: list[str] | None = Field(default=None, min_length=1, description="the target fields to send")

    @field_validator("path")
    @classmethod
    def _path_template(cls, value: str) -> str:
        placeholders(value)
        return value

    @field_validator("body_path")
    @classmethod
    def _keys_only(cls, value: str | None) -> str | None:
        if value is not None and path_keys(value) is None:
            raise ValueError(f"'{value}' is not a path of keys, e.g. asset or data.attributes")
        return value


class IncrementalSpec(_Strict):
    """Fetch only what changed since the last successful run.

    The highest `cursor_field` value seen in a successful run is kept per integration and sent
    as `param` next time, less `lookback_seconds` so late writes at the vendor are not missed.
    """

    cursor_field: JsonPath = Field(description="path in each record, e.g. updated_at")
    param: str = Field(description="query parameter the stored value is sent as, e.g. updated_since")
    lookback_seconds: int = Field(default=0, ge=0)


class TargetSpec(_Strict):
    """The hub object the records become (seed 004: assets, users, custom objects)."""

    object: TargetObject
    custom_type: str | None = Field(default=None, description="object type name, for custom objects")

    @model_validator(mode="after")
    def _custom_needs_type(self) -> TargetSpec:
        if self.object == "custom" and not self.custom_type:
            raise ValueError("custom objects need a custom_type name")
        if self.object != "custom" and self.custom_type:
            raise ValueError("custom_type is only for the custom object")
        return self


class ScheduleSpec(_Strict):
    """When the integration runs; once a day by default (seed 004)."""

    cron: str = "0 2 * * *"
    timezone: str = "UTC"
    interval_seconds: int | None = Field(default=None, ge=10)
    """Run every this many seconds instead of on the cron (frequent polls, and tests)."""

    @field_validator("cron")
    @classmethod
    def _usable_cron(cls, value: str) -> str:
        problem = cron_problem(value)
        if problem:
            raise ValueError(f"{value!r} {problem}")
        return " ".join(value.split())


PARENT_PLACEHOLDER = re.compile(r"\{parent\.([^{}]*)\}")
"""`{parent.id}`, `{parent.profile.name}`: a value of the parent record, in a dependent stream's request."""
PARENT_PREFIX = "_parent_"
"""`include_from_parent: [id, profile.name]` adds `_parent_id` and `_parent_profile_name` to each child record."""


def parent_fields(value: Any) -> list[str]:
    """The parent record paths a request value reads: "/groups/{parent.id}/members" -> ["id"]; dicts and lists
    are searched through (a POST body)."""
    if isinstance(value, str):
        return PARENT_PLACEHOLDER.findall(value)
    if isinstance(value, dict):
        return [found for item in value.values() for found in parent_fields(item)]
    if isinstance(value, list):
        return [found for item in value for found in parent_fields(item)]
    return []


def included_name(path: str) -> str:
    """The key a parent field is copied under in each child record: id -> _parent_id, profile.name ->
    _parent_profile_name."""
    return PARENT_PREFIX + "_".join(path_keys(path) or (path,))


class ParentRequest(_Strict):
    """Where the parent records are listed: a path on the spec's own base URL, with its auth and headers."""

    path: str = Field(min_length=1, description="path of the parent listing, e.g. /api/v1/groups")
    method: Literal["GET", "POST"] = "GET"
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    body: dict[str, Any] | None = Field(default=None, description="JSON body, for POST listings")


class ParentSpec(_Strict):
    """The records a dependent stream runs once per (groups, for /groups/{parent.id}/members).

    They are read only to drive the children: the spec's target gets the children. The parent
    listing is read whole every run (a parent that did not change may have children that did), on
    the spec's base URL with its auth, headers and http settings (one rate limit for both).
    """

    name: str = Field(default="parent", min_length=1, description="what one parent is called in messages, e.g. group")
    children: str = Field(default="records", min_length=1,
                          description="what a parent's child records are called in messages, e.g. members")
    key: JsonPath = Field(default="id", description="the parent field messages name a parent by: group 42")
    request: ParentRequest
    pagination: Pagination = Field(default_factory=NoPagination)
    records: RecordSelector = Field(default_factory=RecordSelector)


class ConnectorSpec(_Strict):
    """A universal-connector integration: request, auth, pagination, records, mapping, target."""

    vendor: str = Field(min_length=1, description="the vendor's name, used in messages")
    request: RequestSpec
    auth: AuthRef = Field(default_factory=lambda: AuthRef(type="none"),
                          description="the credentials block; leave out (or type: none) for an open API")
    pagination: Pagination = Field(default_factory=NoPagination)
    records: RecordSelector = Field(default_factory=RecordSelector)
    http: HttpSpec = Field(default_factory=HttpSpec)
    mapping: dict[str, FieldRule] = Field(
        default_factory=dict,
        description="target field -> its rule; may stay empty while the integration is set up (Inactive): "
                    "activating or running needs the sync_key, a mapped field",
    )
    sync_key: str | None = Field(
        default=None,
        description="the target field that identifies a record (the primary key); needed to activate or run",
    )
    target: TargetSpec
    incremental: IncrementalSpec | None = None
    export: ExportSpec | None = Field(default=None, description="how to push one hub record back to the vendor")
    parent: ParentSpec | None = Field(
        default=None, description="a dependent stream: the request runs once per parent record, "
                                  "with {parent.<field>} in request.path, params or body")
    include_from_parent: list[JsonPath] = Field(
        default_factory=list, description="parent fields copied into each child record as _parent_<field>, "
                                          "e.g. [id, name] -> _parent_id, _parent_name")
    schedule: ScheduleSpec = Field(default_factory=ScheduleSpec)
    max_rejected_share: float = Field(
        default=0.5, ge=0, le=1,
        description="a run fails when more than this share of the fetched records is rejected",
    )
    batch_records: int = Field(
        default=10_000, gt=0, description="records written per transaction (and per task run)"
    )

    @field_validator("mapping", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """`name: model.name` is short for `name: {source: model.name}`."""
        if isinstance(value, dict):
            return {k: {"source": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _mapping_fits_target(self) -> ConnectorSpec:
        if self.sync_key is not None and self.sync_key not in self.mapping:
            raise ValueError(
                f"sync_key '{self.sync_key}' is not a mapped field; "
                + (f"mapped fields are {', '.join(sorted(self.mapping))}" if self.mapping else "the mapping is empty")
            )
        allowed = TARGET_FIELDS[self.target.object]
        if allowed is not None:
            unknown = sorted(set(self.mapping) - set(allowed) - {EXTERNAL_ID})
            if unknown:
                raise ValueError(
                    f"mapping: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not "
                    f"{'a field' if len(unknown) == 1 else 'fields'} of {self.target.object}; "
                    f"its fields are {', '.join((EXTERNAL_ID, *allowed))}"
                )
        if self.export is not None:
            self._check_export(self.export)
        self._check_parent()
        sort = getattr(self.pagination, "sort", None)
        if sort is not None and sort.param in (self.request.params if self.pagination.location == "query"
                                                 else self.request.body or {}):
            raise ValueError(f"pagination.sort: '{sort.param}' is also set in the request; give the order in one place")
        return self

    def _check_parent(self) -> None:
        """A `{parent.<field>}` needs a declared parent, and a declared parent needs one: else every
        parent would send the same request."""
        request = self.request
        used = {"request.path": parent_fields(request.path), "request.params": parent_fields(request.params),
                "request.body": parent_fields(request.body)}
        where = next((place for place, fields in used.items() if fields), None)
        if self.parent is None:
            if where is not None:
                raise ValueError(f"{where}: {{parent.{used[where][0]}}} needs a parent stream: declare it under "
                                 "parent: (its request.path, pagination and records)")
            if self.include_from_parent:
                raise ValueError("include_from_parent: copies fields of a parent record, so it needs a parent "
                                 "stream: declare it under parent:")
            return
        if where is None:
            raise ValueError("parent: the request takes nothing from the parent record, so every parent would "
                             "send the same request; put {parent.<field>} in request.path, params or body, "
                             "e.g. /groups/{parent.id}/members")
        for place, fields in used.items():
            for field in fields:
                if not path_keys(field):
                    raise ValueError(f"{place}: {{parent.{field}}} must name one field of the parent record, "
                                     "e.g. {parent.id} or {parent.profile.name}")
        for field in self.include_from_parent:
            if not path_keys(field):
                raise ValueError(f"include_from_parent: '{field}' must name one field of the parent record, "
                                 "e.g. id or profile.name")

    def _check_export(self, export: ExportSpec) -> None:
        mapped = ", ".join(sorted(self.mapping))
        for name in placeholders(export.path):
            if name != "sync_key" and name not in self.mapping:
                raise ValueError(f"export.path: {{{name}}} is not a mapped field; use {{sync_key}} or one of {mapped}")
        for name in export.fields or ():
            if name not in self.mapping:
                raise ValueError(f"export.fields: '{name}' is not a mapped field; mapped fields are {mapped}")
            if why := self.mapping[name].why_not_reversible():
                raise ValueError(f"export.fields: '{name}' cannot be sent back: {why}")
        written: dict[tuple[str, ...], str] = {}
        for name in self.export_fields:
            keys = path_keys(self.mapping[name].source)
            for other_keys, other in written.items():
                if keys[:len(other_keys)] == other_keys or other_keys[:len(keys)] == keys:
                    raise ValueError(f"export.fields: '{other}' and '{name}' would both be written at "
                                     f"{'.'.join(min(keys, other_keys, key=len))}; send one of them")
            written[keys] = name

    @property
    def export_fields(self) -> list[str]:
        """The target fields an export sends: `export.fields`, else every reversible field but external_id."""
        if self.export is None:
            return []
        if self.export.fields is not None:
            return list(self.export.fields)
        return [name for name, rule in self.mapping.items()
                if name != EXTERNAL_ID and rule.why_not_reversible() is None]

    @property
    def import_action(self) -> str:
        """What a sync does, as the integration manager lists it: "Import Assets"."""
        plural = {"asset": "Assets", "person": "People"}.get(self.target.object, self.target.custom_type)
        return f"Import {plural}"

    @property
    def export_action(self) -> str | None:
        """What an export does, as the integration manager lists it: "Export Asset"; None without one."""
        if self.export is None:
            return None
        singular = {"asset": "Asset", "person": "Person"}.get(self.target.object, self.target.custom_type)
        return f"Export {singular}"

    def document(self) -> dict[str, Any]:
        """The spec as an operator edits it (its YAML file): defaults left out, but the pagination's `type`
        kept even where it is its block's default, since it says which block it is."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        if "pagination" in data:
            data["pagination"] = {"type": self.pagination.type, **data["pagination"]}
        return data

    @classmethod
    def parse(cls, data: Any, source: str = "spec") -> ConnectorSpec:
        """Validate `data`, turning pydantic's errors into one readable `SpecError`."""
        if not isinstance(data, dict):
            raise SpecError(f"{source}: a connector spec is a mapping of fields, got {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise SpecError(format_errors(exc, source), problems_of(exc)) from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> ConnectorSpec:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text())
        except FileNotFoundError:
            raise SpecError(f"{path}: no such file") from None
        except yaml.YAMLError as exc:
            raise SpecError(f"{path}: {yaml_problem(exc)}") from None
        return cls.parse(data, source=str(path))


def yaml_problem(exc: yaml.YAMLError) -> str:
    """`not valid YAML: line 3, column 7: mapping values are not allowed here`, without the
    `<unicode string>` PyYAML names a text by; the caller puts the file's name first."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    return f"not valid YAML: {where}{problem}" + (f" ({context})" if context else "")


def format_errors(exc: ValidationError, source: str) -> str:
    """One line per problem: `source: field.path: what is wrong` (no `source: ` when it is "")."""
    lines = []
    for problem in problems_of(exc):
        loc = ".".join(str(part) for part in problem.loc)
        # a check across fields names its own field(s) at the start of its message
        line = f"{loc}: {problem.message}" if loc else problem.message
        lines.append(f"{source}: {line}" if source else line)
    return "\n".join(lines)


def problems_of(exc: ValidationError) -> list[Problem]:
    """pydantic's errors in the operator's words, each at its place in the spec (union tags left out)."""
    problems = []
    for error in exc.errors():
        loc = tuple(part for part in error["loc"] if not _is_union_tag(part))
        message = error["msg"].removeprefix("Value error, ").replace("Input should be", "should be")
        if error["type"] == "missing":
            message = "is required"
        elif error["type"] == "extra_forbidden":
            message = "is not a known field" + did_you_mean(str(error["loc"][-1]), _known_fields(error["loc"][:-1]))
        elif error["type"] == "union_tag_invalid":
            tag = error["input"].get("type")
            message = (f"unknown type {tag!r}; expected one of {error['ctx']['expected_tags']}"
                       + did_you_mean(str(tag), _UNION_TAGS))
        problems.append(Problem(loc, message))
    return problems


_UNION_TAGS = frozenset(
    member.model_fields["type"].default for member in get_args(get_args(Pagination)[0])
)


def _known_fields(loc: tuple[Any, ...]) -> list[str]:
    """The field names of the spec part at `loc` (as pydantic gives it); none if it is not a model."""
    kind: Any = ConnectorSpec
    for part in loc:
        kind = _inner(kind, part)
    models = [member for member in (kind, *get_args(kind)) if _is_model(member)]
    return list(models[0].model_fields) if models else []


def _inner(kind: Any, part: Any) -> Any:
    """What `kind` holds at `part`: a model's field, a dict's value, a list's item, the member of a
    union whose tag is `part` or that has a field `part`; None when nothing is there."""
    if _is_model(kind):
        field = kind.model_fields.get(part) if isinstance(part, str) else None
        return field.annotation if field else None
    origin, args = get_origin(kind), get_args(kind)
    if origin is dict:
        return args[1]
    if origin is list:
        return args[0]
    tagged = [m for m in args if _is_model(m) and "type" in m.model_fields and m.model_fields["type"].default == part]
    if tagged:
        return tagged[0]
    return next((found for member in args if (found := _inner(member, part)) is not None), None)


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _is_union_tag(part: Any) -> bool:
    """pydantic puts the chosen union member's tag in an error's location; a user never wrote it."""
    return part in _UNION_TAGS
