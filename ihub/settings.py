"""The hub's embedded defaults: where it keeps its files and how Prefect runs inside it.

With no `PREFECT_API_URL`, Prefect starts a throwaway local server for each process; its
database lives under `.ihub/prefect` so the migrations run once, not on every command. The
settings below keep a user's terminal free of Prefect's own chatter; each is only a default,
so an environment variable of the same name wins.
"""

from __future__ import annotations

import os

from models.engine import hub_home

QUIET_PREFECT = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # Prefect's client prints a telemetry notice when it sees a terminal unless this is set.
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    # The CLI reports a failed run from its action log; Prefect's traceback stays in the run's logs.
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}


def configure_environment() -> None:
    """Set the defaults above; must run before Prefect is imported (it reads them once)."""
    home = hub_home()
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(home / "prefect"))
    for name, value in QUIET_PREFECT.items():
        os.environ.setdefault(name, value)
