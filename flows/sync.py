"""Sync one integration: authenticate, stream pages, map and upsert a batch of pages at a time.

Pages stream from the `paginate` generator task (fetched a few ahead, tasks/paginate.py) in
batches of about `spec.batch_records` records; each batch is one `map-records` and one
`upsert-records` task run, so the run graph reads authenticate -> paginate -> map-records ->
upsert-records. Where the listing allows, each page was already mapped as it was read (in the
page worker processes, for a big listing: tasks/mapped_pages.py), and map-records gathers the
batch's pages. Records are passed `quote`d (or in a plain object) so Prefect does not walk them
looking for futures. A batch's upsert runs on the task runner while the next batch is fetched and
mapped; it is waited for before the next one is submitted, so batches commit in order, and a
batch's raw records are let go once mapped: at most two batches of rows are in memory.

A dependent stream (`spec.parent`: a group's members, read once per group) streams its batches from
`paginate-children` (tasks/children.py) instead, and a `DependentCheck` judges its parents and each
parent's children; the rest of the run is the same.

The integration's update types decide what is applied (see tasks/upsert.py). With "deleted",
a full sync keeps the sync keys it saw (mapped and rejected records alike) and, once the last
batch committed, marks or removes the records it did not see.

Every run checks what it read against what the vendor said (tasks/completeness.py). Only a
provably complete run applies deletions or moves the incremental cursor. When an offset or page
run does not add up, the listing is read once more (a vendor's records that shifted during the
run, or a page that came back empty); if it still does not add up, the run ends Incomplete: what
was written is kept, and the flow run fails with what is missing.

What the counts mean after a re-read: `fetched` is the first read's records plus the records the
re-read found that the first read had not; `pages` counts the pages of both. The re-read
upserts every record again (an unchanged row is not written) so that the newest version wins,
but a record the first read already counted is counted again only when that write changed it
(as updated): `unchanged` and `rejected` are never counted twice for one record.
"""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager
from itertools import islice
from typing import Any, Iterator, NamedTuple

from prefect import flow, get_run_logger, runtime
from prefect.artifacts import create_table_artifact
from prefect.states import Completed, State
from prefect.utilities.annotations import quote
from sqlmodel import Field

from flows.hooks import count_outcome
from flows.orchestration import (AlreadyRunning, LeaseNotGranted, apply_retry_policy, one_run_at_a_time,
                                 queued_log_id, resolve_trigger, wait_seconds)
from flows.outcome import NOT_PERSISTED, failure_message, reported
from flows.reap import reap_crashed
from models.config import ActionKind, DeletedMode, IntegrationStatus, UpdateType, utcnow
from models.engine import session
from models.errors import HubError, IncompleteRun, TooManyRejected
from models.integrations import action_name, find_integration, runnable_spec, save_sync_state
from models.logs import ActionStatus, RunCounts, RunLog, Trigger, heartbeat, running_log
from models.names import SYNC_FLOW, slug
from models.redact import redact
from models.spec import ConnectorSpec
from tasks.authenticate import authenticate
from tasks.children import DependentCheck, paginate_children
from tasks.completeness import CompletenessCheck, Verdict
from tasks.deletions import apply_deletions
from tasks.incremental import CursorTracker, start_value
from tasks.map import MappedBatch
from tasks.map_records import map_records
from tasks.paginate import apart, paginate
from tasks.upsert import upsert_records

FIRST_REJECTIONS = 5


