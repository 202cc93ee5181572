"""Update types (seed 002): which vendor changes a sync applies; on SQLite and on PostgreSQL.

The demo vendor's records are in memory (`data.records`): a test removes or adds records there,
and changes one through its admin route.
"""

import copy
import json

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
from sqlmodel import select

from blocks import ApiTokenCredentials
from flows.sync import sync_integration
from models.config import Integration
from models.engine import session
from models.logs import ActionLog, ActionStatus
from tasks.upsert import upsert_records
from tests.conftest import make_integration, stored_assets as assets

ALL = ["created", "updated", "deleted"]


@pytest.fixture
def synced(db_url, vendor, prefect_server):
    """The demo integration against the vendor, already synced once with the default types."""
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    integration = make_integration(url, batch_records=120)
    assert sync_integration("acme/assets").inserted == 350
    return integration, url, data


def applies(integration_id, types, deleted_mode="mark"):
    with session() as db:
        integration = db.get(Integration, integration_id)
        integration.update_types = types
        integration.deleted_mode = deleted_mode
        db.add(integration)
        db.commit()


def last_log(integration_id):
    with session() as db:
        return db.exec(select(ActionLog).where(ActionLog.integration_id == integration_id)
                       .order_by(ActionLog.id.desc())).first()


def vendor_drops(data, *ids):
    data.records["assets"][:] = [a for a in data.records["assets"] if a["id"] not in ids]
    data.rendered.clear()


def vendor_adds(data, new_id):
    record = copy.deepcopy(data.records["assets"][0])
    record.update(id=new_id, asset_tag=f"AT-{new_id:06d}", name=f"New #{new_id}")
    data.records["assets"].append(record)
    data.rendered.clear()


def rename(url, data, asset_id, name):
    response = httpx.patch(f"{url}/admin/assets/{asset_id}", json={"name": name},
                           headers={"Authorization": f"Bearer {data.token}"})
    response.raise_for_status()


def summary_artifact(flow_run_id):
    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["sync-acme-assets"]), flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    table = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    return {row["measure"]: row["value"] for row in table}


def test_the_default_types_insert_and_update_but_never_delete(synced):
    integration, url, data = synced
    rename(url, data, 42, "Renamed")
    vendor_adds(data, 351)
    vendor_drops(data, 7)
    summary = sync_integration("acme/assets")
    assert (summary.inserted, summary.updated, summary.skipped, summary.deleted) == (1, 1, 0, 0)
    stored = assets(integration.id)
    assert stored["42"].name == "Renamed" and stored["351"].name == "New #351"
    assert stored["7"].deleted_at is None  # "deleted" is not a default type
    assert summary.message() == "fetched 350 records in 4 pages: 1 inserted, 1 updated, 348 unchanged, 0 rejected"


def test_without_created_new_records_are_skipped_and_counted(synced):
    integration, url, data = synced
    applies(integration.id, ["updated"])
    vendor_adds(data, 351)
    vendor_adds(data, 352)
    rename(url, data, 42, "Renamed")
    summary = sync_integration("acme/assets")
    assert (summary.inserted, summary.updated, summary.skipped) == (0, 1, 2)
    stored = assets(integration.id)
    assert "351" not in stored and "352" not in stored and stored["42"].name == "Renamed"
    log = last_log(integration.id)
    assert (log.status, log.skipped, log.inserted) == (ActionStatus.completed, 2, 0)
    assert "2 skipped (not in the integration's update types)" in log.message


def test_without_updated_changes_are_not_applied(synced):
    integration, url, data = synced
    applies(integration.id, ["created"])
    rename(url, data, 42, "Renamed")
    vendor_adds(data, 351)
    summary = sync_integration("acme/assets")
    assert (summary.inserted, summary.updated, summary.unchanged, summary.skipped) == (1, 0, 349, 1)
    stored = assets(integration.id)
    assert stored["42"].name != "Renamed" and "351" in stored
    again = sync_integration("acme/assets")  # still different at the vendor: skipped again, not lost
    assert (again.updated, again.skipped) == (0, 1)


def test_deleted_marks_missing_records_and_a_returning_record_is_unmarked(synced):
    integration, url, data = synced
    applies(integration.id, ALL, "mark")
    vendor_records = {a["id"]: a for a in data.records["assets"]}
    vendor_drops(data, 7, 8, 300)
    summary = sync_integration("acme/assets")
    assert (summary.fetched, summary.unchanged, summary.deleted) == (347, 347, 3)
    assert summary.message().endswith(", 3 deleted")
    stored = assets(integration.id)
    assert len(stored) == 350
    assert {key for key, asset in stored.items() if asset.deleted_at is not None} == {"7", "8", "300"}
    log = last_log(integration.id)
    assert (log.status, log.deleted) == (ActionStatus.completed, 3)
    artifact = summary_artifact(log.flow_run_id)
    assert (artifact["deleted"], artifact["skipped"]) == (3, 0)

    assert sync_integration("acme/assets").deleted == 0  # marked once, not counted again

    applies(integration.id, ["updated", "deleted"], "mark")  # a returning record is a creation
    data.records["assets"].append(vendor_records[7])
    data.rendered.clear()
    skipped = sync_integration("acme/assets")
    assert (skipped.inserted, skipped.skipped) == (0, 1)
    assert assets(integration.id)["7"].deleted_at is not None

    applies(integration.id, ALL, "mark")
    back = sync_integration("acme/assets")
    assert (back.inserted, back.updated, back.deleted) == (1, 0, 0)
    stored = assets(integration.id)
    assert stored["7"].deleted_at is None and stored["8"].deleted_at is not None


