"""Pages mapped as they are read: on the fetching threads, or in worker processes for a big listing.

Decoding a page's JSON and mapping its records are most of a sync's own CPU. In one process they
share one interpreter lock with the fetching and the writing, so on a fast vendor a run moves no
faster than one core does. A listing whose pages can be mapped apart from the run (`can_map_pages`)
is mapped a page at a time as each page is read: on the fetching thread while the listing is small,
and in a pool of worker processes once it is known to be big (the vendor's total, or the records
read, reach WORKER_RECORDS), while the run's own process fetches and writes.

Each page comes back as what the run needs of it (`MappedPage`): its rows (bound for the database,
with their digests: tasks/bind.py) and rejections, how many records it had and how many the spec's
filter kept, the highest incremental cursor value, and its body without the records (for the
paginator, and the vendor's total). The pages are still used in
listing order, so the paginator, the stop rules and the completeness checks see what they saw before.

The pool is spawned by the first big listing of a process and kept for the later ones (`ihub serve`
runs many): `IHUB_PAGE_WORKERS` processes, by default one fewer than the machine's cores, at most 4;
0 turns it off. Until it answers, and if a worker dies, pages are mapped on their thread, the same
way. The workers import no Prefect and hold no credentials: they get a page's bytes and the spec.
"""

from __future__ import annotations

import atexit
import os
import pickle
import subprocess
import sys
import threading
from collections import deque
from concurrent.futures import Future
from functools import lru_cache
from typing import Any, BinaryIO

from models.errors import Invalid, VendorError
from models.paths import MISSING, compile_path
from models.spec import ConnectorSpec, filter_path
from models.targets import TABLES
from tasks.bind import Binder, BoundRows, dialect_named, row_names
from tasks.http import decode_body
from tasks.incremental import CursorTracker
from tasks.map import MappedBatch, RecordMapper

WORKER_RECORDS = 20_000
"""A listing this big is mapped in the worker processes; below it, a worker's start (its imports,
half a second of a core) costs more than it saves."""
WORKERS_ENV = "IHUB_PAGE_WORKERS"
MAX_WORKERS = 4


def can_map_pages(spec: ConnectorSpec) -> bool:
    """Whether a listing's pages can be mapped apart from the run: its records are at a plain path, and
    nothing the paginator reads in a body (a total, a cursor, a next URL) is among them."""
    records = compile_path(spec.records.path)
    if not records.is_plain:
        return False
    paths = [value for name, value in spec.pagination if name.endswith("_path") and value is not None]
    return not any(compile_path(path).within(records) for path in paths)


class MappedPage:
    """One page, decoded and mapped. A plain class with slots: it crosses from a worker process."""

    __slots__ = ("body", "size", "mapped", "highest")

    def __init__(self, body: Any, size: int, mapped: MappedBatch, highest: Any):
        self.body = body
        """The page's body with its records taken out (the vendor's total, a cursor, links are still in it)."""
        self.size = size
        """How many records the vendor sent, before the spec's filter."""
        self.mapped = mapped
        """The records the filter kept, mapped."""
        self.highest = highest
        """The highest incremental cursor value among them (None: no incremental spec, or no value)."""


class PagePlan:
    """What mapping a spec's pages takes, compiled once a read (or once a worker, for each spec).

    `dialect` (a `dialect_name`): the database the rows are bound for (tasks/bind.py), with their digests."""

    def __init__(self, spec: ConnectorSpec, dialect: str):
        self.spec = spec
        self.records_path = compile_path(spec.records.path)
        self.keep = compile_path(filter_path(spec.records.filter)) if spec.records.filter else None
        self.mapper = RecordMapper(spec)
        self.dialect_name = dialect
        self.dialect = dialect_named(dialect)
        self.binders: dict[tuple[str, ...], Binder] = {}

    def map(self, content: bytes, content_type: str, url_path: str) -> MappedPage:
        """A page's answer (its bytes, content-type header and URL path, for messages), decoded and mapped."""
        spec = self.spec
        body = decode_body(content, content_type, spec.vendor, url_path)
        records = records_in(body, self.records_path, spec)
        kept = self.keep.all(records) if self.keep is not None else records
        highest = None
        if spec.incremental is not None:
            tracker = CursorTracker(spec.incremental)
            tracker.see(kept)
            highest = tracker.highest
        mapped = self.mapper.map(kept)
        if mapped.rows:  # bound and hashed here too: a core of its own, not the writer's
            names = row_names(mapped.rows[0])
            binder = self.binders.get(names)
            if binder is None:
                binder = self.binders[names] = Binder(TABLES[self.spec.target.object].__table__, self.dialect, names)
            mapped.bound, mapped.rows = BoundRows(names, binder.bind(mapped.rows)), []
        return MappedPage(self.records_path.without(body), len(records), mapped, highest)


def records_in(body: Any, path, spec: ConnectorSpec) -> list[Any]:
    """The records in a body: the list at a plain path, or every match of a wildcard path."""
    if not path.is_plain:
        matches = path.all(body)
        return [record for match in matches for record in (match if isinstance(match, list) else [match])]
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


def worker_count() -> int:
    value = os.environ.get(WORKERS_ENV, "").strip()
    if not value:
        return max(0, min(MAX_WORKERS, (os.cpu_count() or 1) - 1))
    if not value.isdigit():
        raise Invalid(f"{WORKERS_ENV} must be a whole number of processes (0 turns them off), not {value!r}")
    return int(value)


