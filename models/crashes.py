"""Runs that died without closing their action log (`kill -9`, a lost machine), as far as the
hub's database can tell: a log In Progress whose process is gone from this host, or whose
integration has not beaten its heart for a few intervals. Closing one is done once: two
reapers (a run starting and `ihub serve`) never both close and count the same log.

What Prefect says of the run is asked by flows/reap.py, which does the reaping.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select

from models.config import Integration, utcnow
from models.engine import session
from models.logs import ActionLog, ActionStatus, heartbeat_seconds

STALE_BEATS = 4
"""A run is taken for dead after this many heartbeat intervals (IHUB_HEARTBEAT_SECONDS) without a beat."""


@dataclass
class OpenRun:
    """An In Progress log of a flow run, with its integration's last heartbeat."""

    log_id: int
    integration_id: int
    flow_run_id: str
    host: str | None
    pid: int | None
    lease_id: str | None
    started_at: datetime
    last_heartbeat_at: datetime | None

    @property
    def last_sign_of_life(self) -> datetime:
        return max(self.started_at, self.last_heartbeat_at or self.started_at)


def open_runs(integration_id: int | None = None) -> list[OpenRun]:
    """The In Progress logs of flow runs (an external integration's own logs are its business)."""
    query = (select(ActionLog, Integration.last_heartbeat_at).join(Integration)
             .where(ActionLog.status == ActionStatus.in_progress, col(ActionLog.flow_run_id).is_not(None)))
    if integration_id is not None:
        query = query.where(ActionLog.integration_id == integration_id)
    with session() as db:
        rows = db.exec(query.order_by(col(ActionLog.id))).all()
    return [OpenRun(log.id, log.integration_id, log.flow_run_id, log.host, log.pid, log.lease_id, log.started_at,
                    beat) for log, beat in rows]


def dead_by_the_database(run: OpenRun, now: datetime | None = None) -> str | None:
    """Why `run` is dead, or None while it may live: its process gone from this host (known at
    once), or, on any host, a heartbeat older than `STALE_BEATS` intervals."""
    if run.host == socket.gethostname() and run.pid is not None and not process_alive(run.pid):
        return f"its process {run.pid} on {run.host} is gone"
    allowed = timedelta(seconds=STALE_BEATS * heartbeat_seconds())
    if (now or utcnow()) - run.last_sign_of_life > allowed:
        return f"none for more than {allowed.total_seconds():g} s"
    return None


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs on this host (a zombie, killed but not yet waited for, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):  # no /proc (macOS): trust the signal
        return True


def crash_message(run: OpenRun, why: str) -> str:
    return (f"crashed: no heartbeat since {run.last_sign_of_life:%Y-%m-%d %H:%M:%S} UTC ({why}); "
            "the batches written are kept, a re-run picks up the rest")


def close_crashed(log_id: int, message: str) -> bool:
    """Close the log as Failed if it is still In Progress; False when another reaper or the run did first."""
    now = utcnow()
    with session() as db:
        closed = db.exec(update(ActionLog).where(col(ActionLog.id) == log_id,
                                                 col(ActionLog.status) == ActionStatus.in_progress)
                         .values(status=ActionStatus.failed, message=message, finished_at=now, updated_at=now))
        if closed.rowcount != 1:
            db.rollback()
            return False
        integration_id = db.exec(select(ActionLog.integration_id).where(ActionLog.id == log_id)).one()
        db.exec(update(Integration).where(col(Integration.id) == integration_id).values(last_log_update_at=now))
        db.commit()
    return True
