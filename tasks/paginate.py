"""Pages of records from a vendor API: small paginator classes behind one protocol.

A paginator only decides what the next request is; fetching, retrying and finding the records
in a body are shared. `fetch_pages` is a generator, so pages stream and memory stays flat.

Pages are fetched ahead on a few threads (`http.concurrency`, inside the one rate limit): the
next page is always fetched while the current one is mapped and written, and where the
paginator can guess the requests after it (offsets and page numbers, as if every page came back
full), up to `concurrency` of them are in flight. A guess is only a guess: the paginator's own
`next` decides each page as before, and a fetched page is used only when it is the answer to
exactly that request. Pages are yielded in order, so the stop rules, the loop refusal and the
completeness checks see the same pages as a read of one page at a time; a stop (an empty or short
page, the total reached) cancels the guesses beyond it, whose records are never yielded; those still
waiting for their turn under the rate limit or a Retry-After are not sent.

A sync's pages come mapped (`fetch_pages(mapped_for=...)`): each is decoded, mapped and bound for the
database on the thread that fetched it, or in a page worker process for a big listing
(tasks/mapped_pages.py), and the paginator reads the body without its records.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Callable, Generator, Iterator, Protocol, TypeVar

import httpx
import orjson
from prefect import task
from prefect.cache_policies import NO_CACHE

from blocks.host_bound import vendor_client
from models.engine import get_engine
from models.errors import HubError, VendorError
from models.paths import compile_path, int_at, value_at
from models.spec import (
    ConnectorSpec,
    CursorPagination,
    NextUrlPagination,
    NoPagination,
    OffsetPagination,
    PagePagination,
    filter_path,
)
from tasks.bind import dialect_name
from tasks.http import RetryPolicy, decode_json, send
from tasks.map import MappedBatch
from tasks.mapped_pages import PagePlan, can_map_pages, is_big, map_page, records_in


@dataclass(frozen=True)
class PageRequest:
    url: str
    params: dict[str, Any] = field(default_factory=dict)
    json: dict[str, Any] | None = None

    def with_values(self, location: str, values: dict[str, Any]) -> PageRequest:
        """Set paging values in the query string or, for POST APIs, in the JSON body."""
        if location == "body":
            return replace(self, json={**(self.json or {}), **values})
        return replace(self, params={**self.params, **values})

    def value(self, location: str, name: str) -> Any:
        return (self.json or {}).get(name) if location == "body" else self.params.get(name)

    def fingerprint(self) -> str:
        return orjson.dumps([self.url, self.params, self.json], option=orjson.OPT_SORT_KEYS).decode()


@dataclass
class Page:
    records: list[Any]
    total: int | None = None
    """How many records the vendor says there are in all, when it says so."""
    size: int | None = None
    """How many records the vendor sent, before the spec's filter; what paging goes by."""
    at: str = ""
    """Where the page is in the listing, for messages: "offset 400", "page 5"."""
    vendor_seconds: float = 0.0
    """How long the vendor took to answer, shared among the page requests in flight at once."""
    mapped: MappedBatch | None = None
    """The records already mapped, in place of `records`, when the listing's pages are (tasks/mapped_pages.py)."""
    highest: Any = None
    """With `mapped`: the highest incremental cursor value among the records."""

    def __post_init__(self) -> None:
        if self.size is None:
            self.size = len(self.records)

    @property
    def kept(self) -> int:
        """How many records the spec's filter kept: the page's records, raw or mapped."""
        return len(self.records) if self.mapped is None else self.mapped.records


class Stop(str, Enum):
    """Why `fetch_pages` stopped (its generator's return value)."""

    end = "end"
    """The paginator found no next page: the vendor's end signal, its total, or an empty or short page."""
    max_pages = "max_pages"
    """`pagination.max_pages` was reached: the vendor may have more."""


class Paginator(Protocol):
    def first(self, request: PageRequest) -> PageRequest: ...

    def next(self, request: PageRequest, page: Page, response: httpx.Response, body: Any) -> PageRequest | None:
        """The request for the page after `page`, or None when there is none."""


class SinglePage:
    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, request: PageRequest, page: Page, response: httpx.Response, body: Any) -> PageRequest | None:
        return None


