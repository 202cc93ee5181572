"""Incremental sync: where the last successful run got to, and how far this run gets.

Cursor values are compared as dates when they read as ISO 8601, else as numbers, else as
text; the value stored is the vendor's own, so it is sent back exactly as the vendor wrote it
(less the lookback, for dates and epoch numbers).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable

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
    """Keeps the highest cursor value among the records a run has fetched: the value saved for the next run.

    The flow saves it only after a provably complete run (tasks/completeness.py), because of
    shifts. In a listing ordered by the cursor field, a record updated during the run moves to the
    end and every record after its old place moves back one: the next page starts one record
    late, and the record skipped has an older value than the highest seen. Saved then, the cursor
    would leave that record behind for good. Such a run reads fewer distinct records than the
    vendor's total: it is read again, or ends Incomplete and keeps the old cursor, so the next run
    fetches the skipped record.

    After a complete run the highest value is safe: every record in the listing was read, and a
    version the run did not read was written after the run's last read of the listing, when every
    value it had seen already existed, so that version's value is at least the highest (sent back
    with >=, it is fetched next time). That holds for a vendor that stamps a change when it becomes
    visible; `lookback_seconds` covers one whose changes become visible later than their stamp
    (a long transaction, clocks apart). The vendor's time at the start of the run would do as well,
    but the hub does not know the vendor's clock: the highest value seen is in it, in its own format.
    """

    def __init__(self, config: IncrementalSpec):
        self._get = compile_path(config.cursor_field).first
        self.highest: Any = None

    def see(self, records: list[Any]) -> None:
        self.consider(self._get(record) if isinstance(record, dict) else MISSING for record in records)

    def consider(self, values: Iterable[Any]) -> None:
        """Cursor values as `see` reads them from records (MISSING and None: a record without one)."""
        for value in values:
            if value is MISSING or value is None:
                continue
            if self.highest is None or _order(value) > _order(self.highest):
                self.highest = value
