"""Rich tables for the CLI: a run's summary, action log rows, the hub's status and an integration's runs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich import box
from rich.markup import escape
from rich.table import Table

from models.config import Integration, IntegrationStatus
from models.logs import ActionLog, ActionStatus
from models.schedules import describe, heartbeat_state, schedule_of

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun

_STATUS_STYLE = {
    ActionStatus.completed: "green",
    ActionStatus.failed: "red",
    ActionStatus.incomplete: "red",
    ActionStatus.in_progress: "cyan",
    ActionStatus.queued: "yellow",
    ActionStatus.cancelled: "yellow",
    ActionStatus.skipped: "dim",
}


def run_table(title: str, log: ActionLog) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("pages", "fetched", "inserted", "updated", "unchanged", "rejected", "drifted", "seconds"):
        table.add_column(column, justify="right")
    table.add_row(*(str(getattr(log, name)) for name in ("pages", "fetched", "inserted", "updated",
                                                         "unchanged", "rejected", "drifted")), f"{log.seconds:.2f}")
    return table


def log_detail(log: ActionLog, ref: str) -> Table:
    """One action log row, field by field (the integration manager's detail view)."""
    table = Table(title=f"Action log #{log.id}", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in (
        ("integration", ref), ("action", log.action), ("status", _status(log)), ("trigger", _trigger(log)),
        ("attempt", str(log.attempt)),
        ("started", _when(log.started_at)), ("finished", _when(log.finished_at)),
        ("message", escape(log.message)), ("flow run", log.flow_run_id or ""),
    ):
        table.add_row(label, value)
    if log.past_attempts:
        table.add_row("attempts", "\n".join(escape(_attempt_line(attempt)) for attempt in log.attempts()))
    return table


def _trigger(log: ActionLog) -> str:
    """"retry (first: schedule)": a retried run keeps how it was first started."""
    first = log.first_trigger
    return f"{log.trigger.value} (first: {first.value})" if first != log.trigger else log.trigger.value


def _attempt_line(attempt) -> str:
    span = f"{_when(attempt.started_at, short=True)}–{_when(attempt.finished_at, short=True) or '…'}"
    return f"{attempt.line()} ({span})"


def logs_table(rows: list[tuple[ActionLog, str]], title: str = "Action logs") -> Table:
    """`rows` pairs each log with its integration's `customer/name`."""
    table = Table(title=title, title_justify="left")
    for column in ("id", "integration", "action", "status", "trigger", "updated"):
        table.add_column(column, overflow="fold")
    table.add_column("message", overflow="fold", min_width=20, ratio=1)
    for log, ref in rows:
        table.add_row(str(log.id), ref, log.action, _status(log), log.trigger.value, _when(log.updated_at, short=True),
                      log.message)
    return table


def status_table(rows: list[tuple[Integration, str]], now: datetime) -> Table:
    """`rows` pairs each integration with its `customer/name`; staleness is judged at `now`."""
    table = Table(title="Integrations", title_justify="left")
    for column in ("integration", "status", "schedule", "last log update", "last heartbeat"):
        table.add_column(column, overflow="fold")
    table.add_column("stale", overflow="fold", min_width=12, ratio=1)
    for integration, ref in rows:
        schedule = schedule_of(integration)
        stale, why = heartbeat_state(integration, now)
        table.add_row(ref, _integration_status(integration),
                      describe(schedule) if schedule else "—",
                      _when(integration.last_log_update_at, short=True) or "never",
                      _when(integration.last_heartbeat_at, short=True) or "never",
                      "—" if stale is None else f"[red]yes[/]: {why}" if stale else "no")
    return table


def _integration_status(integration: Integration) -> str:
    if integration.status == IntegrationStatus.active:
        return "[green]Active[/]"
    if integration.status == IntegrationStatus.inactive:
        return "Inactive"
    failures = f"[red]Disabled[/] after {integration.consecutive_failures}/{integration.error_threshold} failed runs"
    return failures + (f": {escape(integration.disabled_reason)}" if integration.disabled_reason else "")


_STATE_STYLE = {"COMPLETED": "green", "FAILED": "red", "CRASHED": "red", "RUNNING": "cyan"}
_SAME_AS = {ActionStatus.in_progress: "Running", ActionStatus.queued: "Pending"}
"""Prefect's word for a log status that reads differently."""


def history_table(title: str, rows: list[tuple[ActionLog | None, FlowRun | None]]) -> Table:
    """An integration's runs: each action log with its Prefect flow run (None when Prefect could not
    tell), and flow runs with no action log yet (log None).

    Seven columns, the counts in one and the flow run's short id under its start, so that a
    120-column terminal leaves the message room to be read."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("started / run", "action", "state", "trigger", "took", "records"):
        table.add_column(column, overflow="fold")
    table.add_column("message", overflow="fold", min_width=30, ratio=1)
    for log, run in rows:
        if log is None:
            message = (run.state.message if run.state else None) or "no action log yet"
            table.add_row(_started(run.start_time or run.expected_start_time, run, str(run.id)), "—",
                          _state(run) + (f" (attempt {run.run_count})" if (run.run_count or 0) > 1 else ""),
                          "schedule" if run.auto_scheduled else "—",
                          f"{run.estimated_run_time.total_seconds():.1f} s" if run.start_time else "—", "—",
                          escape(message))
            continue
        attempt = _attempt(log, run)
        table.add_row(_started(log.started_at, run, log.flow_run_id), log.action,
                      _run_state(log, run) + (f"\nattempt {attempt}" if attempt != "1" else ""),
                      _trigger(log), f"{log.seconds:.1f} s", _records(log), escape(log.attempts_line()))
    return table


def _started(moment: datetime | None, run: FlowRun | None, flow_run_id: str | None) -> str:
    """When, and under it the flow run: its short id, and its name when it is not the integration's."""
    return f"{_when(moment, short=True)}\n{_flow_run(run, flow_run_id)}"


def _records(log: ActionLog) -> str:
    """`350 read` and what became of them, skipping what did not happen (the unchanged are the rest)."""
    changes = [f"{count} {what}" for count, what in ((log.inserted, "new"), (log.updated, "updated"),
                                                     (log.rejected, "rejected")) if count]
    return f"{log.fetched} read" + ("\n" + ", ".join(changes) if changes else "")


def _flow_run(run: FlowRun | None, flow_run_id: str | None) -> str:
    if flow_run_id is None:
        return "—"
    named = run is not None and "/" not in run.name  # a sync started here is named after the integration
    return f"{escape(run.name)}\n[dim]{flow_run_id[:8]}[/]" if named else f"[dim]{flow_run_id[:8]}[/]"


def _state(run: FlowRun) -> str:
    style = _STATE_STYLE.get(run.state_type.value if run.state_type else "", "yellow")
    return f"[{style}]{run.state_name}[/]"


def _run_state(log: ActionLog, run: FlowRun | None) -> str:
    """Prefect's state of the run, and the log's status when it says otherwise (a log left In
    Progress by a run that crashed, a Failed log whose run awaits a retry)."""
    if run is None:
        return _status(log)
    if run.state_name in (log.status.value, _SAME_AS.get(log.status)):
        return _state(run)
    return f"{_state(run)} (log: {log.status.value})"


def _attempt(log: ActionLog, run: FlowRun | None) -> str:
    return f"{log.attempt} of {run.run_count}" if run and run.run_count > log.attempt else str(log.attempt)


def _status(log: ActionLog) -> str:
    return f"[{_STATUS_STYLE[log.status]}]{log.status.value}[/]"


def _when(moment: datetime | None, short: bool = False) -> str:
    return moment.astimezone().strftime("%m-%d %H:%M" if short else "%Y-%m-%d %H:%M:%S") if moment else ""