def _sort(config: OffsetPagination | PagePagination) -> dict[str, Any]:
    """The vendor's stable order, sent with every page so that an offset means the same place each time."""
    return {config.sort.param: config.sort.value} if config.sort is not None else {}


class OffsetPaginator:
    """`limit` + `offset`: stops on an empty page, at `total`, or on a short page when no total is given.

    An empty page before the total cannot be paged past; the run's completeness check
    (tasks/completeness.py) then sees that records are missing.
    """

    def __init__(self, config: OffsetPagination):
        self.config = config

    def first(self, request: PageRequest) -> PageRequest:
        return self._at(request, self.config.start_offset)

    def next(self, request: PageRequest, page: Page, response: httpx.Response, body: Any) -> PageRequest | None:
        if not page.size:
            return None
        offset = request.value(self.config.location, self.config.offset_param) + page.size
        if page.total is not None:
            return self._at(request, offset) if offset < page.total else None
        if page.size < self.config.limit:
            return None
        return self._at(request, offset)

    def ahead(self, request: PageRequest, latest: Page, body: Any) -> PageRequest | None:
        """The request after `request` if every page until then comes back full, within the total
        of the `latest` page read (whose `body` is given)."""
        offset = request.value(self.config.location, self.config.offset_param) + self.config.limit
        if latest.total is not None and offset >= latest.total:
            return None
        return self._at(request, offset)

    def _at(self, request: PageRequest, offset: int) -> PageRequest:
        config = self.config
        return request.with_values(config.location,
                                   {**_sort(config), config.limit_param: config.limit, config.offset_param: offset})


class PagePaginator:
    """`page` + page size: stops on an empty page, at the last page or record, or on a short page."""

    def __init__(self, config: PagePagination):
        self.config = config

    def first(self, request: PageRequest) -> PageRequest:
        return self._at(request, self.config.first_page)

    def next(self, request: PageRequest, page: Page, response: httpx.Response, body: Any) -> PageRequest | None:
        config = self.config
        if not page.size:
            return None
        number = request.value(config.location, config.page_param)
        pages_read = number - config.first_page + 1
        total_pages = int_at(body, config.total_pages_path)
        if total_pages is not None:
            return self._at(request, number + 1) if pages_read < total_pages else None
        if page.total is not None:
            return self._at(request, number + 1) if pages_read * config.size < page.total else None
        if page.size < config.size:
            return None
        return self._at(request, number + 1)

    def ahead(self, request: PageRequest, latest: Page, body: Any) -> PageRequest | None:
        """The request after `request` if every page until then comes back full, within the total
        (of pages or of records) of the `latest` page read (whose `body` is given)."""
        config = self.config
        number = request.value(config.location, config.page_param) + 1
        total_pages = int_at(body, config.total_pages_path)
        if total_pages is None and latest.total is not None:
            total_pages = -(-latest.total // config.size)
        if total_pages is not None and number - config.first_page >= total_pages:
            return None
        return self._at(request, number)

    def _at(self, request: PageRequest, number: int) -> PageRequest:
        config = self.config
        return request.with_values(config.location,
                                   {**_sort(config), config.page_param: number, config.size_param: config.size})


class CursorPaginator:
    """The next page's cursor comes from the body or a header; stops when it is missing or empty."""

    def __init__(self, config: CursorPagination):
        self.config = config

    def first(self, request: PageRequest) -> PageRequest:
        config = self.config
        return request.with_values(config.location, {config.size_param: config.size}) if config.size else request

    def next(self, request: PageRequest, page: Page, response: httpx.Response, body: Any) -> PageRequest | None:
        config = self.config
        if config.has_more_path is not None and not value_at(body, config.has_more_path):
            return None
        if config.cursor_header is not None:
            cursor = response.headers.get(config.cursor_header)
        else:
            cursor = value_at(body, config.cursor_path)
        if cursor in (None, ""):
            return None
        return request.with_values(config.location, {config.cursor_param: cursor})


class NextUrlPaginator:
    """Follows the next page's URL: the `Link` header's rel="next" (RFC 8288) or a JSON path in the body."""

    def __init__(self, config: NextUrlPagination, spec: ConnectorSpec):
        self.config = config
        self.spec = spec

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, request: PageRequest, page: Page, response: httpx.Response, body: Any) -> PageRequest | None:
        config = self.config
        if config.stop_path is not None and value_at(body, config.stop_path):
            return None
        if config.next_url_path is not None:
            url = value_at(body, config.next_url_path)
        else:
            url = response.links.get("next", {}).get("url")
        if not url:
            return None
        # the next URL carries its own query string; a relative one is relative to this page
        following = str(response.url.join(url))
        problem = self.spec.request.foreign(following)
        if problem:  # the vendor is not trusted to send the credentials elsewhere
            raise VendorError(f"{self.spec.vendor} sent a next-page URL {problem}")
        return PageRequest(following, {}, request.json)


