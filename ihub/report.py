"""Rich tables for the CLI: a run's summary and action log rows."""

from __future__ import annotations

from datetime import datetime

from rich.table import Table

from models.logs import ActionLog, ActionStatus

_STATUS_STYLE = {
    ActionStatus.completed: "green",
    ActionStatus.failed: "red",
    ActionStatus.in_progress: "cyan",
    ActionStatus.queued: "yellow",
    ActionStatus.cancelled: "yellow",
}


def run_table(title: str, log: ActionLog) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("pages", "fetched", "inserted", "updated", "unchanged", "rejected", "seconds"):
        table.add_column(column, justify="right")
    table.add_row(*(str(getattr(log, name)) for name in ("pages", "fetched", "inserted", "updated",
                                                         "unchanged", "rejected")), f"{log.seconds:.2f}")
    return table


def log_detail(log: ActionLog, ref: str) -> Table:
    """One action log row, field by field (the integration manager's detail view)."""
    table = Table(title=f"Action log #{log.id}", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in (
        ("integration", ref), ("action", log.action), ("status", _status(log)), ("trigger", log.trigger.value),
        ("started", _when(log.started_at)), ("finished", _when(log.finished_at)),
        ("message", log.message), ("flow run", log.flow_run_id or ""),
    ):
        table.add_row(label, value)
    return table


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


def _status(log: ActionLog) -> str:
    return f"[{_STATUS_STYLE[log.status]}]{log.status.value}[/]"


def _when(moment: datetime | None, short: bool = False) -> str:
    return moment.astimezone().strftime("%m-%d %H:%M" if short else "%Y-%m-%d %H:%M:%S") if moment else ""
