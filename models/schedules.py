"""When an integration should run, and whether it has gone quiet for longer than that allows (seed 003's
"last heartbeat")."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from cronsim import CronSim

from models.config import Integration, IntegrationStatus

DEFAULT_SCHEDULE = {"cron": "0 2 * * *", "timezone": "UTC"}
GRACE = timedelta(minutes=15)
"""How late a scheduled run may phone home (a worker polls, a server is busy) before it counts as missed."""
EXTERNAL_SILENCE = timedelta(hours=24)
"""An external integration runs on its own clock; it must phone home through the API at least this often."""


def schedule_of(integration: Integration) -> dict | None:
    """The cron and time zone in force, defaults filled; None for an integration built outside the hub."""
    if integration.spec is None:
        return None
    stored = {key: value for key, value in (integration.spec.get("schedule") or {}).items() if value is not None}
    return {**DEFAULT_SCHEDULE, **stored}


def describe(schedule: dict) -> str:
    """`0 2 * * * (UTC)`, or `every 30 s`."""
    if schedule.get("interval_seconds"):
        return f"every {schedule['interval_seconds']} s"
    return f"{schedule['cron']} ({schedule['timezone']})"


def next_firing(schedule: dict, after: datetime) -> datetime:
    """The schedule's first firing strictly after `after`, in the schedule's time zone.

    An interval schedule's firings depend on when its deployment was made; one interval later
    is the latest the next one can be.
    """
    after = after.astimezone(ZoneInfo(schedule["timezone"]))
    if schedule.get("interval_seconds"):
        return after + timedelta(seconds=schedule["interval_seconds"])
    return next(CronSim(schedule["cron"], after))


def expected_interval(schedule: dict, now: datetime) -> timedelta:
    """The real time between the two consecutive firings around `now`: a day for "0 2 * * *"."""
    if schedule.get("interval_seconds"):
        return timedelta(seconds=schedule["interval_seconds"])
    upcoming = next_firing(schedule, now)
    previous = next(CronSim(schedule["cron"], upcoming, reverse=True))
    return upcoming.astimezone(timezone.utc) - previous.astimezone(timezone.utc)


def heartbeat_state(integration: Integration, now: datetime) -> tuple[bool | None, str]:
    """Whether the integration is stale (True), fine (False) or not expected to run (None), and why.

    A hub-run integration's run beats while it lives and every action log write is a heartbeat, so
    an Active one is stale once its schedule fired, after its last heartbeat (or its creation if it
    never had one), more than a grace period ago: 15 minutes, or the schedule's interval when that
    is shorter. For a regular schedule that is a heartbeat older than the interval plus the grace;
    unlike that rule, this one stays right for "weekdays at 9". An external integration (no spec)
    runs on its own clock and is stale after 24 hours without phoning home. Inactive and Disabled
    ones are not scheduled: None.
    """
    if integration.status != IntegrationStatus.active:
        return None, f"{integration.status.value}: not scheduled"
    since = integration.last_heartbeat_at or integration.created_at
    schedule = schedule_of(integration)
    if schedule is None:
        if now - since > EXTERNAL_SILENCE:
            return True, "no heartbeat for over 24 h"
        return False, "heartbeat within 24 h"
    due = next_firing(schedule, since)
    if now > due + min(GRACE, expected_interval(schedule, due)):
        return True, f"no heartbeat from the run due {due:%Y-%m-%d %H:%M} {schedule['timezone']}"
    return False, f"next run due {due:%Y-%m-%d %H:%M} {schedule['timezone']}"