_PAGINATORS = {
    NoPagination: lambda spec: SinglePage(),
    OffsetPagination: lambda spec: OffsetPaginator(spec.pagination),
    PagePagination: lambda spec: PagePaginator(spec.pagination),
    CursorPagination: lambda spec: CursorPaginator(spec.pagination),
    NextUrlPagination: lambda spec: NextUrlPaginator(spec.pagination, spec),  # checks next URLs against its hosts
}


def paginator_for(spec: ConnectorSpec) -> Paginator:
    return _PAGINATORS[type(spec.pagination)](spec)


def fetch_pages(spec: ConnectorSpec, auth: httpx.Auth, policy: RetryPolicy | None = None,
                client: httpx.Client | None = None, mapped_for: str | None = None) -> Generator[Page, None, Stop]:
    """Yield every page of records the spec's endpoint returns, in order; return why it stopped.

    `client`: a `vendor_client` for the spec's request to reuse (a dependent stream reads many
    listings; a new client costs ~25 ms of CPU), else one of its own. `mapped_for`: a database's dialect
    (tasks/bind.py); pages come with their records mapped and bound for it (`Page.mapped`) where the
    listing allows it (tasks/mapped_pages.py), else raw.

    Refuses to loop: a next page that asks for exactly what an earlier one asked for (the same
    cursor, URL or offset) stops the run with an error instead of fetching forever.
    """
    policy = policy or RetryPolicy.from_spec(spec.http)
    paginator = paginator_for(spec)
    read = _PageRead(spec, policy, mapped_for if mapped_for is not None and can_map_pages(spec) else None)
    max_pages = getattr(spec.pagination, "max_pages", None)
    seen: set[str] = set()
    guess, concurrency = getattr(paginator, "ahead", None), spec.http.concurrency
    with (nullcontext(client) if client is not None else vendor_client(auth, spec.request)) as client, \
            _Ahead(client, read, concurrency) as ahead:
        request: PageRequest | None = paginator.first(
            PageRequest(spec.request.url, dict(spec.request.params), spec.request.body))
        while request is not None:
            fingerprint = request.fingerprint()
            if fingerprint in seen:
                raise VendorError(
                    f"{spec.vendor} sent the run back to a page it had already read "
                    f"(page {len(seen) + 1} of {spec.request.path or '/'} repeats an earlier request); "
                    f"stopped to avoid a loop"
                )
            seen.add(fingerprint)
            fetched = ahead.take(request)
            at = _where(spec.pagination, request, len(seen))
            if fetched.ignored:  # the spec says: no records, no next page
                yield Page([], at=at)
                return Stop.end
            page = Page(fetched.records, fetched.total, size=fetched.size, at=at,
                        vendor_seconds=fetched.response.elapsed.total_seconds() / (concurrency if guess else 1),
                        mapped=fetched.mapped, highest=fetched.highest)
            if max_pages is not None and len(seen) >= max_pages:
                yield page
                return Stop.max_pages
            try:
                request = paginator.next(request, page, fetched.response, fetched.body)
            except HubError:
                yield page  # the page read before the paginator refused what comes next
                raise
            if request is not None and request.fingerprint() not in seen:
                # the page and body bound now: the fetching threads call the guess while this loop reads on
                ahead.start(request, (lambda after, page=page, body=fetched.body: guess(after, page, body))
                            if guess else None,
                            limit=None if max_pages is None else max_pages - len(seen),
                            bounded=page.total is not None)
            yield page
    return Stop.end


