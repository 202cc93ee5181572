"""How a run ends when it fails for a reason the hub understands, and how Prefect's run log tells it.

A `HubError` (the vendor, credentials, the spec, connectivity: a fault a person can act on) ends
the run Failed with its reason, redacted, as the state message, and one ERROR line in the run's
log: no traceback, which would only bury the reason. Anything else is a bug: it is raised as it
is, and Prefect logs its traceback.

While Prefect still has retries for the run (its `retries`, see `apply_retry_policy`), the error
is raised instead, so that Prefect retries the run in the same process as it does for any error;
`QuietExpectedFailures` keeps Prefect's own lines about it to one INFO line without traceback.
The last attempt returns `Failed(data=exc)`: the server keeps the reason as the state message,
the on_failure hooks run, and a caller of the flow still gets the `HubError` raised.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Callable, ParamSpec, TypeVar

from prefect import get_run_logger
from prefect.context import FlowRunContext
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH
from prefect.states import Failed, State

from models.errors import HubError
from models.redact import redact

P = ParamSpec("P")
R = TypeVar("R")


NOT_PERSISTED = {"persist_result": False, "result_storage": PREFECT_LOCAL_STORAGE_PATH.value()}
"""For every hub `@flow`: its result and its tasks' stay in the run's memory, never written to a result
storage (what a run did is in its action log and artifact). Naming a storage, where nothing is written,
spares each run three requests asking Prefect's server for its default one (which an operator may have
set, for flows of their own)."""


def failure_message(exc: BaseException) -> str:
    """An exception as one line for the log, the state and the artifact, redacted of secrets."""
    if isinstance(exc, HubError):
        return redact(str(exc))
    return redact(f"{type(exc).__name__}: {exc}")


def reported(fn: Callable[P, R]) -> Callable[P, R | State]:
    """Under `@flow`: end the run Failed with a `HubError`'s reason (see above) instead of a traceback."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R | State:
        try:
            return fn(*args, **kwargs)
        except HubError as exc:
            reason = failure_message(exc)
            if _retries_left():
                get_run_logger().error("attempt %s failed: %s; Prefect retries the run", _attempt(), reason)
                raise
            get_run_logger().error(reason)
            return Failed(message=reason, data=exc)

    return run


def _attempt() -> int:
    context = FlowRunContext.get()
    return context.flow_run.run_count if context and context.flow_run else 1


def _retries_left() -> bool:
    """Whether the server will turn this attempt's failure into a retry (its RetryFailedFlows rule)."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return False
    retries = context.flow_run.empirical_policy.retries
    return retries is not None and context.flow_run.run_count <= retries


_FINISHED_FAILED = re.compile(r"^Finished in state Failed\(.*encountered an exception (\w+):")


class QuietExpectedFailures(logging.Filter):
    """On Prefect's run loggers: its lines about a `HubError` become INFO without traceback.

    Prefect logs an exception where it catches it ("Encountered exception during execution" on
    the flow run, "Task run failed with exception" and "Finished in state Failed(...)" at ERROR on
    the task run), each with a traceback. The flow reports a `HubError` itself (`reported`), once.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and _expected(record):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info, record.exc_text = None, None
        return True


def _expected(record: logging.LogRecord) -> bool:
    if record.exc_info:
        return isinstance(record.exc_info[1], HubError)
    found = _FINISHED_FAILED.match(str(record.msg))
    return bool(found) and found.group(1) in _hub_error_names()


def _hub_error_names() -> set[str]:
    names, todo = set(), [HubError]
    while todo:
        kind = todo.pop()
        names.add(kind.__name__)
        todo.extend(kind.__subclasses__())
    return names


def quiet_expected_failures(*names: str) -> None:
    """Install `QuietExpectedFailures` on the loggers `names` (once each)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, QuietExpectedFailures) for existing in logger.filters):
            logger.addFilter(QuietExpectedFailures())