def test_deleted_with_remove_removes_missing_records(synced):
    integration, _, data = synced
    applies(integration.id, ALL, "remove")
    vendor_drops(data, 1, 200, 350)
    summary = sync_integration("acme/assets")
    assert summary.deleted == 3
    stored = assets(integration.id)
    assert len(stored) == 347 and not {"1", "200", "350"} & set(stored)
    assert last_log(integration.id).deleted == 3


def test_a_vendor_returning_nothing_at_all_deletes_nothing_and_says_why(synced):
    integration, _, data = synced
    applies(integration.id, ALL, "remove")
    vendor_drops(data, *range(1, 351))
    summary = sync_integration("acme/assets")
    assert (summary.fetched, summary.deleted, len(assets(integration.id))) == (0, 0, 350)
    assert "no records deleted: the vendor returned no records at all" in last_log(integration.id).message


def test_a_rejected_record_is_neither_updated_nor_deleted(synced):
    integration, _, data = synced
    applies(integration.id, ALL, "remove")
    before = assets(integration.id)["9"].purchased_at
    next(a for a in data.records["assets"] if a["id"] == 9)["purchase"] = {"date": "last tuesday", "cost": 1.0}
    data.rendered.clear()
    summary = sync_integration("acme/assets")
    assert (summary.rejected, summary.deleted) == (1, 0)
    assert assets(integration.id)["9"].purchased_at == before


def test_an_incremental_run_deletes_nothing_and_says_why_and_a_full_refresh_does(db_url, vendor, prefect_server):
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    integration = make_integration(url, incremental={"cursor_field": "updated_at", "param": "updated_since"})
    applies(integration.id, ALL, "remove")
    assert sync_integration("acme/assets").inserted == 350  # the first run has no cursor: a full sync
    vendor_drops(data, 5)

    incremental = sync_integration("acme/assets")
    assert incremental.deleted == 0 and len(assets(integration.id)) == 350
    message = last_log(integration.id).message
    assert message.count("no records deleted") == 1
    assert "no records deleted: an incremental run fetches only what changed (since 2025-" in message

    full = sync_integration("acme/assets", full_refresh=True)
    assert full.deleted == 1 and "5" not in assets(integration.id)
    assert "no records deleted" not in last_log(integration.id).message


def test_a_run_cut_short_by_max_pages_deletes_nothing_and_says_why(db_url, vendor, prefect_server):
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    pagination = {"type": "offset", "limit": 100, "total_path": "meta.total"}
    integration = make_integration(url, pagination=pagination)
    assert sync_integration("acme/assets").inserted == 350
    applies(integration.id, ALL, "remove")

    make_integration(url, pagination={**pagination, "max_pages": 2})
    cut = sync_integration("acme/assets")
    assert (cut.pages, cut.deleted) == (2, 0)
    assert len(assets(integration.id)) == 350
    log = last_log(integration.id)
    assert log.message == ("fetched 200 records in 2 pages: 0 inserted, 0 updated, 200 unchanged, 0 rejected; "
                           "no records deleted: the run stopped at pagination.max_pages (2 pages) "
                           "and may not have seen every record")
    assert summary_artifact(log.flow_run_id)["deletions"].startswith("no records deleted: the run stopped")

    vendor_drops(data, 5)
    make_integration(url, pagination={**pagination, "max_pages": 10})  # a cap the run never reaches
    assert sync_integration("acme/assets").deleted == 1


def test_a_failed_run_deletes_nothing(synced):
    integration, _, data = synced
    applies(integration.id, ALL, "remove")
    vendor_drops(data, 3, 4)
    data.records["assets"][320]["unreadable"] = object()  # the vendor cannot render page 4: it answers 400
    state = sync_integration("acme/assets", return_state=True)
    assert state.is_failed()
    log = last_log(integration.id)
    assert (log.status, log.deleted) == (ActionStatus.failed, 0)
    assert log.message.startswith("Demo Asset Vendor answered HTTP 400 on /api/v1/assets")
    assert len(assets(integration.id)) == 350

    del data.records["assets"][320]["unreadable"]
    for asset in data.records["assets"][:200]:  # every page read, then too many rejected records
        asset["purchase"] = {"date": "last tuesday", "cost": 1.0}
    data.rendered.clear()
    assert sync_integration("acme/assets", return_state=True).is_failed()
    log = last_log(integration.id)
    assert log.status == ActionStatus.failed and log.message.startswith("200 of 348 records were rejected")
    assert len(assets(integration.id)) == 350


def test_the_upsert_task_applies_only_the_types_it_is_given(integration):
    rows = [{"sync_key": "a", "name": "A"}, {"sync_key": "b", "name": "B"}]
    skipped = upsert_records.fn(rows, integration.id, "asset", update_types=["updated"])
    assert (skipped.inserted, skipped.skipped) == (0, 2)
    assert assets(integration.id) == {}

    assert upsert_records.fn(rows, integration.id, "asset").inserted == 2
    changed = [{"sync_key": "a", "name": "A2"}, {"sync_key": "b", "name": "B"}]
    kept = upsert_records.fn(changed, integration.id, "asset", update_types=["created"])
    assert (kept.updated, kept.skipped, kept.unchanged) == (0, 1, 1)
    assert assets(integration.id)["a"].name == "A"