@dataclass
class _Fetched:
    """One page's answer, read and decoded (on a fetching thread)."""

    response: httpx.Response
    body: Any = None
    records: list[Any] = field(default_factory=list)
    size: int = 0
    total: int | None = None
    ignored: bool = False
    mapped: MappedBatch | None = None
    highest: Any = None


class _PageRead:
    """Sends one page request (with the spec's retries) and finds the records and total in its answer,
    or, `mapped_for` a database dialect, has the answer mapped and bound for it (tasks/mapped_pages.py)."""

    def __init__(self, spec: ConnectorSpec, policy: RetryPolicy, mapped_for: str | None = None):
        self.spec, self.policy = spec, policy
        self.records_path = compile_path(spec.records.path)
        self.keep = compile_path(filter_path(spec.records.filter)) if spec.records.filter else None
        mapped = mapped_for is not None
        self.plan = PagePlan(spec, mapped_for) if mapped else None
        self.spec_json = spec.model_dump_json() if mapped else ""
        self.lock = threading.Lock()
        self.records_read = 0
        self.big = False
        """Whether the listing is big enough for the page workers: its total or the records read so far."""

    def __call__(self, client: httpx.Client, request: PageRequest, answered: Callable[[], None],
                 wanted: Callable[[], bool]) -> _Fetched:
        """`answered` is called once the vendor has answered, before the answer is decoded or mapped;
        `wanted` is asked when the request's turn comes (tasks/http.py `send`)."""
        spec = self.spec
        # params=None, not {}: httpx would drop a next URL's own query string
        http_request = client.build_request(spec.request.method, request.url, params=request.params or None,
                                            json=request.json)
        response = send(client, http_request, spec.vendor, self.policy, wanted)
        answered()
        if self.policy.rule(response.status_code) == "ignore":
            return _Fetched(response, ignored=True)
        if self.plan is not None:
            return self._mapped(response)
        body = decode_json(response, spec.vendor)
        records = records_in(body, self.records_path, spec)
        kept = self.keep.all(records) if self.keep is not None else records
        return _Fetched(response, body, kept, len(records), _total(spec.pagination, response, body))

    def _mapped(self, response: httpx.Response) -> _Fetched:
        page = map_page(self.plan, self.spec_json, self.big, response.content,
                        response.headers.get("content-type", ""), response.request.url.path)
        total = _total(self.spec.pagination, response, page.body)
        with self.lock:
            self.records_read += page.size
            self.big = self.big or is_big(self.records_read, total)
        return _Fetched(response, page.body, [], page.size, total, mapped=page.mapped, highest=page.highest)


