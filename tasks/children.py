"""Dependent (parent-child) streams: the spec's request runs once per record of a parent listing.

The parents (`spec.parent`: groups) are listed with their own pagination; for each one the child
request is built from the parent record (`{parent.<field>}` in the path, params and body) and read
with the spec's own pagination, the fields of `include_from_parent` copied into each child record
as `_parent_<field>`. Up to `http.concurrency` parents' children are read at once, on threads,
every request (parents' and children's) paced by one `RetryPolicy`: one rate limit, and a
`Retry-After` holds back them all. A parent's own pages are read one after another, and its
children are kept whole until it is done (a group's members, not a vendor's catalogue), then
handed on in parent order, in batches of about `batch_records` records: the run graph reads
authenticate -> paginate-children -> map-records -> upsert-records, and the run's log has a line
per batch of parents.

Completeness (`DependentCheck`): the parent listing is judged as any listing is, and each parent's
children on their own (re-read once where offsets or page numbers do not add up); the run is
proven only when the listing and every parent's children are. A failed read of one parent's
children fails the run, naming the parent ("members of group 42: … answered HTTP 500 …").
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterable, Iterator
from urllib.parse import quote

import httpx
from prefect import task
from prefect.cache_policies import NO_CACHE

from blocks.host_bound import vendor_client
from models.errors import HubError, VendorError
from models.paths import MISSING, compile_path
from models.spec import PARENT_PLACEHOLDER, ConnectorSpec, included_name
from tasks.completeness import CompletenessCheck, Verdict
from tasks.http import RetryPolicy
from tasks.map import RecordMapper
from tasks.paginate import Batch, fetch_pages
from tasks.run_logger import run_logger


@dataclass(frozen=True)
class Parent:
    record: Any
    key: str | None
    """Its `parent.key` as text; None when it has none (counted by the listing's check, not told apart)."""
    label: str
    """How messages name it: "group 42", or "group number 7 of the listing" without a key."""

    @classmethod
    def of(cls, record: Any, spec: ConnectorSpec, number: int) -> Parent:
        """The `number`th record of the parent listing (from 1)."""
        value = compile_path(spec.parent.key).first(record) if isinstance(record, dict) else MISSING
        key = None if value is MISSING or value is None or isinstance(value, (dict, list)) else str(value)
        name = spec.parent.name
        return cls(record, key, f"{name} {key}" if key is not None else f"{name} number {number} of the listing")


@dataclass
class Children:
    """One parent's children, read whole, and how that read was judged."""

    parent: Parent
    records: list[Any]
    pages: int
    verdict: Verdict
    reread: bool = False


def parent_listing(spec: ConnectorSpec) -> ConnectorSpec:
    """The spec that lists the parents: the parent block's request, pagination and records on the spec's
    base URL, auth, headers and http settings. Never incremental: an unchanged parent may have changed children."""
    parent = spec.parent
    request = spec.request.model_copy(update=parent.request.model_dump())
    return spec.model_copy(update={"request": request, "pagination": parent.pagination, "records": parent.records,
                                   "parent": None, "include_from_parent": []})


def child_spec(spec: ConnectorSpec, parent: Parent) -> ConnectorSpec:
    """The spec's request for one parent's children, its placeholders filled from the parent record;
    the parent's pages are read one at a time (the parents are what runs side by side)."""
    request = spec.request
    filled = request.model_copy(update={
        "path": _fill(request.path, parent, in_path=True),
        "params": {name: _fill(value, parent) for name, value in request.params.items()},
        "body": _fill(request.body, parent),
    })
    return spec.model_copy(update={"request": filled, "http": spec.http.model_copy(update={"concurrency": 1})})


def _fill(value: Any, parent: Parent, in_path: bool = False) -> Any:
    """`value` with each `{parent.<field>}` replaced by the parent's value: URL-quoted in a path, as is
    (its JSON type kept) where it is the whole of a parameter or body value, else as text."""
    if isinstance(value, dict):
        return {name: _fill(item, parent) for name, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, parent) for item in value]
    if not isinstance(value, str) or "{parent." not in value:
        return value
    whole = PARENT_PLACEHOLDER.fullmatch(value)
    if whole and not in_path:
        return _parent_value(parent, whole.group(1))
    text = lambda match: str(_parent_value(parent, match.group(1)))  # noqa: E731
    return PARENT_PLACEHOLDER.sub((lambda match: quote(text(match), safe="")) if in_path else text, value)


