"""Pages of records from a vendor API: small paginator classes behind one protocol.

A paginator only decides what the next request is; fetching, retrying and finding the records
in a body are shared. `fetch_pages` is a generator, so pages stream and memory stays flat.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Protocol

import httpx

from models.paths import MISSING, compile_path
from models.spec import ConnectorSpec, NoPagination, OffsetPagination
from models.errors import VendorError
from tasks.http import RetryPolicy, decode_json, send


@dataclass(frozen=True)
class PageRequest:
    url: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Page:
    records: list[Any]
    total: int | None = None
    """How many records the vendor says there are in all, when it says so."""


class Paginator(Protocol):
    def first(self, request: PageRequest) -> PageRequest: ...

    def next(self, request: PageRequest, page: Page, body: Any) -> PageRequest | None:
        """The request for the page after `page`, or None when there is none."""


class SinglePage:
    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, request: PageRequest, page: Page, body: Any) -> PageRequest | None:
        return None


class OffsetPaginator:
    """`?limit=N&offset=K`: stops on an empty page, at `total`, or on a short page when no total is given."""

    def __init__(self, config: OffsetPagination):
        self.config = config

    def first(self, request: PageRequest) -> PageRequest:
        return self._at(request, self.config.start_offset)

    def next(self, request: PageRequest, page: Page, body: Any) -> PageRequest | None:
        if not page.records:
            return None
        offset = request.params[self.config.offset_param] + len(page.records)
        if page.total is not None:
            return self._at(request, offset) if offset < page.total else None
        if len(page.records) < self.config.limit:
            return None
        return self._at(request, offset)

    def _at(self, request: PageRequest, offset: int) -> PageRequest:
        params = {**request.params, self.config.limit_param: self.config.limit, self.config.offset_param: offset}
        return replace(request, params=params)


def paginator_for(spec: ConnectorSpec) -> Paginator:
    config = spec.pagination
    if isinstance(config, OffsetPagination):
        return OffsetPaginator(config)
    if isinstance(config, NoPagination):
        return SinglePage()
    raise NotImplementedError(f"no paginator for {config.type!r}")


def fetch_pages(spec: ConnectorSpec, auth: httpx.Auth, policy: RetryPolicy | None = None) -> Iterator[Page]:
    """Yield every page of records the spec's endpoint returns."""
    policy = policy or RetryPolicy()
    paginator = paginator_for(spec)
    records_path = compile_path(spec.records.path)
    total_path = getattr(spec.pagination, "total_path", None)
    max_pages = getattr(spec.pagination, "max_pages", None)
    with httpx.Client(auth=auth, timeout=spec.request.timeout_seconds, headers=spec.request.headers) as client:
        request: PageRequest | None = paginator.first(PageRequest(spec.request.url, dict(spec.request.params)))
        pages = 0
        while request is not None:
            http_request = client.build_request(spec.request.method, request.url, params=request.params)
            response = send(client, http_request, spec.vendor, policy)
            body = decode_json(response, spec.vendor)
            page = Page(_records(body, records_path, spec), _total(body, total_path))
            yield page
            pages += 1
            if max_pages is not None and pages >= max_pages:
                return
            request = paginator.next(request, page, body)


def _records(body: Any, path, spec: ConnectorSpec) -> list[Any]:
    found = path.first(body)
    if found is MISSING:
        keys = ", ".join(sorted(body)) if isinstance(body, dict) else type(body).__name__
        raise VendorError(
            f"record path '{spec.records.path}' is not in the {spec.vendor} response; "
            f"the response has: {keys or 'nothing'}"
        )
    if found is None:
        return []
    return found if isinstance(found, list) else [found]


def _total(body: Any, total_path: str | None) -> int | None:
    if total_path is None:
        return None
    value = compile_path(total_path).first(body)
    try:
        return int(value) if value is not MISSING and value is not None else None
    except (TypeError, ValueError):
        return None