class _Ahead:
    """Page requests in flight on a few threads, in the order their pages will be read.

    `start(request, guess)` fetches `request` and, when `guess` says what would follow it, the
    requests after it, up to `concurrency` unanswered at once: as each answer comes, on its thread,
    the next guess goes out (before the answer is decoded and mapped, which its thread then does
    beside the next request), so the vendor is kept busy while the run maps and writes. `take(request)`
    returns the answer to exactly that request: the one in flight if it is next in line, else (a guess
    that turned out wrong) it drops every request in flight and fetches this one.
    """

    def __init__(self, client: httpx.Client, read: _PageRead, concurrency: int):
        self.client, self.read, self.concurrency = client, read, concurrency
        # twice the requests in flight: a thread mapping the page it was answered keeps no request waiting
        self.pool = ThreadPoolExecutor(max_workers=2 * concurrency, thread_name_prefix="ihub-page")
        self.flight: deque[tuple[str, PageRequest, Future[_Fetched], object]] = deque()
        self.unanswered: set[object] = set()
        """The requests sent or waiting to be, that the vendor has not answered (nor failed)."""
        self.dropped: set[object] = set()
        """The unanswered requests dropped: those still waiting for their turn (a rate limit, a
        Retry-After) are not sent when it comes."""
        self.lock = threading.RLock()  # the reading thread and the fetching threads' answers
        self.guess: Callable[[PageRequest], PageRequest | None] | None = None
        self.room = concurrency
        self.eager = False
        """Whether each answer sends the next guess (`bounded`), or only reading a page does."""
        self.closed = False

    def __enter__(self) -> _Ahead:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        with self.lock:
            self.closed = True
            self.drop()
        self.pool.shutdown(wait=True)

    def start(self, request: PageRequest, guess: Callable[[PageRequest], PageRequest | None] | None,
              limit: int | None = None, bounded: bool = False) -> None:
        """Have `request` in flight first in line, and guessed requests after it. `limit`: how many
        pages may still be read (pagination.max_pages). `bounded`: the vendor's total keeps the
        guesses within the listing, so pages answered early may wait to be read in order (up to
        `concurrency` of them) while more requests go out; without a total an answered page holds
        its place, so that no more than `concurrency` - 1 guesses go past a short last page. At
        concurrency 1 the next page is fetched while one is read, and no further: which request goes
        out when does not depend on how the answers and the reading interleave."""
        with self.lock:
            if self.flight and self.flight[0][0] != request.fingerprint():
                self.drop()
            if not self.flight:
                self._submit(request)
            eager = bounded and self.concurrency > 1  # at 1, one page ahead, as ever: each request in turn
            room = self.concurrency * (2 if eager else 1)
            self.guess, self.room, self.eager = guess, room if limit is None else min(room, limit), eager
            self._top_up()

    def take(self, request: PageRequest) -> _Fetched:
        with self.lock:
            if not self.flight or self.flight[0][0] != request.fingerprint():
                self.drop()
                self._submit(request)
            future = self.flight.popleft()[2]
        return future.result()

    def drop(self) -> None:
        """Cancel the requests in flight: those not yet sent are never sent, the answers of the others unread."""
        with self.lock:
            self.guess = None
            while self.flight:
                _, _, future, sent = self.flight.popleft()
                if not future.cancel() and sent in self.unanswered:
                    self.dropped.add(sent)

    def _top_up(self) -> None:
        """Guess after the last request in flight (none: the run reads its next page, and `start` follows)."""
        while (self.guess is not None and not self.closed and 0 < len(self.flight) < self.room
               and len(self.unanswered) < self.concurrency):
            following = self.guess(self.flight[-1][1])
            if following is None:
                break
            self._submit(following)

    def _answered(self, sent: object) -> None:
        """The vendor answered the request `sent` stands for, or it failed or was cancelled: once each."""
        with self.lock:
            self.dropped.discard(sent)
            if sent in self.unanswered:
                self.unanswered.discard(sent)
                if self.eager:
                    self._top_up()

    def _submit(self, request: PageRequest) -> None:
        """Under the lock, which `_answered` takes: the request is counted before any answer to it is."""
        sent = object()
        future = self.pool.submit(self.read, self.client, request, lambda: self._answered(sent),
                                  lambda: sent not in self.dropped)
        self.unanswered.add(sent)
        self.flight.append((request.fingerprint(), request, future, sent))
        future.add_done_callback(lambda _: self._answered(sent))


class Batch:
    """Pages grouped until they hold about `batch_records` records: what one map-records and one
    upsert-records task run take.

    A plain class, not a dataclass: Prefect walks dataclasses passed between tasks down to every
    record, but not a plain object, and still knows which task run made it (the run graph's edge).
    """

    __slots__ = ("records", "mapped", "highest", "pages", "total", "__weakref__")

    def __init__(self, records: list[Any] | None = None, pages: int = 0, total: int | None = None):
        self.records: list[Any] = records if records is not None else []
        """The raw records, to be mapped; or none, and instead:"""
        self.mapped: list[MappedBatch] = []
        """Each page's records mapped as it was read (`Page.mapped`), in listing order."""
        self.highest: list[Any] = []
        """With `mapped`: each page's highest incremental cursor value."""
        self.pages = pages
        self.total = total
        """The vendor's total, as the latest page said."""

    @property
    def count(self) -> int:
        """How many records the batch holds, raw or mapped."""
        return len(self.records) + sum(page.records for page in self.mapped)


