"""Action logs: one row per run of an integration action (seed 003). A retried run keeps its row,
and the row keeps what each earlier attempt did (`past_attempts`)."""

from __future__ import annotations

import os
import socket
import threading
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Iterator

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel, select

from models.config import Integration, enum_column, utcnow
from models.engine import session
from models.log_enums import ActionStatus, Trigger
from models.redact import redact


class RunCounts(SQLModel):
    """What a sync run has done so far; an action log row carries these as columns."""

    pages: int = 0
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    drifted: int = 0
    """Of the rejected, those whose shape changed at the vendor (schema drift): their stored values are kept."""
    skipped: int = 0
    """Vendor changes the integration's update types leave out (a new record without "created")."""
    deleted: int = 0
    expected_total: int | None = None


class Attempt(SQLModel):
    """One attempt of a run: the first, or a retry of the same flow run (by Prefect or from the UI)."""

    number: int
    status: ActionStatus
    trigger: Trigger
    message: str = ""
    started_at: datetime
    finished_at: datetime | None = None

    def line(self) -> str:
        """"attempt 1 Failed: cannot reach ..." """
        return f"attempt {self.number} {self.status.value}" + (f": {self.message}" if self.message else "")


class ActionLog(RunCounts, table=True):
    __tablename__ = "action_log"
    __table_args__ = (
        # An integration's logs of one status, newest first: the Integration Manager's status filter.
        Index("ix_action_log_integration_status", "integration_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(foreign_key="integration.id", ondelete="CASCADE", index=True)
    action: str
    status: ActionStatus = Field(default=ActionStatus.queued, sa_type=enum_column(ActionStatus))
    trigger: Trigger = Field(default=Trigger.manual, sa_type=enum_column(Trigger))
    record_ref: str | None = None
    message: str = ""
    flow_run_id: str | None = Field(default=None, index=True)
    attempt: int = 1
    """The flow run's run count: 2 and more after Prefect or an operator retried the same run."""
    host: str | None = None
    pid: int | None = None
    """The machine and process that run it: a run whose process is gone is reaped at once (models/crashes.py)."""
    lease_id: str | None = None
    """The run's Prefect concurrency lease, released when a crashed run is reaped."""
    started_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    past_attempts: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False,
                                                                                      server_default="[]"))
    """The earlier attempts of this run, oldest first (`Attempt`s as JSON); the row itself is the latest."""

    @property
    def seconds(self) -> float:
        end = self.finished_at or self.updated_at
        return max((end - self.started_at).total_seconds(), 0.0)

    def attempts(self) -> list[Attempt]:
        """Every attempt of the run, oldest first, the latest (this row's own fields) last."""
        latest = Attempt(number=self.attempt, status=self.status, trigger=self.trigger, message=self.message,
                         started_at=self.started_at, finished_at=self.finished_at)
        return [Attempt.model_validate(past) for past in self.past_attempts or []] + [latest]

    def attempts_line(self) -> str:
        """"attempt 1 Failed: ...; attempt 2 Completed: ..." for a retried run; its message otherwise."""
        attempts = self.attempts()
        return "; ".join(attempt.line() for attempt in attempts) if len(attempts) > 1 else self.message

    @property
    def first_trigger(self) -> Trigger:
        """How the run was first started: a retry keeps it beside "retry"."""
        return Trigger(self.past_attempts[0]["trigger"]) if self.past_attempts else self.trigger


