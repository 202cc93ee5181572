"""Turn an integration's credentials reference into an `httpx.Auth`, loading the Prefect block.

The block's secret values are registered for redaction as it is loaded, so no message of the run
(the sync, the connection test, an export) can show them.
"""

from __future__ import annotations

import httpx
from prefect import task
from prefect.cache_policies import NO_CACHE

from blocks import CREDENTIAL_BLOCKS
from models.spec import AuthRef
from models.errors import CredentialsNotFound
from models.redact import register
from tasks.transient import TASK_RETRIES, TASK_RETRY_DELAYS, retry_transient


@task(name="authenticate", cache_policy=NO_CACHE, retries=TASK_RETRIES, retry_delay_seconds=TASK_RETRY_DELAYS,
      retry_condition_fn=retry_transient)
def authenticate(auth: AuthRef) -> httpx.Auth:
    block_type = CREDENTIAL_BLOCKS[auth.type]
    try:
        block = block_type.load(auth.block)
    except ValueError:
        raise CredentialsNotFound(
            f"no {auth.type} credentials block named '{auth.block}': create the credentials "
            f"before running the integration"
        ) from None
    register(*block.secret_values())
    return block.auth()
