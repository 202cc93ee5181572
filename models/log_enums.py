"""An action log's status and trigger, apart from the table, so the CLI can declare its options
with them without loading SQLModel."""

from __future__ import annotations

from enum import Enum


class ActionStatus(str, Enum):
    queued = "Queued"
    in_progress = "In Progress"
    completed = "Completed"
    failed = "Failed"
    cancelled = "Cancelled"
    skipped = "Skipped"
    """Not run: another run of the same integration was in progress."""
    incomplete = "Incomplete"
    """Ran, but could not read every record the vendor has (tasks/completeness.py); counts as a failure."""


class Trigger(str, Enum):
    """How a run was started, as the action log records it (seed 003)."""

    schedule = "schedule"
    manual = "manual"
    request = "request"
    retry = "retry"
    ui = "UI"
