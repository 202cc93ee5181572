"""What every command shares: the console, one way to fail, and a database session that turns
the hub's errors into messages."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Iterator

import typer
from rich.console import Console

from models.errors import HubError
from models.redact import redact

if TYPE_CHECKING:
    from sqlmodel import Session

console = Console()


def fail(message: str) -> None:
    console.print(f"[red]Error:[/] {redact(message)}", highlight=False)
    raise typer.Exit(1)


def done(message: str) -> None:
    console.print(f"[green]✓[/] {message}", highlight=False)


@contextmanager
def hub() -> Iterator[Session]:
    """A session on the (migrated) hub database; a HubError ends the command with its message."""
    from models.engine import migrate, session

    migrate()
    try:
        with session() as db:
            yield db
    except HubError as exc:
        fail(str(exc))


_RELATIVE = re.compile(r"(\d+)\s*([mhd])")


def parse_moment(value: str | None, option: str) -> datetime | None:
    """`2026-11-20`, `2026-11-20T08:00`, or a time ago: `30m`, `6h`, `2d`."""
    if value is None:
        return None
    relative = _RELATIVE.fullmatch(value.strip())
    if relative:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[relative[2]]
        return datetime.now(timezone.utc) - timedelta(**{unit: int(relative[1])})
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option} takes a date (2026-11-20), a date and time (2026-11-20T08:00) or a time ago (30m, 6h, 2d), "
             f"not {value!r}")
    return moment if moment.tzinfo else moment.astimezone()


def when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "never"


def confirm(question: str, yes: bool) -> None:
    if not yes and not typer.confirm(question, default=False):
        console.print("Nothing changed.")
        raise typer.Exit(1)