WRITE_SECONDS_PER_RECORD = 30e-6
"""About what mapping and writing one record takes (bench/sync_bench.py on SQLite)."""
EARLY_BATCH_RECORDS = 2_500
"""The least a batch closed early holds (a quarter of the default `batch_records`). A batch's own cost
(two task runs and their events, a transaction, its log line and action-log write) is about what
1,000 records take to write, and on a slow vendor it competes with the page requests for the
interpreter: at 50 ms a page, 8 in flight, batches of 2,500 made a run of 20k records 0.1-0.2 s faster
than batches of 1,000 (bench/latency_bench.py). A spec's smaller `batch_records` is kept as it is."""


def batched(pages: Iterator[Page], batch_records: int) -> Iterator[Batch]:
    """Group pages into batches of at least `batch_records` records (the last may be smaller).

    A slow vendor closes a batch early: once the batch holds EARLY_BATCH_RECORDS and the vendor
    took longer to send it than its records take to write (WRITE_SECONDS_PER_RECORD), it is
    written while the next pages are awaited, so that little is left to write after the last page
    (at 50 ms a page, the last 10,000 records took 0.8 s to map and write after the last page came).
    A vendor that keeps up (on loopback: 1,000 records in 4 ms with 4 pages in flight, against
    30 ms to write them) gets full batches: fewer task runs and transactions."""
    batch, vendor_seconds, held = Batch(), 0.0, 0
    for page in pages:
        if page.mapped is None:
            batch.records.extend(page.records)
        else:
            batch.mapped.append(page.mapped)
            batch.highest.append(page.highest)
        batch.pages += 1
        batch.total = page.total if page.total is not None else batch.total
        vendor_seconds += page.vendor_seconds
        held += page.kept
        if held >= batch_records or (held >= EARLY_BATCH_RECORDS
                                     and vendor_seconds >= held * WRITE_SECONDS_PER_RECORD):
            yield batch
            batch, vendor_seconds, held = Batch(total=batch.total), 0.0, 0
    if batch.pages:
        yield batch


class Watcher(Protocol):
    def watch(self, pages: Iterator[Page]) -> Iterator[Page]: ...


@task(name="paginate", cache_policy=NO_CACHE)
def paginate(spec: ConnectorSpec, auth: httpx.Auth, check: Watcher, batch_records: int) -> Iterator[Batch]:
    """Every page of the listing, in batches, each page seen by `check` (tasks/completeness.py) on the way
    and, where the listing allows, mapped as it was read (tasks/mapped_pages.py).

    A generator task: one task run for the whole listing, its batches streaming to the flow, so the
    run graph reads authenticate -> paginate -> map-records -> upsert-records. Iterate it through
    `apart` so that its run context stays its own.
    """
    mapped_for = dialect_name(get_engine().dialect)
    yield from batched(check.watch(fetch_pages(spec, auth, mapped_for=mapped_for)), batch_records)


Item = TypeVar("Item")


def apart(generator: Generator[Item, None, Any]) -> Iterator[Item]:
    """Step a generator task's generator in a context of its own.

    Prefect enters the task's run context inside the generator, and a generator shares its caller's
    context: stepped directly, the flow's own code between batches would run as part of the task
    (its tasks nested under it, its log lines filed under it)."""
    context = contextvars.copy_context()
    try:
        while True:
            try:
                item = context.run(next, generator)
            except StopIteration:
                return
            yield item
    finally:
        context.run(generator.close)


def _where(pagination, request: PageRequest, number: int) -> str:
    """A page's place in the listing as an operator reads it: the offset or page number sent, else its number."""
    if isinstance(pagination, OffsetPagination):
        return f"offset {request.value(pagination.location, pagination.offset_param)}"
    if isinstance(pagination, PagePagination):
        return f"page {request.value(pagination.location, pagination.page_param)}"
    return f"page {number}"


def _total(pagination, response: httpx.Response, body: Any) -> int | None:
    """The vendor's total record count: at `total_path` in the body, or in the `total_header`."""
    header = getattr(pagination, "total_header", None)
    if header is not None:
        value = response.headers.get(header, "").strip()
        return int(value) if value.isdigit() else None
    return int_at(body, getattr(pagination, "total_path", None))
