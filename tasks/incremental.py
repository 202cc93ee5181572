"""Incremental sync: where the last successful run got to, and how far this run gets.

Cursor values are compared as dates when they read as ISO 8601, else as numbers, else as
text; the value stored is the vendor's own, so it is sent back exactly as the vendor wrote it
(less the lookback, for dates and epoch numbers).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from models.paths import MISSING, compile_path
from models.spec import IncrementalSpec


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _order(value: Any) -> tuple[int, Any]:
    moment = _as_datetime(value)
    if moment is not None:
        return (2, moment.timestamp() if moment.tzinfo else moment.replace(tzinfo=None).timestamp())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, value)
    return (0, str(value))


def start_value(config: IncrementalSpec, state: dict[str, Any] | None) -> Any:
    """The value to send as `config.param`, or None for a first (full) run."""
    if not state or state.get("cursor") is None:
        return None
    cursor = state["cursor"]
    moment = _as_datetime(cursor)
    if moment is not None:
        earlier = moment - timedelta(seconds=config.lookback_seconds)
        text = earlier.isoformat()
        return text.replace("+00:00", "Z") if cursor.endswith("Z") else text
    if isinstance(cursor, (int, float)) and not isinstance(cursor, bool):
        return cursor - config.lookback_seconds
    return cursor


class CursorTracker:
    """Keeps the highest cursor value among the records a run has fetched."""

    def __init__(self, config: IncrementalSpec):
        self._get = compile_path(config.cursor_field).first
        self.highest: Any = None

    def see(self, records: list[Any]) -> None:
        for record in records:
            value = self._get(record) if isinstance(record, dict) else MISSING
            if value is MISSING or value is None:
                continue
            if self.highest is None or _order(value) > _order(self.highest):
                self.highest = value
