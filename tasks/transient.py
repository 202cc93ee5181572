"""Task retries for transient faults: a database connection lost or locked, the Prefect API or a
token endpoint out of reach for a moment. Anything else (a bad spec, rejected credentials, a
constraint) fails at once: retrying it would only fail again.

A batch's upsert is one transaction, rolled back on error, so retrying it cannot duplicate.
"""

from __future__ import annotations

import httpx
from sqlalchemy.exc import DBAPIError, OperationalError

TASK_RETRIES = 2
TASK_RETRY_DELAYS = [1, 5]


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, httpx.TransportError)


def retry_transient(task, task_run, state) -> bool:
    """`retry_condition_fn` for the tasks that touch the database or the network (a plain function:
    Prefect silently never retries with a partial or a callable object)."""
    try:
        state.result()
    except Exception as exc:
        return is_transient(exc)
    return False
