"""Can a run prove that it read every record? Its pages and sync keys, checked against what the vendor said.

Pure: the flow passes the pages through `watch` and tells `read` the sync keys of each mapped
batch; `verdict` says whether the run is provably complete, and if not, why.

- Where the vendor gives a total (offset and page pagination with `total_path` or `total_header`), a read is
  complete when the distinct records read number exactly the total, the total was the same on
  every page (a listing that grows or shrinks while it is read shifts its pages), no page came
  back empty or short before the end, the page size did not change, and no more pages were read
  than the total fills. A disagreement is a contradiction: records were missed, and the run
  must not say Completed (`Verdict.incomplete`).
- Without a total, offset and page pagination cannot prove anything: a record shifted past the
  offset leaves no trace. Cursor, next-URL and single-page runs count the vendor's own end
  signal (no next cursor or URL, has_more false) as proof, provided no empty page came before it.
- A run stopped by `pagination.max_pages` is never proven.

Records are told apart by sync key. Records the spec's filter drops, and rejected records
without a key, can only be counted: on a listing whose total held still, each place in it is read
once, so the counts are exact there. A listing changed by as many inserts as deletes while it
is read keeps its total and can still fool the count; a stable sort (`pagination.sort`) and a
vendor that pages by key rather than by offset are the remedy for that, not anything counted here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil
from typing import Iterable, Iterator

from models.spec import Pagination
from tasks.paginate import Page, Stop


@dataclass(frozen=True)
class PageSeen:
    at: str
    size: int
    """What the vendor sent, before the spec's filter."""
    total: int | None


@dataclass(frozen=True)
class Verdict:
    proven: bool
    reason: str = ""
    """Why the run is not provably complete; empty when it is."""
    incomplete: bool = False
    """The vendor's own numbers say records were missed: the run must not call itself complete."""
    cause: str = ""
    """What an incomplete read most likely met, in a few words."""


@dataclass
class Pass:
    """One read of the listing, first page to last."""

    pages: list[PageSeen] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    unkeyed: int = 0
    """Records read that have no sync key (rejected): counted, not told apart."""
    dropped: int = 0
    """Records the spec's filter left out: counted, not told apart."""
    capped: bool = False

    @property
    def totals(self) -> list[int]:
        return [page.total for page in self.pages if page.total is not None]

    @property
    def distinct(self) -> int:
        return len(self.keys) + self.unkeyed + self.dropped

    def problems(self, distinct: int | None = None) -> list[str]:
        """What does not add up in a read whose vendor gave a total; empty when it all does.

        `distinct` replaces this read's own count of distinct records (the count of every read together).
        """
        totals = self.totals
        total = totals[-1]
        distinct = self.distinct if distinct is None else distinct
        found = []
        if distinct != total:
            found.append(f"read {distinct} distinct records of the {total} the vendor reports" if distinct < total
                         else f"read {distinct} distinct records, more than the {total} the vendor reports")
        if len(set(totals)) > 1:
            found.append(f"the vendor's total changed during the run, from {totals[0]} to {total}")
        found += self.gaps(total)
        size = self.pages[0].size
        changed = next((page for page in self.pages if page.size > size), None)
        if changed is not None:
            found.append(f"the page size changed from {size} to {changed.size} at {changed.at}")
        expected = max(1, ceil(total / size)) if size else 1
        if len(self.pages) > expected:
            found.append(f"read {len(self.pages)} pages where the {total} records fill {expected}")
        return found

    def gaps(self, total: int) -> list[str]:
        """The first empty and the first short page before the end (the first page sets the size)."""
        size = self.pages[0].size
        covered, empty, short = 0, None, None
        for number, page in enumerate(self.pages, start=1):
            covered += page.size
            if number == len(self.pages) and covered >= total:  # the last page may be short: it ends the listing
                break
            if page.size == 0:
                empty = empty or f"an empty page came back at {page.at}"
            elif page.size < size:
                short = short or f"a short page ({page.size} of {size} records) came back at {page.at} before the end"
        return [problem for problem in (empty, short) if problem]


