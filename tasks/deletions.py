"""Apply "deleted" (seed 002): records the vendor no longer returns are marked or removed.

Only a complete full sync can tell that a record is gone, so the flow calls this once, after
its last batch committed, with the sync keys the run saw (a set of strings, never records).
"""

from __future__ import annotations

from typing import Collection

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Table, delete, select, update

from models.config import DeletedMode, utcnow
from models.engine import get_engine
from models.targets import TABLES
from tasks.upsert import KEY_CHUNK
from tasks.transient import TASK_RETRIES, TASK_RETRY_DELAYS, retry_transient


@task(name="apply-deletions", cache_policy=NO_CACHE, retries=TASK_RETRIES, retry_delay_seconds=TASK_RETRY_DELAYS,
      retry_condition_fn=retry_transient)
def apply_deletions(seen: Collection[str], integration_id: int, target: str, mode: DeletedMode) -> int:
    """Mark (`deleted_at`) or remove the integration's records whose key is not in `seen`; one transaction.

    Returns how many records were marked or removed; records already marked are not counted again.
    """
    table: Table = TABLES[target].__table__
    ours = table.c.integration_id == integration_id
    query = select(table.c.sync_key).where(ours)
    if mode == DeletedMode.mark:
        query = query.where(table.c.deleted_at.is_(None))
    with get_engine().begin() as connection:
        missing = [key for key in connection.execute(query).scalars() if key not in seen]
        if mode == DeletedMode.mark:
            change = update(table).values(deleted_at=utcnow())
        else:
            change = delete(table)
        done = 0
        for start in range(0, len(missing), KEY_CHUNK):
            chunk = missing[start:start + KEY_CHUNK]
            done += connection.execute(change.where(ours, table.c.sync_key.in_(chunk))).rowcount
    return done
