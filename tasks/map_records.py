"""The map-records task: one batch of a run's records mapped (tasks/map.py), as one task run."""

from __future__ import annotations

from typing import Any, Sequence

from prefect import task
from prefect.cache_policies import NO_CACHE

from models.spec import ConnectorSpec
from tasks.map import MappedBatch, RecordMapper


@task(name="map-records", cache_policy=NO_CACHE)
def map_records(records: list[Any], spec: ConnectorSpec, mapped: Sequence[MappedBatch] = ()) -> MappedBatch:
    """Map one batch of vendor records; rejected records are returned with their reasons.

    `mapped`: the batch's pages that were mapped as they were read (tasks/mapped_pages.py), in
    listing order, gathered into the batch after `records` (a batch has one or the other)."""
    batch = RecordMapper(spec).map(records) if records else MappedBatch()
    for page in mapped:
        batch.extend(page)
    return batch