def _parent_value(parent: Parent, field: str) -> Any:
    value = compile_path(field).first(parent.record)
    if value is MISSING or value is None or isinstance(value, (dict, list)):
        found = "no value" if value is MISSING or value is None else f"an {type(value).__name__}, not a value"
        raise VendorError(f"{parent.label} has {found} at '{field}' for {{parent.{field}}} in the request")
    return value


def with_parent_fields(records: list[Any], parent: Parent, fields: list[str]) -> list[Any]:
    """Each child record with the parent's `fields` copied in as `_parent_<field>` (None where the parent has none)."""
    if not fields:
        return records
    values = {}
    for field in fields:
        value = compile_path(field).first(parent.record)
        values[included_name(field)] = None if value is MISSING else value
    return [{**record, **values} if isinstance(record, dict) else record for record in records]


def read_children(spec: ConnectorSpec, client: httpx.Client, policy: RetryPolicy, parent: Parent,
                  mapper: RecordMapper | None) -> Children:
    """Every page of one parent's children, judged on their own; read once more where offsets or page
    numbers do not add up (then the second read's version of a record wins). `mapper` tells records apart
    by sync key, where the child listing gives a total to count them against.

    A failure names the parent, keeping its kind (a refused credential stays a refusal)."""
    child = child_spec(spec, parent)
    check = CompletenessCheck(child.pagination)
    try:
        reads = [_read_once(child, client, policy, check, parent, mapper)]
        verdict = check.verdict()
        if verdict.incomplete and check.can_reread:
            reads.append(_read_once(child, client, policy, check, parent, mapper))
            verdict = check.verdict()
    except HubError as exc:
        raise type(exc)(f"{spec.parent.children} of {parent.label}: {exc}") from None
    pages = sum(pages for pages, _ in reads)
    if len(reads) == 1:
        return Children(parent, reads[0][1], pages, verdict)
    newest = reads[-1][1]
    again = set(_keys(mapper, newest))
    kept = [record for record, key in zip(reads[0][1], _keys(mapper, reads[0][1])) if key is None or key not in again]
    return Children(parent, kept + newest, pages, verdict, reread=True)


def _read_once(child: ConnectorSpec, client: httpx.Client, policy: RetryPolicy, check: CompletenessCheck,
               parent: Parent, mapper: RecordMapper | None) -> tuple[int, list[Any]]:
    pages = list(check.watch(fetch_pages(child, None, policy, client)))
    records = with_parent_fields([record for page in pages for record in page.records], parent,
                                  child.include_from_parent)
    if check.counts_keys:
        check.read(_keys(mapper, records))
    return len(pages), records


def _keys(mapper: RecordMapper | None, records: list[Any]) -> list[str | None]:
    """The records' sync keys (None for a record rejected before its key could be read)."""
    if mapper is None:
        return [None] * len(records)
    mapped = mapper.map(records)
    return mapped.keys()


