"""Run an integration's sync flow in this process, with a live progress bar.

The flow records its progress in its action log; a background thread reads that row and moves
the bar, so the same display would work for a run happening anywhere.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlmodel import col, select

from models.config import utcnow
from models.engine import session
from models.logs import ActionLog, Trigger


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


def run_sync(console: Console, integration_id: int, ref: str, trigger: Trigger = Trigger.manual,
             full_refresh: bool = False) -> ActionLog | None:
    """Run `sync_integration` here and return the action log it wrote (None if it wrote none)."""
    from flows.sync import sync_integration

    started = utcnow()
    try:
        with progress_of(console, integration_id, ref):
            sync_integration(ref, trigger=trigger, full_refresh=full_refresh, return_state=True)
    except KeyboardInterrupt:
        log = latest_log(integration_id, started)
        console.print(f"[yellow]Run cancelled:[/] {log.message if log else 'it was interrupted before it started'}")
        raise SystemExit(130) from None
    return latest_log(integration_id, started)
