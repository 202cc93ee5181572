"""Turn an integration's credentials reference into an `httpx.Auth`, loading the Prefect block.

The block's secret values are registered for redaction as it is loaded, so no message of the run
(the sync, the connection test, an export) can show them. An open API (`auth: {type: none}`)
has nothing to load: no `Authorization` is sent.
"""

from __future__ import annotations

import httpx
from prefect import task
from prefect.cache_policies import NO_CACHE

from blocks.store import load
from models.spec import AuthRef
from tasks.transient import TASK_RETRIES, TASK_RETRY_DELAYS, retry_transient


@task(name="authenticate", cache_policy=NO_CACHE, retries=TASK_RETRIES, retry_delay_seconds=TASK_RETRY_DELAYS,
      retry_condition_fn=retry_transient)
def authenticate(auth: AuthRef) -> httpx.Auth | None:
    if auth.open:
        return None
    return load(auth.type, auth.block).auth()