class DependentCheck:
    """Can a dependent stream's run prove it read every record? Its parent listing and every parent's children.

    Offers what the flow asks of a `CompletenessCheck`: the flow tells it the sync keys of every mapped
    batch (for "deleted"), and asks for the verdict. Re-reads happen per parent, inside the read, so the
    flow never re-reads the whole stream.
    """

    counts_keys = False
    can_reread = False

    def __init__(self, spec: ConnectorSpec):
        self.parent = spec.parent
        self.parents = CompletenessCheck(spec.parent.pagination)
        self.keys: set[str] = set()
        self._unkeyed = 0
        self.unproven: list[str] = []
        """Why a parent's children are not provably read whole, one reason a parent."""
        self.incomplete: list[Verdict] = []

    def judged(self, children: Children) -> None:
        verdict = children.verdict
        if verdict.proven:
            return
        reason = f"{self.parent.children} of {children.parent.label}: {verdict.reason}"
        if verdict.incomplete:
            reread = "; read twice, they still do not add up" if children.reread else ""
            self.incomplete.append(Verdict(False, reason + reread, incomplete=True, cause=verdict.cause))
        else:
            self.unproven.append(reason)

    def read(self, keys: Iterable[str | None]) -> None:
        for key in keys:
            if key is None:
                self._unkeyed += 1
            else:
                self.keys.add(key)

    def unkeyed(self) -> int:
        return self._unkeyed

    def keys_at_the_vendor(self) -> set[str]:
        return self.keys

    def verdict(self) -> Verdict:
        listing = self.parents.verdict()
        if not listing.proven:
            return Verdict(False, f"the {self.parent.name} listing: {listing.reason}", incomplete=listing.incomplete,
                           cause=listing.cause)
        if self.incomplete:
            return self.incomplete[0]
        if self.unproven:
            more = len(self.unproven) - 1
            return Verdict(False, self.unproven[0] + (f" (and {more} more {self.parent.name}s)" if more else ""))
        return Verdict(True)


def _parents(spec: ConnectorSpec, client: httpx.Client, policy: RetryPolicy,
             check: DependentCheck) -> Iterator[Parent]:
    """The parent records, in listing order, each with its label; the listing watched by `check.parents`."""
    number = 0
    for page in check.parents.watch(fetch_pages(parent_listing(spec), None, policy, client)):
        keys = []
        for record in page.records:
            number += 1
            parent = Parent.of(record, spec, number)
            keys.append(parent.key)
            yield parent
        check.parents.read(keys)


def dependent_batches(spec: ConnectorSpec, auth: httpx.Auth, check: DependentCheck,
                      batch_records: int) -> Iterator[Batch]:
    """Every parent's children, in parent order, in batches of about `batch_records` records (see above)."""
    policy = RetryPolicy.from_spec(spec.http)
    mapper = RecordMapper(spec) if CompletenessCheck(spec.pagination).counts_keys else None
    logger = run_logger()
    batch, parents = Batch(), []
    flight: deque[Future[Children]] = deque()

    def done(children: Children) -> None:
        check.judged(children)
        batch.records.extend(children.records)
        batch.pages += children.pages
        parents.append(children.parent.label)

    def handed_on() -> Batch:
        nonlocal batch, parents
        logger.info("%s of %s %s (%s): %s %s in %s pages", spec.parent.children, len(parents),
                    _plural(spec.parent.name, len(parents)), _span(parents), len(batch.records),
                    spec.parent.children, batch.pages)
        ready, batch, parents = batch, Batch(), []
        return ready

    # one client for every listing: its connections are reused, its credentials bound to the spec's hosts
    with vendor_client(auth, spec.request) as client, \
            ThreadPoolExecutor(max_workers=spec.http.concurrency, thread_name_prefix="ihub-parent") as pool:
        try:
            for parent in _parents(spec, client, policy, check):
                flight.append(pool.submit(read_children, spec, client, policy, parent, mapper))
                while len(flight) >= spec.http.concurrency or (flight and flight[0].done()):
                    done(flight.popleft().result())
                    if len(batch.records) >= batch_records:
                        yield handed_on()
            while flight:
                done(flight.popleft().result())
                if len(batch.records) >= batch_records:
                    yield handed_on()
            if parents:
                yield handed_on()
        finally:
            for future in flight:  # a failure or a stop: what has not started never starts
                future.cancel()


def _plural(noun: str, count: int) -> str:
    return noun if count == 1 else f"{noun}s"


def _span(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else f"{labels[0]} … {labels[-1]}"


@task(name="paginate-children", cache_policy=NO_CACHE)
def paginate_children(spec: ConnectorSpec, auth: httpx.Auth, check: DependentCheck,
                      batch_records: int) -> Iterator[Batch]:
    """Every parent's children, in batches, judged by `check` on the way: a generator task, like `paginate`
    (iterate it through `apart`)."""
    yield from dependent_batches(spec, auth, check, batch_records)