class CompletenessCheck:
    """Watches the reads of one run (a first pass, and at most one re-read) and judges them."""

    def __init__(self, pagination: Pagination):
        self.style = pagination.type
        self.max_pages = getattr(pagination, "max_pages", None)
        self.total_source = getattr(pagination, "total_source", None)
        """Where the vendor's total is read (a JSON path, or a header), if it gives one."""
        self.passes: list[Pass] = []

    @property
    def counts_keys(self) -> bool:
        """Whether the verdict needs the sync keys read: only where the vendor gives a total."""
        return self.total_source is not None

    @property
    def can_reread(self) -> bool:
        """Offsets and page numbers can be asked again; a cursor or next URL handed out once cannot."""
        return self.style in ("offset", "page")

    def watch(self, pages: Iterator[Page]) -> Iterator[Page]:
        """Pass the pages of one read through, noting each, and how the read stopped."""
        current = Pass()
        self.passes.append(current)
        while True:
            try:
                page = next(pages)
            except StopIteration as stopped:
                current.capped = stopped.value is Stop.max_pages
                return
            current.pages.append(PageSeen(page.at, page.size, page.total))
            current.dropped += page.size - page.kept
            yield page

    def read(self, keys: Iterable[str | None]) -> None:
        """The sync keys of records the current read mapped or rejected (None: a record without one)."""
        current = self.passes[-1]
        for key in keys:
            if key is None:
                current.unkeyed += 1
            else:
                current.keys.add(key)

    def keys_read(self) -> set[str]:
        """Every sync key the run read, in any pass."""
        if len(self.passes) == 1:
            return self.passes[0].keys
        return set().union(*(read.keys for read in self.passes))

    def unkeyed(self) -> int:
        """Records read without a sync key (rejected before one could be read), in the read that had most."""
        return max((read.unkeyed for read in self.passes), default=0)

    def keys_at_the_vendor(self) -> set[str]:
        """The sync keys the vendor has, as far as a proven run knows: the last read's when it adds up
        on its own (the first read may have seen records deleted since), else every read's."""
        last = self.passes[-1]
        if self.total_source is not None and last.totals and not last.problems():
            return last.keys
        return self.keys_read()

    def verdict(self) -> Verdict:
        last = self.passes[-1]
        if last.capped:
            return Verdict(False, f"the run stopped at pagination.max_pages ({self.max_pages} pages) "
                                  "and may not have seen every record")
        if self.style in ("offset", "page"):
            return self._counted(last)
        empty = next((page.at for page in last.pages[:-1] if page.size == 0), None)
        if empty is not None:
            return Verdict(False, f"an empty page came back at {empty} before the vendor's last page")
        return Verdict(True)

    def _counted(self, last: Pass) -> Verdict:
        if self.total_source is None:
            return Verdict(False, f"{self.style} pagination cannot prove a run read every record without the "
                                  "vendor's total; set pagination.total_path (or total_header)")
        if not last.totals:
            where = "in" if self.total_source.startswith("the ") else "at"
            return Verdict(False, f"the vendor's answers had no total {where} {self.total_source}")
        problems = last.problems()
        if not problems or self._union_adds_up():
            return Verdict(True)
        if len(self.passes) > 1:  # say what both reads together found
            problems = last.problems(self._union_distinct()) or problems
        cause = ("a page came back empty or short" if last.gaps(last.totals[-1])
                 else "the vendor's records shifted during the run")
        return Verdict(False, "; ".join(problems), incomplete=True, cause=cause)

    def _union_distinct(self) -> int:
        """Distinct records of every read together.

        Each read of a listing whose total never changed covers every place in it at most once, so
        the larger of the reads' counts of records without a key (or dropped by the filter) is at
        most the listing's.
        """
        return (len(self.keys_read()) + max(read.unkeyed for read in self.passes)
                + max(read.dropped for read in self.passes))

    def _union_adds_up(self) -> bool:
        """A re-read and the first read together read it all: one total throughout, and they add up to it."""
        if len(self.passes) < 2:
            return False
        totals = {total for read in self.passes for total in read.totals}
        return len(totals) == 1 and self._union_distinct() == totals.pop()