class SyncSummary(RunCounts):
    """What a run did: its counts, the first rejected records' reasons, its drift, and how long it took."""

    integration: str
    seconds: float = 0.0
    first_rejections: list[str] = Field(default_factory=list)
    """The first records rejected for a bad value; drifted records are counted in `drift` instead."""
    drift: dict[str, int] = Field(default_factory=dict)
    """Each schema drift reason -> how many records it rejected (they keep their stored values)."""
    deletions_skipped: str = ""
    """Why "deleted" was not applied this run, when the integration has it."""
    completeness: str = ""
    """What the completeness check did beyond agreeing: a re-read, or why the cursor stayed."""

    def message(self) -> str:
        counts = (f"fetched {self.fetched} records in {self.pages} pages: {self.inserted} inserted, "
                  f"{self.updated} updated, {self.unchanged} unchanged, {self.rejected} rejected")
        if self.first_rejections:
            counts += f" (first: {'; '.join(self.first_rejections)})"
        if self.skipped:
            counts += f", {self.skipped} skipped (not in the integration's update types)"
        if self.deleted:
            counts += f", {self.deleted} deleted"
        if self.drift:
            counts += f"; {self.drift_message()}"
        notes = [note for note in (self.deletions_skipped, self.completeness) if note]
        return "; ".join([counts, *notes])

    def drift_message(self) -> str:
        """Each drift reason with its records, most first: "drift: model.name: expected an object at model,
        got a string, in 500 records"."""
        reasons = sorted(self.drift.items(), key=lambda item: -item[1])
        shown = [f"drift: {reason}, in {count} record{'s' if count != 1 else ''}"
                 for reason, count in reasons[:FIRST_REJECTIONS]]
        if len(reasons) > FIRST_REJECTIONS:
            shown.append(f"drift: {len(reasons) - FIRST_REJECTIONS} more reasons in the run's summary artifact")
        return "; ".join(shown)

    def check_rejections(self, max_share: float) -> None:
        if self.fetched and self.rejected / self.fetched > max_share:
            why = [f"first: {'; '.join(self.first_rejections)}"] if self.first_rejections else []
            why += [self.drift_message()] if self.drift else []
            raise TooManyRejected(
                f"{self.rejected} of {self.fetched} records were rejected ({self.rejected / self.fetched:.0%}), "
                f"more than the {max_share:.0%} this integration allows; {'; '.join(why)}"
            )


@flow(name=SYNC_FLOW, flow_run_name="{integration}", on_completion=[count_outcome],
      on_failure=[count_outcome], on_crashed=[count_outcome], **NOT_PERSISTED)
@reported
def sync_integration(integration: str, full_refresh: bool = False) -> SyncSummary | State:
    """Fetch an integration's records from its vendor and upsert them into the hub.

    How the run was started (its schedule, the UI, a retry, `ihub run`, an action request) is found
    out, not asked: see `started_as`.

    Args:
        integration: The integration to sync, as customer/name (e.g. acme/assets).
        full_refresh: Fetch every record, ignoring the incremental sync state (where the last run stopped).
    """
    trigger, log_id = resolve_trigger(), queued_log_id()
    attempt = runtime.flow_run.run_count or 1
    with session() as db:
        record = find_integration(db, integration)
        if trigger == Trigger.schedule and record.status != IntegrationStatus.active:
            # Its deployment is paused by now, but a run the schedule started just before may be under way.
            return _skipped(RunLog(record.id, action_name(db, record, ActionKind.import_), trigger, flow_run_id(),
                                   log_id, attempt=attempt),
                            f"skipped: {integration} is {record.status.value} and its schedule runs only while Active")
        apply_retry_policy(record.flow_retries, record.flow_retry_delay_seconds)
        try:
            spec = runnable_spec(db, record)
        except HubError as exc:  # not runnable: say why in the log, at once
            action = action_name(db, record, ActionKind.import_)  # from what is known: the spec cannot be used
            RunLog(record.id, action, trigger, flow_run_id(), log_id, attempt=attempt).finish(
                ActionStatus.failed, str(exc))
            raise
    reap_crashed(record.id)  # a crashed run's log and lease must not hold this one up
    try:
        with one_run_at_a_time(record.id, record.uid) as lease_id, heartbeat(record.id), _older_objects_frozen():
            return _sync(integration, record, spec, RunLog(record.id, spec.import_action, trigger, flow_run_id(),
                                                           log_id, attempt=attempt, lease_id=lease_id), full_refresh)
    except LeaseNotGranted as exc:
        RunLog(record.id, spec.import_action, trigger, flow_run_id(), log_id, attempt=attempt).finish(
            ActionStatus.failed, str(exc))
        raise
    except AlreadyRunning:
        return _skipped(RunLog(record.id, spec.import_action, trigger, flow_run_id(), log_id, attempt=attempt),
                        _skipped_message(integration, record.id))


def _skipped(run_log: RunLog, message: str) -> State:
    """A run that does nothing: Completed as Skipped (no success, no failure), its action log and its run's
    log saying why."""
    run_log.finish(ActionStatus.skipped, message)
    get_run_logger().warning(message)
    return Completed(name="Skipped", message=message)


