"""Whether the console has reached Prefect's server yet, found out in the background.

Credentials are Prefect blocks. With no PREFECT_API_URL the first read starts an embedded server
(~8-15 s), and a server that does not answer keeps Prefect's client retrying: a page that waited
would hang. So a page that needs Prefect asks `reach()` first. The first time, one background
thread reads the credentials listing; the page says which server is being reached and refreshes
itself until it answers (or shows why it did not, then tries again on the next visit). Even
importing Prefect takes seconds (tens on a busy machine), so that too happens in the thread.
"""

from __future__ import annotations

import contextvars
import threading
import time
from dataclasses import dataclass, field

from models.errors import HubError
from models.redact import redact

WAIT_SECONDS = 1.5
"""How long a page waits for a first answer before it shows the progress instead: a running
server answers well within it."""


@dataclass
class Reaching:
    """One attempt to reach Prefect's server from this process."""

    started: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    server: str | None = None  # which server, once Prefect is imported (a page never waits for that import)
    problem: str | None = None

    @property
    def seconds(self) -> int:
        return int(time.monotonic() - self.started)


_reached = False
_attempt: Reaching | None = None
_lock = threading.Lock()


def reach() -> Reaching | None:
    """None once Prefect's server has answered this process; else the attempt under way, or the
    one that just failed (its `problem` is said once, and the next call tries again)."""
    global _attempt
    with _lock:
        if _reached:
            return None
        if _attempt is None:
            _attempt = Reaching()
            context = contextvars.copy_context()  # the request's settings (which Prefect server) go along
            threading.Thread(target=context.run, args=(_try, _attempt), name="reach prefect", daemon=True).start()
        attempt = _attempt
    attempt.done.wait(WAIT_SECONDS)
    with _lock:
        if _reached:
            return None
        if attempt.done.is_set():
            _attempt = None
    return attempt


def wait_until_reached() -> None:
    """For a form's POST: let an attempt under way finish first, so the save does not start a second server."""
    with _lock:
        attempt = _attempt
    if attempt is not None:
        attempt.done.wait()


def _try(attempt: Reaching) -> None:
    global _reached
    try:
        from ihub.credentials import list_credentials, prefect_server  # Prefect loads here, not with the page

        attempt.server = prefect_server()
        list_credentials()
        with _lock:
            _reached = True
    except HubError as exc:
        attempt.problem = redact(str(exc))
    except Exception as exc:  # noqa: BLE001 - said on the page; the thread has no one else to tell
        attempt.problem = f"{type(exc).__name__}: {redact(str(exc))}"
    finally:
        attempt.done.set()
