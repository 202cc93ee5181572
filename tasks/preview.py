"""A test-read of a connector spec: the first pages fetched, mapped and explained, nothing written.

It goes through the run's own machinery (`fetch_pages`, the paginators, `RecordMapper`), so it
shows what a sync would do: the requests made (URLs without secrets), the status and time of
each, the records at the records path, what the mapping makes of them and each rejection, the
next page's request and why the paginator stops. When the records path finds nothing, or the
spec has no pagination while the answer looks paged, it suggests the edits (models.spec_hints).

Each request passes through a recording `httpx.Auth` around the spec's own, which sees every
request the run's client sends and its response. A test-read retries less than a run (at most
`TEST_ATTEMPTS` tries, `TEST_MAX_BACKOFF_SECONDS` between them): an operator is waiting.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson

from models.errors import HubError
from models.paths import MISSING, compile_path
from models.preview import SHOWN, Preview, RejectionShown, RequestShown, SuggestionShown
from models.redact import redact
from models.spec import (
    ConnectorSpec,
    CursorPagination,
    NextUrlPagination,
    NoPagination,
    OffsetPagination,
    PagePagination,
)
from models.spec_hints import (
    Suggestion,
    record_lists,
    revise,
    suggest_pagination,
    suggest_records_path,
    top_level_keys,
    unified_diff,
)
from tasks.children import Parent, child_spec, parent_listing, with_parent_fields
from tasks.http import RetryPolicy
from tasks.map import RecordMapper
from tasks.paginate import Page, PageRequest, Stop, fetch_pages, paginator_for

TEST_ATTEMPTS = 2
TEST_MAX_BACKOFF_SECONDS = 2.0


@dataclass
class _Exchange:
    request: httpx.Request
    started: float
    response: httpx.Response | None = None
    headers_at: float | None = None


def _unchanged(request: httpx.Request):
    """The auth flow of an open API: the request as it is."""
    yield request


class _Recorder(httpx.Auth):
    """Passes each request through the spec's auth (if any) and keeps it with its response."""

    def __init__(self, auth: httpx.Auth | None):
        self._auth = auth
        self.exchanges: list[_Exchange] = []
        self.requires_request_body = auth.requires_request_body if auth else False
        self.requires_response_body = auth.requires_response_body if auth else False

    def auth_flow(self, request: httpx.Request):
        flow = self._auth.auth_flow(request) if self._auth is not None else _unchanged(request)
        outgoing = next(flow)
        while True:
            exchange = _Exchange(outgoing, time.perf_counter())
            self.exchanges.append(exchange)
            response = yield outgoing
            exchange.response, exchange.headers_at = response, time.perf_counter()
            try:
                outgoing = flow.send(response)
            except StopIteration:
                return

    def answer_to(self, method: str, request: PageRequest) -> httpx.Response | None:
        """The last response to `request` (a page's request as the run builds it)."""
        built = httpx.Request(method, request.url, params=request.params or None, json=request.json)
        for exchange in reversed(self.exchanges):
            sent = exchange.request
            if exchange.response is not None and sent.url == built.url and sent.content == built.content:
                return exchange.response
        return None