@contextmanager
def _older_objects_frozen() -> Iterator[None]:
    """Keep the objects that were there before the run (the imports: ~170k) out of Python's garbage
    collections while it runs. A batch's records are many small containers that outlive a young
    collection, so full collections come often, and each walked every one of those objects: a
    fifth of a first load's CPU on loopback. They are handed back to the collector afterwards."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _skipped_message(ref: str, integration_id: int) -> str:
    other = running_log(integration_id)
    which = f" (flow run {other.flow_run_id}, {other.trigger.value})" if other and other.flow_run_id else ""
    return (f"skipped: another run of {ref} was in progress{which} and did not end within {wait_seconds():g} s; "
            "one integration never runs twice at once")


def _sync(integration: str, record, spec: ConnectorSpec, run_log: RunLog, full_refresh: bool) -> SyncSummary:
    started = time.perf_counter()
    tracker = since = None
    if spec.incremental is not None:
        tracker = CursorTracker(spec.incremental)
        since = None if full_refresh else start_value(spec.incremental, record.sync_state)
        if since is not None:
            spec.request.params[spec.incremental.param] = since
    update_types = list(record.update_types)
    summary = SyncSummary(integration=integration)
    deletes = UpdateType.deleted in update_types
    _log_start(integration, spec, run_log, since, full_refresh)
    if deletes and since is not None:
        deletes = False
        summary.deletions_skipped = (f"no records deleted: an incremental run fetches only what changed "
                                     f"(since {since})")
    check = CompletenessCheck(spec.pagination) if spec.parent is None else DependentCheck(spec)
    keys = deletes or check.counts_keys  # the sync keys this run read are kept only when something needs them
    try:
        auth = authenticate(spec.auth)
        read = _Read(spec, auth, record.id, update_types, summary, run_log, check, tracker, keys)
        read.listing()
        verdict = check.verdict()
        if verdict.incomplete and check.can_reread:
            first = verdict
            read.listing(again=True)
            verdict = check.verdict()
            if verdict.proven:
                summary.completeness = _reread_note(first)
        if verdict.incomplete:
            raise IncompleteRun(_incomplete_message(verdict, summary, deletes, tracker is not None, check.can_reread))
        summary.check_rejections(spec.max_rejected_share)
        if deletes:
            _delete_missing(summary, run_log, spec, record.id, record.deleted_mode, check, verdict)
    except BaseException as exc:  # KeyboardInterrupt and cancellation too: the log must not stay In Progress
        if isinstance(exc, Exception):
            summary.seconds = round(time.perf_counter() - started, 3)
            status = ActionStatus.incomplete if isinstance(exc, IncompleteRun) else ActionStatus.failed
            run_log.finish(status, failure_message(exc))
            _summary_artifact(summary, failed=failure_message(exc))
        else:
            run_log.finish(ActionStatus.cancelled, f"interrupted after {summary.message()}; "
                                                    "the batches written are kept, a re-run picks up the rest")
        raise
    summary.seconds = round(time.perf_counter() - started, 3)
    if tracker is not None and tracker.highest is not None:
        if verdict.proven:  # see CursorTracker: only a provably complete run may move the cursor
            save_sync_state(record.id, {"cursor": tracker.highest})
        elif summary.deletions_skipped == f"no records deleted: {verdict.reason}":  # one reason, said once
            summary.deletions_skipped = ""
            summary.completeness = f"no records deleted and the incremental cursor was not moved: {verdict.reason}"
        else:
            summary.completeness = f"the incremental cursor was not moved: {verdict.reason}"
    run_log.finish(ActionStatus.completed, summary.message())
    _summary_artifact(summary)
    get_run_logger().info("completed in %.1f s: %s", summary.seconds, summary.message())
    return summary


def _log_start(integration: str, spec: ConnectorSpec, run_log: RunLog, since: Any, full_refresh: bool) -> None:
    log = run_log.log
    if since is not None:
        reading = f"incremental, {spec.incremental.param} since {since}"
    elif spec.incremental is not None:
        reading = "full refresh (asked)" if full_refresh else "full (no incremental cursor yet)"
    else:
        reading = "full"
    url = f"{spec.request.base_url.rstrip('/')}/{spec.request.path.lstrip('/')}"
    if spec.parent is not None:
        url += f" for each {spec.parent.name} of {spec.parent.request.method} {spec.parent.request.path}"
    get_run_logger().info("%s of %s from %s: %s %s, %s; action log #%s, attempt %s (%s)", log.action, integration,
                          spec.vendor, spec.request.method, url, reading, log.id, log.attempt, log.trigger.value)


class _Read:
    """Reads the listing, a batch of pages at a time: maps, upserts and counts each batch (see above)."""

    def __init__(self, spec: ConnectorSpec, auth, integration_id: int, update_types: list[str],
                 summary: SyncSummary, run_log: RunLog, check: CompletenessCheck | DependentCheck,
                 tracker: CursorTracker | None, keys: bool):
        self.spec, self.auth, self.integration_id, self.update_types = spec, auth, integration_id, update_types
        self.summary, self.run_log, self.check, self.tracker, self.keys = summary, run_log, check, tracker, keys

    def listing(self, again: bool = False) -> None:
        """One read of the listing. `again`: a re-read, which counts only what the first read did not."""
        spec = self.spec
        first = self.check.passes[0].keys if again else None
        writing = None  # the previous batch's upsert, still running while the next batch is fetched
        try:
            pages = paginate if spec.parent is None else paginate_children  # a dependent stream: per parent
            for batch in apart(pages(spec, self.auth, self.check, spec.batch_records)):
                # quoted: Prefect would walk every record and every field of the spec, twice a task run
                mapped = map_records(quote(batch.records), quote(spec), quote(batch.mapped), wait_for=[batch])
                if self.tracker is not None:
                    self.tracker.see(batch.records)
                    self.tracker.consider(batch.highest)
                read = _Counted(batch.pages, batch.count, batch.total)
                batch.records, batch.mapped = [], []  # mapped now: let them go while the next batch is read
                if self.keys:
                    self.check.read(mapped.keys())
                if writing is not None:
                    _count(self.summary, self.run_log, *writing)
                    writing = None
                fetched, made = None, mapped
                if first is not None:
                    mapped, fetched = self._rewrite_known(mapped, first)
                writing = (self._upsert(mapped.writes(), after=made), read, mapped, fetched)
            if writing is not None:
                _count(self.summary, self.run_log, *writing)
                writing = None
        except BaseException:
            if writing is not None:  # a write still in flight: let it end, and count it if it committed
                try:
                    _count(self.summary, self.run_log, *writing)
                except Exception:
                    pass
            raise

    def _rewrite_known(self, mapped: MappedBatch, first: set[str]) -> tuple[MappedBatch, int]:
        """Upsert (and wait for) the rows the first read already counted, adding only the writes it
        makes; return the rest of the batch, to be counted like any, and how many records that is."""
        known = mapped.only(first.__contains__).writes()
        if known:
            counts = self._upsert(known).result()
            self.summary.inserted += counts.inserted
            self.summary.updated += counts.updated
        fresh = mapped.only(lambda key: key not in first)
        return fresh, fresh.records

    def _upsert(self, rows, after: MappedBatch | None = None):
        """Submit an upsert of `rows` (mapped, or bound where they were mapped); `after`: the map-records
        run they came from (the run graph's edge)."""
        return upsert_records.submit(quote(rows), self.integration_id, self.spec.target.object,
                                     self.spec.target.custom_type, update_types=self.update_types,
                                     wait_for=[after] if after is not None else None)


def _reread_note(first: Verdict) -> str:
    return f"re-read the listing once: {first.cause} ({first.reason}); read twice, it adds up"


def _incomplete_message(verdict: Verdict, summary: SyncSummary, deletes: bool, incremental: bool,
                        reread: bool) -> str:
    """`reread`: the whole listing was read twice (a dependent stream re-reads each parent's children instead,
    and its verdict says so)."""
    kept = [f"what was written is kept ({summary.inserted} inserted, {summary.updated} updated)"]
    if deletes:
        kept.append("no records deleted")
    if incremental:
        kept.append("the incremental cursor was not moved")
    twice = "; read twice, the listing still does not add up" if reread else ""
    return f"incomplete: {verdict.reason}{twice}; {', '.join(kept)}"


def _delete_missing(summary: SyncSummary, run_log: RunLog, spec: ConnectorSpec, integration_id: int,
                    mode: DeletedMode, check: CompletenessCheck | DependentCheck, verdict: Verdict) -> None:
    """Apply "deleted" after a full sync that proved it read every record, unless the vendor returned
    nothing at all or some records could not be told apart: deleting after a run that may have missed
    records removes records that still exist."""
    if not verdict.proven:
        summary.deletions_skipped = f"no records deleted: {verdict.reason}"
    elif unkeyed := check.unkeyed():
        summary.deletions_skipped = (f"no records deleted: {unkeyed} record{'s' if unkeyed != 1 else ''} had no "
                                     "readable sync key, so the hub cannot tell which of its records they are")
    elif not (seen := check.keys_at_the_vendor()):
        summary.deletions_skipped = ("no records deleted: the vendor returned no records at all, which looks "
                                     "more like a fault than every record gone; remove them by hand if it is not")
    else:
        summary.deleted = apply_deletions(quote(seen), integration_id, spec.target.object, mode)
        if summary.deleted:
            run_log.progress(summary)
        get_run_logger().info("deletions: %s of the hub's records not at the vendor %s (%s records seen there)",
                              summary.deleted, "marked deleted" if mode == DeletedMode.mark else "removed", len(seen))
        return
    get_run_logger().info("deletions: %s", summary.deletions_skipped)


class _Counted(NamedTuple):
    """What a batch read, kept for its counts once its raw records are let go."""

    pages: int
    records: int
    total: int | None


def _count(summary: SyncSummary, run_log: RunLog, future, batch: _Counted, mapped, fetched: int | None = None) -> None:
    """Wait for a batch's upsert (raising its error) and add it to the run's counts and log.

    `fetched`: how many of the batch's records to count, when not all of them (a re-read)."""
    counts = future.result()
    summary.pages += batch.pages
    summary.fetched += batch.records if fetched is None else fetched
    summary.inserted += counts.inserted
    summary.updated += counts.updated
    summary.unchanged += counts.unchanged
    summary.skipped += counts.skipped
    summary.rejected += len(mapped.rejected)
    if len(summary.first_rejections) < FIRST_REJECTIONS:
        plain = (rejection for rejection in mapped.rejected if not rejection.drift)
        for rejection in islice(plain, FIRST_REJECTIONS - len(summary.first_rejections)):
            summary.first_rejections.append(f"{rejection.sync_key or 'record without key'}: {rejection.reason}")
    for reason, records in mapped.drift.items():
        if reason not in summary.drift:
            get_run_logger().warning(f"schema drift: {reason}, in {records} of {batch.records} records of a "
                                     "batch; they are rejected and keep their stored values")
        summary.drift[reason] = summary.drift.get(reason, 0) + records
        summary.drifted += records
    summary.expected_total = batch.total
    run_log.progress(summary)
    _log_batch(summary, run_log, batch, mapped, counts, fetched)


def _log_batch(summary: SyncSummary, run_log: RunLog, batch: _Counted, mapped, counts, fetched: int | None) -> None:
    """One line per batch in the run's log: what it read and wrote, and the run's pace so far."""
    seconds = max((utcnow() - run_log.log.started_at).total_seconds(), 1e-3)
    records = batch.records if fetched is None else fetched
    get_run_logger().info(
        "batch: %s pages, %s records: %s inserted, %s updated, %s unchanged, %s rejected; so far %s records in %s "
        "pages, %.0f records/s", batch.pages, records, counts.inserted, counts.updated, counts.unchanged,
        len(mapped.rejected), summary.fetched, summary.pages, summary.fetched / seconds)


def flow_run_id() -> str | None:
    run_id = runtime.flow_run.id
    return str(run_id) if run_id else None


def _summary_artifact(summary: SyncSummary, failed: str | None = None) -> None:
    """A table on the flow run's page in the UI, and under the integration's key in Artifacts."""
    rows = [{"measure": "outcome", "value": f"failed: {redact(failed)}" if failed else "completed"}]
    rows += [{"measure": name, "value": value}
             for name, value in summary.model_dump(exclude={"integration", "first_rejections", "drift",
                                                            "deletions_skipped", "completeness"}).items()]
    rows += [{"measure": "rejected record", "value": redact(reason)} for reason in summary.first_rejections]
    rows += [{"measure": f"drift: {reason}", "value": records}
             for reason, records in sorted(summary.drift.items(), key=lambda item: -item[1])]
    if summary.deletions_skipped:
        rows.append({"measure": "deletions", "value": summary.deletions_skipped})
    if summary.completeness:
        rows.append({"measure": "completeness", "value": summary.completeness})
    create_table_artifact(
        key=f"sync-{slug(summary.integration)}",
        table=rows,
        description=redact(f"Sync of {summary.integration}{' failed' if failed else ''}: {summary.message()}"),
    )