def is_big(records_read: int, total: int | None) -> bool:
    """Whether a listing is big enough for the page workers, by the records read so far or the vendor's total."""
    return max(records_read, total or 0) >= WORKER_RECORDS


def map_page(plan: PagePlan, spec_json: str, big: bool, content: bytes, content_type: str,
             url_path: str) -> MappedPage:
    """A page mapped (as `plan` maps it) in a worker process when the listing is `big` and one is ready, else here."""
    future = WORKERS.submit((spec_json, plan.dialect_name, content, content_type, url_path)) if big else None
    if future is not None:
        try:
            return future.result()
        except WorkerLost:
            pass
    return plan.map(content, content_type, url_path)


class WorkerLost(RuntimeError):
    """A page worker ended (killed, out of memory) before it answered, or could not map the page's spec:
    the page is mapped in the run's own process instead."""


class _Worker:
    """One worker process, `python -m tasks.mapped_pages`: requests go down its stdin and answers come
    back up its stdout, in the same order. Its own command, not multiprocessing's spawn, which would
    import the parent's main module in it (in a flow run's process: all of Prefect)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "tasks.mapped_pages"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE)
        self.writing = threading.Lock()
        """Held while a request is written (its answer's place in `waiting` taken at once): never while
        answers are read, or a request too big for the pipe would wait for an answer that waits for it."""
        self.waiting: deque[Future[MappedPage]] = deque()
        self.ready = threading.Event()
        self.ended = False
        self.answered = 0
        threading.Thread(target=self._answers, name="ihub-page-worker", daemon=True).start()

    def submit(self, request: tuple) -> Future[MappedPage] | None:
        with self.writing:
            if self.ended:
                return None
            future: Future[MappedPage] = Future()
            self.waiting.append(future)
            try:
                pickle.dump(request, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                self.process.stdin.flush()
            except OSError:  # it ended; its answers' reader fails what waits
                pass
            return future

    def stop(self) -> None:
        with self.writing:
            self.ended = True
            try:
                self.process.stdin.close()  # the worker ends at the end of its input
            except OSError:
                pass

    def _answers(self) -> None:
        stdout = self.process.stdout
        try:
            pickle.load(stdout)  # it has imported what mapping takes
            self.ready.set()
            while True:
                ok, value = pickle.load(stdout)
                future = self.waiting.popleft()
                self.answered += 1
                future.set_result(value) if ok else future.set_exception(value)
        except (EOFError, OSError, pickle.UnpicklingError):
            with self.writing:  # a write to the ended process fails rather than waits
                self.ended = True
                lost = list(self.waiting)
                self.waiting.clear()
            for future in lost:
                future.set_exception(WorkerLost("a page worker process ended before it answered"))
            self.process.wait()

    @property
    def load(self) -> int:
        return len(self.waiting)


class _Workers:
    """This process's page workers: started by its first big listing, then kept (and replaced if one ends)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.workers: list[_Worker] = []
        self.failed = False
        """A worker ended before it was ever ready (it cannot start here): none is started again."""
        atexit.register(self.stop)

    def submit(self, request: tuple) -> Future[MappedPage] | None:
        """Map a page in the least busy ready worker; None when none is ready (they are started now)."""
        with self.lock:
            self.failed = self.failed or any(worker.ended and not worker.ready.is_set() for worker in self.workers)
            self.workers = [worker for worker in self.workers if not worker.ended]
            if self.failed:
                return None
            if not self.workers:
                self.workers = [_Worker() for _ in range(worker_count())]
            ready = [worker for worker in self.workers if worker.ready.is_set()]
        if not ready:
            return None
        return min(ready, key=lambda worker: worker.load).submit(request)

    def stop(self) -> None:
        with self.lock:
            for worker in self.workers:
                worker.stop()
            self.workers = []


WORKERS = _Workers()


@lru_cache(maxsize=8)
def _plan(spec_json: str, dialect: str) -> PagePlan:
    return PagePlan(ConnectorSpec.model_validate_json(spec_json), dialect)


def _serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """A worker's loop: (spec JSON, dialect name, page bytes, content type, URL path) in, (True, MappedPage)
    or (False, the error) out, until its input ends."""
    pickle.dump(True, answers)
    answers.flush()
    while True:
        try:
            spec_json, dialect, content, content_type, url_path = pickle.load(requests)
        except EOFError:
            return
        try:
            plan = _plan(spec_json, dialect)
        except Exception as exc:  # not the page's fault: it is mapped in the run's process instead
            answer = (False, WorkerLost(f"a page worker could not read the spec: {exc}"))
        else:
            try:
                answer = (True, plan.map(content, content_type, url_path))
            except Exception as exc:  # the run's own errors (a vendor's bad JSON), raised where the page was read
                answer = (False, exc)
        try:
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an error that cannot cross: the page is mapped in the run's process, which says it
            data = pickle.dumps((False, WorkerLost(f"a page worker could not send its answer: {exc!r}")))
        answers.write(data)
        answers.flush()


def _serve_here() -> None:
    """Serve on this process's stdin and stdout; whatever else writes to stdout goes to stderr instead."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    _serve(sys.stdin.buffer, answers)


if __name__ == "__main__":  # a worker: served by the module under its own name, whose classes the run unpickles
    from tasks.mapped_pages import _serve_here as serve

    serve()