def shown_url(url: str | httpx.URL) -> str:
    """A URL as a test-read shows it: each query value redacted on its own, so paging values stay readable."""
    parts = urlsplit(str(url))
    base = redact(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")))
    return f"{base}?{redact(parts.query)}" if parts.query else base


def _shown_body(content: bytes) -> str | None:
    return redact(content.decode(errors="replace")) if content else None


def _shown_request(exchange: _Exchange) -> RequestShown:
    response, seconds = exchange.response, None
    if response is not None:
        try:
            seconds = response.elapsed.total_seconds()
        except RuntimeError:  # the body was never read: the time to the headers
            seconds = exchange.headers_at - exchange.started
    return RequestShown(method=exchange.request.method, url=shown_url(exchange.request.url),
                        body=_shown_body(exchange.request.content),
                        status=response.status_code if response is not None else None,
                        seconds=round(seconds, 3) if seconds is not None else None)


def preview_spec(spec: ConnectorSpec, auth: httpx.Auth | None, pages: int = 2,
                 policy: RetryPolicy | None = None) -> Preview:
    """Fetch the first `pages` pages of `spec`'s endpoint, map them, and explain; nothing is written.

    A dependent stream's: the first page of its parents, then the first parent's children."""
    policy = policy or RetryPolicy.from_spec(spec.http)
    policy.max_attempts = min(policy.max_attempts, TEST_ATTEMPTS)
    policy.max_delay = min(policy.max_delay, TEST_MAX_BACKOFF_SECONDS)
    if spec.parent is not None:
        return _preview_children(spec, auth, pages, policy)
    return _preview(spec, auth, pages, policy)


def _limited(spec: ConnectorSpec, pages: int) -> ConnectorSpec:
    """`spec` stopping after `pages` pages (or its own max_pages, if fewer)."""
    if isinstance(spec.pagination, NoPagination):
        return spec
    spec_max = spec.pagination.max_pages
    limit = min(pages, spec_max) if spec_max else pages
    return spec.model_copy(update={"pagination": spec.pagination.model_copy(update={"max_pages": limit})})


def _preview_children(spec: ConnectorSpec, auth: httpx.Auth | None, pages: int, policy: RetryPolicy) -> Preview:
    """The parents' first page, then a test-read of the first parent's children, as a run reads them."""
    recorder = _Recorder(auth)
    listing = fetch_pages(_limited(parent_listing(spec), 1), recorder, policy)
    first, error = None, None
    try:
        first = next((page.records[0] for page in listing if page.records), None)
    except HubError as exc:
        error = redact(str(exc))
    finally:
        listing.close()
    shown = [_shown_request(exchange) for exchange in recorder.exchanges]
    parent = spec.parent
    if first is None:
        return Preview(vendor=spec.vendor, records_path=spec.records.path, requests=shown, error=error or (
            f"the {parent.name} listing ({parent.request.path}) had no {parent.name}s on its first page, "
            f"so there are no {parent.children} to read"))
    of = Parent.of(first, spec, 1)
    try:
        child = child_spec(spec, of).model_copy(update={"parent": None})
    except HubError as exc:
        return Preview(vendor=spec.vendor, records_path=spec.records.path, requests=shown, parent=of.label,
                       error=redact(str(exc)))
    preview = _preview(child, auth, pages, policy, of)
    preview.requests[:0] = shown
    preview.parent = of.label
    return preview


def _preview(spec: ConnectorSpec, auth: httpx.Auth | None, pages: int, policy: RetryPolicy,
             parent: Parent | None = None) -> Preview:
    """The test-read of one listing; `parent`: the parent record whose children it is."""
    recorder = _Recorder(auth)
    limited = _limited(spec, pages)
    preview = Preview(vendor=spec.vendor, records_path=spec.records.path)
    read: list[Page] = []
    stopped: Stop | None = None
    pages_fetched = fetch_pages(limited, recorder, policy)
    try:
        while True:
            read.append(next(pages_fetched))
    except StopIteration as end:
        stopped = end.value
    except HubError as exc:
        preview.error = redact(str(exc))
    finally:
        pages_fetched.close()
    preview.requests = [_shown_request(exchange) for exchange in recorder.exchanges]
    preview.pages = [page.at for page in read]
    records = [record for page in read for record in page.records]
    if parent is not None:
        records = with_parent_fields(records, parent, spec.include_from_parent)
    preview.record_count = len(records)
    preview.records = records[:SHOWN]
    _map(spec, records, preview)
    first_body, first_response = _first_answer(recorder)
    if read and preview.error is None:
        _explain_stop(spec, limited, recorder, read, stopped, pages, policy, preview)
    _suggest(spec, first_body, first_response, read, preview)
    return preview


def _map(spec: ConnectorSpec, records: list[Any], preview: Preview) -> None:
    if not records:
        return
    if spec.sync_key is None:
        preview.mapping_note = ("no sync_key (primary key) is set: choose the mapped field that identifies a "
                                "record to see what the mapping makes of them")
        return
    batch = RecordMapper(spec).map(records)
    preview.mapped_count, preview.rejected_count = len(batch.rows), len(batch.rejected)
    preview.rows = [_json_ready(row) for row in batch.rows[:SHOWN]]
    preview.rejections = [RejectionShown(sync_key=r.sync_key, reason=redact(r.reason), drift=r.drift)
                          for r in batch.rejected[:SHOWN]]


def _json_ready(row: dict[str, Any]) -> dict[str, Any]:
    return orjson.loads(orjson.dumps(row, default=str))


def _first_answer(recorder: _Recorder) -> tuple[Any, httpx.Response | None]:
    """The first successful JSON answer and its body, or (MISSING, None)."""
    for exchange in recorder.exchanges:
        response = exchange.response
        if response is None or not response.is_success or not response.is_closed:
            continue
        try:
            return orjson.loads(response.content), response
        except (orjson.JSONDecodeError, httpx.ResponseNotRead):
            continue
    return MISSING, None


def _explain_stop(spec: ConnectorSpec, limited: ConnectorSpec, recorder: _Recorder, read: list[Page],
                  stopped: Stop | None, pages: int, policy: RetryPolicy, preview: Preview) -> None:
    """Replay the paginator over the answers to find its next request, and say why it stops."""
    paginator = paginator_for(limited)
    method = spec.request.method
    request: PageRequest | None = paginator.first(
        PageRequest(spec.request.url, dict(spec.request.params), spec.request.body))
    response = body = None
    for page in read:
        response = recorder.answer_to(method, request)
        if response is None:  # the run sent something this replay cannot match; say nothing rather than guess
            preview.stop = f"stopped after {len(read)} page(s)"
            return
        if policy.rule(response.status_code) == "ignore":
            preview.stop = (f"HTTP {response.status_code} is ignored by http.status_rules: "
                            "no records and no next page")
            return
        body = orjson.loads(response.content)
        previous, request = request, paginator.next(request, page, response, body)
    if request is not None:
        built = httpx.Request(method, request.url, params=request.params or None, json=request.json)
        preview.next_request = RequestShown(method=method, url=shown_url(built.url), body=_shown_body(built.content),
                                            status=None, seconds=None)
    spec_max = getattr(spec.pagination, "max_pages", None)
    if stopped == Stop.max_pages and spec_max is not None and len(read) >= spec_max:
        preview.stop = (f"pagination.max_pages ({spec_max}) is reached: a sync stops here too, "
                        "though the vendor may have more")
    elif request is not None:
        preview.stop = (f"the test stopped after {len(read)} page(s) (--pages {pages}); a sync goes on "
                        "with the next request")
    else:
        preview.stop = why_last_page(spec, read[-1], response, body, previous)


def why_last_page(spec: ConnectorSpec, page: Page, response: httpx.Response, body: Any,
                  request: PageRequest) -> str:
    """Why the paginator finds no page after `page`: the vendor's signal, in the spec's words."""
    config = spec.pagination
    if isinstance(config, NoPagination):
        return "pagination is none: one request returns every record"
    if isinstance(config, (OffsetPagination, PagePagination)) and not page.size:
        return f"the page at {page.at} is empty"
    if isinstance(config, OffsetPagination):
        offset = request.value(config.location, config.offset_param) + page.size
        if page.total is not None:
            return f"{config.offset_param} {offset} reaches the total at {config.total_path} ({page.total})"
        return f"the page had {page.size} records, fewer than the limit ({config.limit})"
    if isinstance(config, PagePagination):
        if config.total_pages_path is not None and _at(body, config.total_pages_path) is not None:
            return f"page {request.value(config.location, config.page_param)} is the last of " \
                   f"{_at(body, config.total_pages_path)} ({config.total_pages_path})"
        if page.total is not None:
            return f"the pages read reach the total at {config.total_path} ({page.total})"
        return f"the page had {page.size} records, fewer than the page size ({config.size})"
    if isinstance(config, CursorPagination):
        if config.has_more_path is not None and not _at(body, config.has_more_path):
            return f"{config.has_more_path} is {_at(body, config.has_more_path)!r}: the last page"
        if config.cursor_header is not None:
            return f"the answer has no {config.cursor_header} header: the last page"
        return f"no cursor at {config.cursor_path}: the last page"
    if isinstance(config, NextUrlPagination):
        if config.stop_path is not None and _at(body, config.stop_path):
            return f"{config.stop_path} is {_at(body, config.stop_path)!r}: the last page"
        if config.next_url_path is not None:
            return f"no next URL at {config.next_url_path}: the last page"
        return 'the answer has no Link header with rel="next": the last page'
    return "the paginator found no next page"


def _at(body: Any, path: str) -> Any:
    value = compile_path(path).first(body)
    return None if value is MISSING else value


def _suggest(spec: ConnectorSpec, body: Any, response: httpx.Response | None, read: list[Page],
             preview: Preview) -> None:
    if body is MISSING:
        return
    suggestions: list[Suggestion] = []
    if not any(page.size for page in read):  # the path found nothing (not: the spec's filter kept nothing)
        preview.top_level_keys = top_level_keys(body)
        if found := suggest_records_path(body, spec.records.path):
            suggestions.append(found)
    if isinstance(spec.pagination, NoPagination):
        lists = record_lists(body)
        records = read[0].size if read else (lists[0][1] if lists else 0)
        if found := suggest_pagination(body, response.headers, response.links, records):
            suggestions.append(found)
    preview.suggestions = [SuggestionShown(reason=s.reason, edits={".".join(k): v for k, v in s.edits.items()})
                           for s in suggestions]


def suggestions_of(preview: Preview) -> list[Suggestion]:
    """The preview's suggestions as edits `models.spec_hints.revise` applies."""
    return [Suggestion(s.reason, {tuple(key.split(".")): value for key, value in s.edits.items()})
            for s in preview.suggestions]


def revision(text: str, preview: Preview, name: str) -> tuple[str, str] | None:
    """The spec's YAML `text` with the preview's suggestions made, and the unified diff; None without any."""
    if not preview.suggestions:
        return None
    revised = revise(text, suggestions_of(preview))
    return revised, unified_diff(text, revised, name)
