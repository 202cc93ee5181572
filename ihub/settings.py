"""The hub's embedded defaults: where it keeps its files and how Prefect runs inside it.

With no `PREFECT_API_URL`, Prefect starts a throwaway local server for each process; its
database lives in the hub's home (`models.engine.hub_home`, e.g. `.ihub/prefect`) so the migrations run once, not on every command. The
settings below keep a user's terminal free of Prefect's own chatter; each is only a default,
so an environment variable of the same name wins.

Prefect encrypts block data (the credentials) with `PREFECT_SERVER_ENCRYPTION_KEY`, and without
it with a key it writes into its own database, beside the data it protects. The hub generates a
key once into its home (`encryption-key`, mode 0600) and hands it to the embedded server.

While `ihub up` runs on this hub, its Prefect server is every command's server (unless the
operator set `PREFECT_API_URL`): no command then starts an embedded one.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import stat
import sys
from pathlib import Path

from models.engine import open_hub_home

ENCRYPTION_KEY_ENV = "PREFECT_SERVER_ENCRYPTION_KEY"
ENCRYPTION_KEY_FILE = "encryption-key"

QUIET_PREFECT = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # Prefect's client prints a telemetry notice when it sees a terminal unless this is set.
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    # ...but a run's own lines (start, batches, retries, outcome) go to the Prefect API at INFO: the run
    # loggers would inherit WARNING from `prefect`, and the console handler below keeps them off the terminal.
    "PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL": "INFO",
    "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL": "INFO",
    # The CLI reports a failed run from its action log; Prefect's traceback stays in the run's logs.
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}


def configure_environment() -> None:
    """Set the defaults above; must run before Prefect is imported (it reads them once)."""
    home = open_hub_home()
    os.environ.setdefault("PREFECT_HOME", str(home / "prefect"))
    if not os.environ.get("PREFECT_API_URL"):  # the operator's server wins, then the one `ihub up` runs
        from ihub.running_hub import running_hub

        if (hub := running_hub(home)) is not None:
            os.environ["PREFECT_API_URL"] = hub["prefect_api_url"]
    for name, value in QUIET_PREFECT.items():
        os.environ.setdefault(name, value)
    if not os.environ.get(ENCRYPTION_KEY_ENV):  # an operator's own key wins
        os.environ[ENCRYPTION_KEY_ENV] = encryption_key(home / ENCRYPTION_KEY_FILE, Path(os.environ["PREFECT_HOME"]))


def encryption_key(path: Path, prefect_home: Path) -> str:
    """The Fernet key in `path`, made once. An embedded Prefect database that already encrypted
    blocks with a key of its own hands that key over, so the credentials saved before stay readable."""
    if not path.exists():
        key = _database_key(prefect_home / "prefect.db") or base64.urlsafe_b64encode(os.urandom(32)).decode()
        write_private(path, key)
    return private_file(path).read_text().strip()


def _database_key(database: Path) -> str | None:
    if not database.exists():
        return None
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            row = connection.execute("SELECT value FROM configuration WHERE key = 'ENCRYPTION_KEY'").fetchone()
    except sqlite3.Error:
        return None
    if row is None:
        return None
    return json.loads(row[0]).get("fernet_key")


def write_private(path: Path, text: str) -> None:
    """Create `path` (mode 0600) holding `text`, unless another process just did: the first one wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()


def private_file(path: Path) -> Path:
    """`path`, made readable by its owner only if it was not (saying so on stderr)."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(0o600)
        print(f"warning: {path} was readable by others (mode {mode:04o}); its mode is now 0600", file=sys.stderr)
    return path
