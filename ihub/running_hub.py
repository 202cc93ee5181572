"""The hub that `ihub up` is running: a state file under the hub's home, found by every command.

`ihub up` writes `up.json` (its pid, the Prefect API's and the console's URLs, its children's pids)
once everything answers, and removes it when it stops. A file whose `ihub up` is gone, or whose
Prefect server does not answer, is stale and ignored (a killed `ihub up` cannot remove it).

Only the standard library here: `configure_environment` reads this for every command, `--help` too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

STATE_FILE = "up.json"


def state_path(home: Path) -> Path:
    return home / STATE_FILE


def running_hub(home: Path) -> dict | None:
    """The state of the `ihub up` running on this hub, or None (no state file, or a stale one)."""
    try:
        state = json.loads(state_path(home).read_text())
        pid, api_url = int(state["pid"]), str(state["prefect_api_url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not process_alive(pid) or not answers(api_url.rstrip("/") + "/health"):
        return None
    return state


def write_state(home: Path, state: dict) -> None:
    """Replace the state file in one step, so a reader never sees half of it."""
    path = state_path(home)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    draft.write_text(json.dumps(state, indent=2))
    draft.replace(path)


def remove_state(home: Path, pid: int) -> None:
    """Remove the state file if it is the one `pid` wrote."""
    path = state_path(home)
    try:
        if json.loads(path.read_text()).get("pid") == pid:
            path.unlink()
    except (OSError, ValueError):
        pass


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def answers(url: str, timeout: float = 2.0) -> bool:
    """Whether an HTTP server at `url` answers a GET with anything but a server error."""
    import http.client

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        connection.request("GET", parts.path or "/")
        return connection.getresponse().status < 500
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()
