"""Schema drift end to end: the vendor changes records' shape between two syncs over real HTTP.

A drifted record is rejected and keeps its stored values; the action log counts it and names the
reason with its records, and so does the run's summary artifact. A field the vendor removed is
simply absent and becomes NULL, as before.
"""

import logging

import httpx
import pytest

from blocks import ApiTokenCredentials
from flows.sync import SyncSummary, sync_integration
from models.errors import TooManyRejected
from models.logs import ActionStatus
from tests.conftest import make_integration, stored_assets as assets
from tests.test_update_types import applies, last_log, summary_artifact

pytestmark = pytest.mark.usefixtures("prefect_server")

FLAT_MODEL = "model.name: expected an object at model, got a string"


@pytest.fixture
def synced(db_url, vendor):
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    integration = make_integration(url, batch_records=120)
    assert sync_integration("acme/assets").inserted == 350
    return integration, url, data


def vendor_changes(url, data, asset_id, changes):
    response = httpx.patch(f"{url}/admin/assets/{asset_id}", json=changes,
                           headers={"Authorization": f"Bearer {data.token}"})
    response.raise_for_status()


def test_drifted_records_keep_their_stored_values_and_the_log_names_the_drift(synced, caplog):
    integration, url, data = synced
    before = assets(integration.id)
    for record in data.records["assets"][:100]:  # ids 1..100: `model` became its name
        record["model"] = record["model"]["name"] + " (flat)"
    data.rendered.clear()
    vendor_changes(url, data, 200, {"model": ["Latitude", "Dell"]})
    vendor_changes(url, data, 250, {"purchase": {"cost": {"amount": 10, "currency": "EUR"}}})
    del next(a for a in data.records["assets"] if a["id"] == 300)["location"]  # removed: absent, not drift
    data.rendered.clear()

    with caplog.at_level(logging.WARNING):
        summary = sync_integration("acme/assets")

    assert (summary.fetched, summary.rejected, summary.drifted, summary.updated) == (350, 102, 102, 1)
    assert summary.first_rejections == []
    after = assets(integration.id)
    for sync_key in [str(n) for n in range(1, 101)] + ["200", "250"]:
        kept, stored = before[sync_key], after[sync_key]
        assert (stored.model, stored.cost, stored.record_hash) == (kept.model, kept.cost, kept.record_hash)
        assert stored.model is not None
    assert before["300"].location is not None and after["300"].location is None

    log = last_log(integration.id)
    assert (log.status, log.rejected, log.drifted) == (ActionStatus.completed, 102, 102)
    assert log.message == (
        "fetched 350 records in 4 pages: 0 inserted, 1 updated, 247 unchanged, 102 rejected; "
        f"drift: {FLAT_MODEL}, in 100 records; "
        "drift: model.name: expected an object at model, got a list, in 1 record; "
        "drift: purchase.cost: expected a number, got an object, in 1 record")
    artifact = summary_artifact(log.flow_run_id)
    assert (artifact["drifted"], artifact["rejected"]) == (102, 102)
    assert artifact[f"drift: {FLAT_MODEL}"] == 100
    assert artifact["drift: purchase.cost: expected a number, got an object"] == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "drift" in r.getMessage()]
    assert any(message.startswith(f"schema drift: {FLAT_MODEL}, in 100 of 200 records") for message in warnings)


def test_a_run_where_most_records_drift_fails_and_says_why(sqlite_url, vendor):
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    integration = make_integration(url)
    assert sync_integration("acme/assets").inserted == 350
    for record in data.records["assets"][:300]:
        record["model"] = "flat"
    data.rendered.clear()

    assert sync_integration("acme/assets", return_state=True).is_failed()
    log = last_log(integration.id)
    assert (log.status, log.rejected, log.drifted) == (ActionStatus.failed, 300, 300)
    assert log.message == ("300 of 350 records were rejected (86%), more than the 50% this integration allows; "
                           f"drift: {FLAT_MODEL}, in 300 records")
    assert all(row.model != "flat" and row.model is not None for row in assets(integration.id).values())


def test_the_message_names_bad_values_first_then_drift_most_records_first():
    summary = SyncSummary(integration="acme/assets", fetched=100, pages=1, unchanged=90, rejected=10, drifted=9,
                          first_rejections=["7: field 'cost': expected a number, got 'a lot'"],
                          drift={f"f{n}: expected text, got an object": n for n in range(1, 4)} | {FLAT_MODEL: 3})
    assert summary.message() == (
        "fetched 100 records in 1 pages: 0 inserted, 0 updated, 90 unchanged, 10 rejected "
        "(first: 7: field 'cost': expected a number, got 'a lot'); "
        "drift: f3: expected text, got an object, in 3 records; "
        f"drift: {FLAT_MODEL}, in 3 records; "
        "drift: f2: expected text, got an object, in 2 records; "
        "drift: f1: expected text, got an object, in 1 record")
    summary.drift |= {f"g{n}: expected a list at g, got a string": 1 for n in range(3)}
    assert summary.drift_message().endswith("; drift: 2 more reasons in the run's summary artifact")
    with pytest.raises(TooManyRejected, match=r"allows; first: 7: field 'cost'.*; drift: f3: expected text"):
        summary.check_rejections(0.05)


def test_drift_on_the_sync_key_deletes_nothing_with_deleted_on(synced):
    """A record whose key drifted cannot be told apart from one the vendor deleted: keep them all."""
    integration, url, data = synced
    applies(integration.id, ["created", "updated", "deleted"], deleted_mode="remove")
    next(a for a in data.records["assets"] if a["id"] == 7)["id"] = {"value": 7}  # the key itself changed shape
    data.rendered.clear()

    summary = sync_integration("acme/assets")

    assert (summary.rejected, summary.deleted) == (1, 0)
    assert "7" in assets(integration.id) and len(assets(integration.id)) == 350
    assert summary.deletions_skipped == ("no records deleted: 1 record had no readable sync key, so the hub "
                                         "cannot tell which of its records they are")
