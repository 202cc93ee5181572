"""Run an integration's sync flow in this process, with a live progress bar.

The flow records its progress in its action log; a background thread reads that row and moves
the bar, so the same display would work for a run happening anywhere.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlmodel import col, select

from models.config import Integration, utcnow
from models.engine import session
from models.logs import ActionLog, ActionStatus, RunLog, Trigger


def latest_log(integration_id: int, since=None) -> ActionLog | None:
    with session() as db:
        query = select(ActionLog).where(ActionLog.integration_id == integration_id)
        if since is not None:
            query = query.where(ActionLog.started_at >= since)
        return db.exec(query.order_by(col(ActionLog.id).desc()).limit(1)).first()


@contextmanager
def progress_of(console: Console, integration_id: int, label: str) -> Iterator[None]:
    since = utcnow()
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("records"), TimeElapsedColumn(), console=console, transient=True,
    )
    bar = progress.add_task(f"{label}: starting the flow run", total=None)
    stop = threading.Event()

    def follow() -> None:
        while not stop.wait(0.2):
            log = latest_log(integration_id, since)
            if log is not None:
                progress.update(bar, description=f"{label}: {log.status.value.lower()}",
                                completed=log.fetched, total=log.expected_total)

    watcher = threading.Thread(target=follow, daemon=True)
    with progress:
        watcher.start()
        try:
            yield
        finally:
            stop.set()
            watcher.join()


_without_heartbeat: list = [None, None]
"""The settings last in use, and the same without Prefect's heartbeat: making them costs ~0.1 s of CPU
(pydantic reads every setting again), so once for a process's runs rather than once a run."""


@contextmanager
def without_prefect_heartbeat() -> Iterator[None]:
    """Run flows here without Prefect's heartbeat thread. The hub's own heartbeat (models/logs.py) tells
    a dead run, and the reaper marks its flow run Crashed (flows/reap.py); Prefect's thread sleeps in
    1 s steps and is joined when the run ends, which added up to a second to every run."""
    from prefect.context import SettingsContext, get_settings_context

    context = get_settings_context()
    if _without_heartbeat[0] is not context.settings:
        _without_heartbeat[:] = context.settings, context.settings.copy_with_update(
            updates={"flows.heartbeat_frequency": None})
    with SettingsContext(profile=context.profile, settings=_without_heartbeat[1]):
        yield


START_ATTEMPTS = 3
START_BACKOFF_SECONDS = (5.0, 15.0)
"""A run Prefect did not accept (each attempt already retried 503s and timeouts by Prefect's client,
PREFECT_CLIENT_MAX_RETRIES) is started again after these pauses, then given up as Failed."""


def run_sync(console: Console, integration_id: int, ref: str, trigger: Trigger = Trigger.manual,
             full_refresh: bool = False) -> ActionLog | None:
    """Run `sync_integration` here and return the action log it wrote (None if it wrote none).

    When the Prefect server does not accept the run (it answers 503, times out, is unreachable)
    before the flow wrote its log, the start is tried again with backoff; after the last attempt
    the run's log is written here, Failed and counted like any failed run.
    """
    from flows.orchestration import started_as
    from flows.sync import sync_integration
    from ihub.embedded import use_own_session_server

    use_own_session_server()
    started = utcnow()
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            with progress_of(console, integration_id, ref), started_as(trigger), without_prefect_heartbeat():
                sync_integration(ref, full_refresh=full_refresh, return_state=True)
        except KeyboardInterrupt:
            log = latest_log(integration_id, started)
            console.print(f"[yellow]Run cancelled:[/] {log.message if log else 'it was interrupted before it started'}")
            raise SystemExit(130) from None
        except Exception as exc:
            problem = prefect_refusal(exc)
            if problem is None:
                raise
            log = latest_log(integration_id, started)
            if log is not None:  # the run had started: its log says how far it got
                console.print(f"[yellow]The Prefect server stopped answering during the run:[/] {problem}")
                return log
            if attempt == START_ATTEMPTS or not retryable(exc):
                return not_accepted(integration_id, trigger, f"{problem} after {attempt} attempts")
            time.sleep(START_BACKOFF_SECONDS[attempt - 1])
            continue
        return latest_log(integration_id, started)


def _causes(exc: BaseException | None) -> Iterator[BaseException]:
    """`exc` and what caused it, in turn."""
    while exc is not None:
        yield exc
        exc = exc.__cause__


def prefect_refusal(exc: BaseException) -> str | None:
    """What the Prefect server did, when `exc` (or what caused it) is its answer or its silence."""
    for cause in _causes(exc):
        if isinstance(cause, httpx.HTTPStatusError):
            return f"HTTP {cause.response.status_code}"
        if isinstance(cause, httpx.TimeoutException):
            return "no answer in time (PREFECT_API_REQUEST_TIMEOUT)"
        if isinstance(cause, httpx.TransportError):
            return f"cannot reach it ({type(cause).__name__})"
    return None


def retryable(exc: BaseException) -> bool:
    """A 4xx other than 429 is an answer that another attempt would only repeat."""
    status = next((cause.response.status_code for cause in _causes(exc) if isinstance(cause, httpx.HTTPStatusError)),
                  None)
    return status is None or status >= 500 or status == 429


def not_accepted(integration_id: int, trigger: Trigger, problem: str) -> ActionLog:
    """Write the Failed log of a run Prefect never started, and count it towards auto-disable."""
    from prefect.settings import PREFECT_API_URL

    from flows.hooks import count_failure
    from models.integrations import connector_spec

    url = PREFECT_API_URL.value()
    server = f"at {httpx.URL(url).copy_with(userinfo=b'', query=None)}" if url else "(embedded)"
    message = f"the Prefect server {server} did not accept the run: {problem}; nothing was synced"
    with session() as db:
        action = connector_spec(db, db.get(Integration, integration_id)).import_action
    run_log = RunLog(integration_id, action, trigger, None)
    run_log.finish(ActionStatus.failed, message)
    count_failure(integration_id, message, logging.getLogger("ihub.runs"))
    return run_log.log
