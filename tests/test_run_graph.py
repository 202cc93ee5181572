"""The run graph in Prefect's UI reads authenticate -> paginate -> map-records -> upsert-records.

Read back through the Prefect API, as the UI draws it: each task run's inputs name the task run
it came from, and nothing else: the flow's own code between batches does not run inside
paginate (upsert-records would then name paginate as its parent too).
"""

import time

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from blocks import ApiTokenCredentials
from flows.sync import sync_integration
from tests.conftest import make_integration


def upstream(task_run) -> set:
    """The ids of the task runs this one's inputs (and waits) came from."""
    return {getattr(ref, "id", None) for refs in task_run.task_inputs.values() for ref in refs} - {None}


@pytest.fixture
def full_server(tmp_path):
    """A Prefect server with all its services, and the run's events sent to it: the session's server
    records no task runs, and gets no events (tests/conftest.py)."""
    from prefect.events.worker import EventsWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tests.conftest import drain_prefect_workers
    from tests.prefect_databases import migrated_prefect_server

    with migrated_prefect_server(tmp_path) as api_url:
        drain_prefect_workers()  # Prefect's events and logs workers send to the server they started with
        override = EventsWorker._client_override
        EventsWorker.set_client_override(None)
        try:
            with temporary_settings({PREFECT_API_URL: api_url}):
                yield api_url
                drain_prefect_workers()
        finally:
            EventsWorker._client_override = override


@pytest.mark.usefixtures("full_server")
def test_the_run_graph_reads_authenticate_paginate_map_upsert(sqlite_url, vendor):
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    make_integration(url, batch_records=200)  # 350 records: two batches
    state = sync_integration("acme/assets", return_state=True)
    assert state.is_completed()
    flow_run_id = state.state_details.flow_run_id
    # Task runs reach the server as events, a moment after the flow ends, each on its own: wait for all six
    # (authenticate, paginate, two of map-records and of upsert-records) to be there and final.
    deadline = time.monotonic() + 30
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            finished = len(runs) >= 6 and all(run.state and run.state.is_final() for run in runs)
            if finished or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    by_name = {}
    for run in runs:
        by_name.setdefault(run.name.rsplit("-", 1)[0], []).append(run)  # "map-records-7f3" -> "map-records"
    assert sorted((name, len(found)) for name, found in by_name.items()) == [
        ("authenticate", 1), ("map-records", 2), ("paginate", 1), ("upsert-records", 2)]
    (authenticate,), (paginate,) = by_name["authenticate"], by_name["paginate"]
    assert upstream(paginate) == {authenticate.id}
    maps = {run.id for run in by_name["map-records"]}
    assert all(upstream(run) == {paginate.id} for run in by_name["map-records"])
    assert {frozenset(upstream(run)) for run in by_name["upsert-records"]} == {frozenset({m}) for m in maps}
    assert all(run.state.is_completed() for run in runs)