class RunLog:
    """The action log row of one run, kept up to date as the run goes (seed 003).

    Every write also refreshes the integration's `last_log_update_at` and heartbeat, which
    the integration manager's header shows.
    """

    def __init__(self, integration_id: int, action: str, trigger: Trigger | str, flow_run_id: str | None,
                 log_id: int | None = None, record_ref: str | None = None, attempt: int = 1,
                 lease_id: str | None = None):
        """Start a new log row, or take over the Queued row `log_id` an action request wrote, or the
        row of an earlier attempt of the same flow run (a retry): one run, one log."""
        log = None
        with session() as db:
            if log_id is not None:
                log = db.get(ActionLog, log_id)
            elif flow_run_id is not None:
                log = db.exec(select(ActionLog).where(ActionLog.flow_run_id == flow_run_id,
                                                      ActionLog.integration_id == integration_id)).first()
        if log is None:
            log = ActionLog(integration_id=integration_id, action=action, record_ref=record_ref)
        elif log.status != ActionStatus.queued:  # a retry: keep what the attempt before did
            log.past_attempts = [*log.past_attempts, log.attempts()[-1].model_dump(mode="json")]
            attempt = max(attempt, log.attempt + 1)  # a retried request runs its flow anew, from run count 1
        for name, default in RunCounts():  # a retried run starts counting again
            setattr(log, name, default)
        log.trigger = Trigger(trigger)
        log.attempt = attempt
        log.status = ActionStatus.in_progress
        log.flow_run_id = flow_run_id
        log.host, log.pid, log.lease_id = socket.gethostname(), os.getpid(), lease_id
        log.message, log.finished_at = "", None
        log.started_at = utcnow()
        self.log = log
        self._save()

    def progress(self, counts: RunCounts) -> None:
        for name in RunCounts.model_fields:
            setattr(self.log, name, getattr(counts, name))
        self._save()

    def finish(self, status: ActionStatus, message: str) -> None:
        self.log.status = status
        self.log.message = redact(message)
        self.log.finished_at = utcnow()
        self._save()

    def _save(self) -> None:
        now = utcnow()
        self.log.updated_at = now
        with session() as db:
            db.add(self.log)
            integration = db.get(Integration, self.log.integration_id)
            integration.last_log_update_at = now
            integration.last_heartbeat_at = now
            db.add(integration)
            db.commit()  # the insert sets the id; nothing needs reading back


def running_log(integration_id: int) -> ActionLog | None:
    """The newest In Progress log of an integration: the run that holds it, if any."""
    with session() as db:
        return db.exec(select(ActionLog).where(ActionLog.integration_id == integration_id,
                                               ActionLog.status == ActionStatus.in_progress)
                       .order_by(ActionLog.id.desc())).first()


HEARTBEAT_ENV = "IHUB_HEARTBEAT_SECONDS"


def heartbeat_seconds() -> float:
    """How often a run beats (IHUB_HEARTBEAT_SECONDS, 30 by default): read by the run that beats and by
    the reaper that judges its silence (models/crashes.py), so both go by the same interval."""
    try:
        return max(float(os.environ.get(HEARTBEAT_ENV, 30)), 1.0)
    except ValueError:
        return 30.0


@contextmanager
def heartbeat(integration_id: int, every: float | None = None) -> Iterator[None]:
    """Refresh the integration's last heartbeat every `every` seconds (30 by default) while a run
    lives, even while a slow page is being fetched, so `ihub status` can tell it from a dead one."""
    every = every or heartbeat_seconds()
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            try:
                with session() as db:
                    integration = db.get(Integration, integration_id)
                    integration.last_heartbeat_at = utcnow()
                    db.add(integration)
                    db.commit()
            except Exception:  # a missed beat is not worth failing a run for; the next one tries again
                continue

    beater = threading.Thread(target=beat, name=f"heartbeat-{integration_id}", daemon=True)
    beater.start()
    try:
        yield
    finally:
        stop.set()
        beater.join()


class ActionRequest(SQLModel, table=True):
    """An operator asking an integration to perform one of its actions (seed 003).

    Its progress is its action log's: written Queued at once, then moved along by the run
    (or, for an external integration, by the integration through the API).
    """

    __tablename__ = "action_request"

    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(foreign_key="integration.id", ondelete="CASCADE", index=True)
    action_id: int = Field(foreign_key="integration_action.id", ondelete="CASCADE")
    record_ref: str | None = None
    log_id: int = Field(foreign_key="action_log.id", ondelete="CASCADE", unique=True)
    requested_via: str = "cli"
    created_at: datetime = Field(default_factory=utcnow)
