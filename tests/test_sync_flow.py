"""End to end: the demo vendor on loopback, the real Prefect flow, a real SQLite file."""

import httpx
import pytest
from sqlmodel import select

from blocks import ApiTokenCredentials
from flows.sync import sync_integration
from models.engine import session
from models.logs import ActionLog, ActionStatus
from tests.conftest import make_integration, stored_assets as assets

pytestmark = pytest.mark.usefixtures("prefect_server")


@pytest.fixture
def synced(sqlite_url, vendor):
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    integration = make_integration(url, batch_records=120)
    return integration, url, data


def logs(integration_id):
    with session() as db:
        return db.exec(select(ActionLog).where(ActionLog.integration_id == integration_id)
                       .order_by(ActionLog.id)).all()


def test_a_sync_stores_the_vendor_records_and_a_rerun_duplicates_nothing(synced):
    integration, url, data = synced
    first = sync_integration("acme/assets")
    assert (first.fetched, first.inserted, first.updated, first.unchanged, first.rejected) == (350, 350, 0, 0, 0)
    assert first.pages == 4
    stored = assets(integration.id)
    vendor_assets = data.records["assets"]
    assert sorted(stored) == sorted(str(a["id"]) for a in vendor_assets)
    for record in vendor_assets:
        row = stored[str(record["id"])]
        assert (row.name, row.serial_number, row.model, row.cost) == (
            record["name"], record["serial"], record["model"]["name"], record["purchase"]["cost"])
        assert row.purchased_at.date().isoformat() == record["purchase"]["date"]

    second = sync_integration("acme/assets")
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 350)
    assert len(assets(integration.id)) == 350

    token = {"Authorization": f"Bearer {data.token}"}
    httpx.patch(f"{url}/admin/assets/42", json={"status": "retired", "name": "Renamed"}, headers=token)
    third = sync_integration("acme/assets")
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 349)
    assert (assets(integration.id)["42"].status, assets(integration.id)["42"].name) == ("retired", "Renamed")

    rows = logs(integration.id)
    assert [r.status for r in rows] == [ActionStatus.completed] * 3
    assert rows[0].action == "Import Assets" and rows[0].trigger == "manual"
    assert rows[0].message == "fetched 350 records in 4 pages: 350 inserted, 0 updated, 0 unchanged, 0 rejected"
    assert rows[2].updated == 1 and rows[0].flow_run_id
    with session() as db:
        from models.config import Integration
        assert db.get(Integration, integration.id).last_heartbeat_at is not None


def test_a_failed_run_is_logged_as_failed_with_a_message_and_no_secret(synced):
    integration, _, _ = synced
    ApiTokenCredentials(token="a-revoked-secret").save("demo-vendor-token", overwrite=True)
    state = sync_integration("acme/assets", return_state=True)
    assert state.is_failed()
    (row,) = logs(integration.id)
    assert row.status == ActionStatus.failed and row.finished_at is not None
    assert row.message == ("credentials rejected by Demo Asset Vendor (HTTP 401 on /api/v1/assets): "
                           "invalid or missing API token")
    assert assets(integration.id) == {}


def test_missing_credentials_say_what_to_create(sqlite_url, vendor):
    url, _ = vendor
    integration = make_integration(url, auth={"type": "api_token", "block": "never-saved"})
    assert sync_integration("acme/assets", return_state=True).is_failed()
    assert "no api_token credentials named 'never-saved' on the Prefect server" in logs(integration.id)[0].message


def test_an_interrupted_run_is_logged_cancelled_and_keeps_the_batches_written(synced, monkeypatch):
    integration, _, _ = synced
    import tasks.paginate

    real_fetch = tasks.paginate.fetch_pages

    def interrupted_after_three_pages(spec, auth, **options):
        for number, page in enumerate(real_fetch(spec, auth, **options), start=1):
            yield page
            if number == 3:
                raise KeyboardInterrupt  # what Ctrl+C in `ihub run` raises

    monkeypatch.setattr(tasks.paginate, "fetch_pages", interrupted_after_three_pages)
    with pytest.raises(KeyboardInterrupt):
        sync_integration("acme/assets")
    (row,) = logs(integration.id)
    assert row.status == ActionStatus.cancelled and row.finished_at is not None
    assert row.message.startswith("interrupted after fetched 200 records in 2 pages: 200 inserted")
    assert len(assets(integration.id)) == 200  # the two committed batches, nothing half-written


def test_basic_auth_credentials_sync_and_a_wrong_password_is_rejected(sqlite_url, vendor):
    from blocks import BasicCredentials

    url, data = vendor
    integration = make_integration(url, auth={"type": "basic", "block": "vendor-login"})
    BasicCredentials(username="demo", password=data.token).save("vendor-login", overwrite=True)
    assert sync_integration("acme/assets").inserted == 350

    BasicCredentials(username="demo", password="wrong-password").save("vendor-login", overwrite=True)
    assert sync_integration("acme/assets", return_state=True).is_failed()
    failed = logs(integration.id)[-1]
    assert failed.message == ("credentials rejected by Demo Asset Vendor (HTTP 401 on /api/v1/assets): "
                              "invalid or missing API token")
    assert "wrong-password" not in failed.message


def test_rejected_records_are_named_and_too_many_fail_the_run(sqlite_url, vendor):
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    for asset in data.records["assets"][:10]:
        asset["purchase"] = {"date": "last tuesday", "cost": 1.0}
    data.rendered.clear()
    integration = make_integration(url)
    summary = sync_integration("acme/assets")
    assert (summary.inserted, summary.rejected) == (340, 10)
    assert summary.first_rejections[0] == "1: field 'purchased_at': expected an ISO 8601 date, got 'last tuesday'"
    assert len(summary.first_rejections) == 5
    assert "10 rejected (first: 1: field 'purchased_at'" in logs(integration.id)[0].message

    strict = make_integration(url, name="strict", max_rejected_share=0.01)
    assert sync_integration("acme/strict", return_state=True).is_failed()
    message = logs(strict.id)[0].message
    assert message.startswith("10 of 350 records were rejected (3%), more than the 1% this integration allows; "
                              "first: 1: field 'purchased_at'")


def test_users_become_people(sqlite_url, vendor):
    from ihub.demo import DEMO_SPEC, demo_spec
    from models.integrations import onboard
    from models.records import Person

    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    spec = demo_spec(url, DEMO_SPEC.with_name("demo-vendor-users.yaml"))
    with session() as db:
        integration = onboard(db, "acme", "vendor", "test vendor", "people", spec)
    assert sync_integration("acme/people").inserted == 40
    with session() as db:
        people = {p.sync_key: p for p in db.exec(select(Person).where(Person.integration_id == integration.id))}
    for user in data.records["users"]:
        person = people[str(user["id"])]
        assert person.display_name == f"{user['name']['first']} {user['name']['last']}"
        assert person.email == user["email"] and person.status == user["status"].capitalize()
