"""Incremental sync: only what changed since the last successful run; a failed run never advances."""

import httpx
import pytest

from blocks import ApiTokenCredentials
from flows.sync import sync_integration
from ihub.vendor import Fault
from models.config import Integration
from models.engine import session
from models.spec import IncrementalSpec
from tasks.incremental import CursorTracker, start_value
from tests.conftest import make_integration

INCREMENTAL = {"cursor_field": "updated_at", "param": "updated_since"}


def stored_cursor(integration_id):
    with session() as db:
        return (db.get(Integration, integration_id).sync_state or {}).get("cursor")


def test_the_start_value_is_the_stored_cursor_less_the_lookback():
    config = IncrementalSpec(cursor_field="updated_at", param="since", lookback_seconds=90)
    assert start_value(config, None) is None
    assert start_value(config, {"cursor": "2025-01-01T10:00:00Z"}) == "2025-01-01T09:58:30Z"
    assert start_value(config, {"cursor": "2025-01-01T10:00:00+02:00"}) == "2025-01-01T09:58:30+02:00"
    assert start_value(config, {"cursor": 1_700_000_000}) == 1_699_999_910
    assert start_value(config, {"cursor": "opaque-v7"}) == "opaque-v7"


def test_the_tracker_keeps_the_highest_value_as_the_vendor_wrote_it():
    tracker = CursorTracker(IncrementalSpec(cursor_field="meta.changed", param="since"))
    tracker.see([{"meta": {"changed": "2025-01-02T00:00:00Z"}}, {"meta": {}}, "junk",
                 {"meta": {"changed": "2025-01-03T00:00:00Z"}}, {"meta": {"changed": "2025-01-01T00:00:00Z"}}])
    assert tracker.highest == "2025-01-03T00:00:00Z"


@pytest.mark.usefixtures("prefect_server", "sqlite_url")
def test_only_changes_are_fetched_and_a_failed_run_never_advances_the_cursor(vendor):
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    integration = make_integration(url, incremental=INCREMENTAL)
    newest = max(a["updated_at"] for a in data.records["assets"])

    first = sync_integration("acme/assets")
    assert (first.fetched, first.inserted) == (350, 350)
    assert stored_cursor(integration.id) == newest

    quiet = sync_integration("acme/assets")
    assert (quiet.fetched, quiet.unchanged) == (1, 1)  # only the newest record, sent back by >=

    token = {"Authorization": f"Bearer {data.token}"}
    httpx.patch(f"{url}/admin/assets/42", json={"name": "Renamed 42"}, headers=token)
    changed = sync_integration("acme/assets")
    assert (changed.fetched, changed.updated, changed.unchanged) == (2, 1, 1)
    moved = stored_cursor(integration.id)
    assert moved > newest

    data.faults.append(Fault(200, body='{"data": [broken'))  # the next request answers garbage
    httpx.patch(f"{url}/admin/assets/7", json={"name": "Renamed 7"}, headers=token)
    assert sync_integration("acme/assets", return_state=True).is_failed()
    assert stored_cursor(integration.id) == moved

    full = sync_integration("acme/assets", full_refresh=True)
    assert (full.fetched, full.updated, full.unchanged) == (350, 1, 349)
