"""Whether a cron expression can be used: read by the hub's heartbeat check (cronsim) and by Prefect's schedules.

Of cronsim's extensions, Prefect takes `L` as a day of the month and `1#2` but neither `W` days
nor a last weekday (`5L`); those are refused here rather than at deployment.
"""

from __future__ import annotations

from datetime import datetime

from cronsim import CronSim, CronSimError

EXAMPLE = "e.g. '0 2 * * *' for 02:00 every day"
_FIELDS = (("minute", "0-59"), ("hour", "0-23"), ("day-of-month", "1-31"), ("month", "1-12 or jan-dec"),
           ("day-of-week", "0-7 or sun-sat"))


def cron_problem(cron: str) -> str | None:
    """What is wrong with `cron`, naming the field ("is not a valid cron expression: the hour field
    '25' is not in 0-23, ..."), to follow the expression in a message; None when it can be used."""
    fields = cron.split()
    if len(fields) != 5:
        return f"is not a cron expression: it needs five fields (minute hour day month weekday), {EXAMPLE}"
    try:
        CronSim(" ".join(fields), datetime(2000, 1, 1))
    except CronSimError as exc:
        return f"is not a valid cron expression: {_bad_field(fields, str(exc))}, {EXAMPLE}"
    if "W" in fields[2].upper():
        return (f"is not a valid cron expression: the day-of-month field {fields[2]!r} asks for the nearest "
                "weekday (W), which Prefect's schedules do not take")
    if "L" in fields[4].upper():
        return (f"is not a valid cron expression: the day-of-week field {fields[4]!r} asks for a last weekday "
                "of the month (L), which Prefect's schedules do not take")
    return None


def _bad_field(fields: list[str], problem: str) -> str:
    """Which field cronsim refused ("Bad day-of-month"), with the values it takes."""
    for (name, values), field in zip(_FIELDS, fields):
        if problem.lower() == f"bad {name}":
            return f"the {name} field {field!r} is not in {values}"
    return problem.lower()
