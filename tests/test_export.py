"""Export actions (seed 003, "Export Asset"): a hub record goes back to the vendor through the mapping, reversed."""

from datetime import datetime, timezone

import httpx
import pytest
from sqlmodel import select

from blocks import ApiTokenCredentials
from flows.export import export_record
from flows.requests import run_action_request
from flows.sync import sync_integration
from ihub.demo import DEMO_SPEC, demo_spec
from models.actions import request_action
from models.config import FieldMapping
from models.engine import session
from models.errors import HubError
from models.logs import ActionLog, ActionStatus, Trigger
from models.records import Asset, Person
from models.spec import ConnectorSpec
from tasks.export import export_path, not_sent, vendor_body
from tests.conftest import make_integration

USERS_SPEC = DEMO_SPEC.with_name("demo-vendor-users.yaml")
BASE = "http://127.0.0.1:9"


def spec_with(**changes) -> ConnectorSpec:
    return demo_spec(BASE, **changes)


# --- the mapping, reversed (pure) ---

def test_an_asset_goes_back_to_the_paths_it_was_read_from():
    spec = spec_with()
    record = {"external_id": "42", "asset_tag": "AT-000042", "name": "MacBook Pro 14 #42", "serial_number": "SN1",
              "model": "MacBook Pro 14", "manufacturer": "Apple", "category": "Laptop", "status": "repair",
              "assigned_to": None, "location": "Lisbon", "cost": 1999.5,
              "purchased_at": datetime(2023, 4, 5, tzinfo=timezone.utc)}
    assert vendor_body(spec, record) == {
        "asset_tag": "AT-000042", "name": "MacBook Pro 14 #42", "serial": "SN1",
        "model": {"name": "MacBook Pro 14", "manufacturer": "Apple", "category": "Laptop"},
        "status": "repair", "assignee": {"email": None}, "location": {"site": "Lisbon"},
        "purchase": {"date": "2023-04-05", "cost": 1999.5},  # type: date goes out as YYYY-MM-DD
    }  # external_id is the vendor's identifier: it goes in the path, not the body
    assert export_path(spec, "42", record) == "/api/v1/assets/42"
    assert not_sent(spec) == {}


def test_a_person_goes_back_with_its_value_map_reversed_and_its_template_left_out():
    spec = ConnectorSpec.from_yaml(USERS_SPEC)
    record = {"external_id": "7", "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
              "display_name": "Ada Lovelace", "title": "Engineer", "department": "Finance", "status": "Suspended",
              "manager_email": "boss@example.com", "phone": "+1-555-0007"}
    body = vendor_body(spec, record)
    assert body["status"] == "suspended"  # {map: {suspended: Suspended}} looked up backwards
    assert body["name"] == {"first": "Ada", "last": "Lovelace"}
    assert body["manager"] == {"email": "boss@example.com"} and body["email"] == "ada@example.com"
    assert "display_name" not in str(body) and "Ada Lovelace" not in str(body)
    assert not_sent(spec) == {"display_name": "built from a template"}
    record["status"] = "Archived"  # a value the map never produces went through it unchanged
    assert vendor_body(spec, record)["status"] == "Archived"


def test_rules_that_cannot_be_reversed_are_skipped_and_say_why():
    spec = spec_with(target={"object": "custom", "custom_type": "licence"}, mapping={
        "external_id": "id",
        "seats": {"source": "seats", "type": "int"},
        "owner": {"source": "owner.email", "transforms": ["strip", "lower"]},
        "label": {"template": "{vendor} {product}"},
        "source_system": {"constant": "demo"},
        "first_tag": "tags[0]",
        "all_tags": "tags[*].name",
        "admins": {"source": "admins", "transforms": [{"join": ", "}]},
        "tier": {"source": "tier", "transforms": [{"map": {"g": "gold", "s": "silver"}, "default": "other"}]},
        "level": {"source": "level", "transforms": [{"map": {"1": "basic", "2": "basic"}}]},
        "renews": {"source": "renewal.on", "type": "date", "format": "%d/%m/%Y"},
        "seen": {"source": "seen_at", "type": "datetime"},
    }, export={"method": "PATCH", "path": "/licences/{sync_key}", "body_path": "data.licence"})
    record = {"external_id": "L-1", "seats": 10, "owner": "it@example.com", "label": "Acme Suite",
              "source_system": "demo", "first_tag": "x", "all_tags": "y", "admins": "a, b", "tier": "gold",
              "level": "basic", "renews": "2026-12-25", "seen": "2025-03-01T09:30:00+01:00"}
    assert vendor_body(spec, record) == {"data": {"licence": {
        "seats": 10, "owner": {"email": "it@example.com"},
        "renewal": {"on": "25/12/2026"},  # custom records keep dates as ISO text; the rule's format goes out
        "seen_at": "2025-03-01T08:30:00+00:00",  # datetimes in ISO 8601, UTC
    }}}
    reasons = not_sent(spec)
    assert sorted(reasons) == ["admins", "all_tags", "first_tag", "label", "level", "source_system", "tier"]
    assert reasons["label"] == "built from a template" and reasons["source_system"] == "a constant"
    assert "is not one place to write" in reasons["first_tag"] and "is not one place to write" in reasons["all_tags"]
    assert reasons["admins"] == "its join transform changes the value's shape"
    assert reasons["tier"] == "its value map has a default, so several vendor values become one"
    assert reasons["level"] == "its value map gives several vendor values the same hub value"
    assert export_path(spec, "L 1/2", record) == "/licences/L%201%2F2"  # placeholders are URL-encoded


def test_only_the_listed_fields_are_sent_and_a_placeholder_needs_a_value():
    spec = spec_with(export={"method": "PUT", "path": "/assets/{asset_tag}", "fields": ["status", "external_id"]})
    record = {"external_id": "42", "asset_tag": None, "status": "retired", "name": "kept at home"}
    assert vendor_body(spec, record) == {"status": "retired", "id": "42"}
    with pytest.raises(HubError, match=r"export.path /assets/\{asset_tag\} needs the record's asset_tag, and it has none"):
        export_path(spec, "42", record)


# --- the export-record flow against the demo vendor ---

def logs(integration_id):
    with session() as db:
        return db.exec(select(ActionLog).where(ActionLog.integration_id == integration_id).order_by(ActionLog.id)).all()


def change_hub_record(table, integration_id, sync_key, **values):
    with session() as db:
        row = db.get(table, (integration_id, sync_key))
        for name, value in values.items():
            setattr(row, name, value)
        db.add(row)
        db.commit()


def vendor_asset(url, token, asset_id):
    page = httpx.get(f"{url}/api/v1/assets", params={"offset": asset_id - 1, "limit": 1},
                     headers={"Authorization": f"Bearer {token}"}).json()
    return page["data"]["assets"][0]


@pytest.fixture
def synced(db_url, vendor, prefect_server):
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    integration = make_integration(url, http={"backoff_seconds": 0.01})
    sync_integration("acme/assets")
    return integration, url, data


def test_an_edited_hub_record_is_exported_and_the_vendor_and_next_sync_agree(synced):
    integration, url, data = synced
    change_hub_record(Asset, integration.id, "42", name="Loaner laptop", status="repair", location="Lisbon")

    message = export_record("acme/assets", "42")

    after = vendor_asset(url, data.token, 42)
    assert (after["name"], after["status"], after["location"]) == ("Loaner laptop", "repair", {"site": "Lisbon"})
    assert after["model"]["manufacturer"]  # nested objects are merged, not replaced
    stamp = after["updated_at"]
    assert message == (f"PUT /api/v1/assets/42: HTTP 200 (a record of {len(after)} fields: id 42, status repair, "
                       f"updated_at {stamp})")
    *_, row = logs(integration.id)
    assert (row.action, row.record_ref, row.trigger, row.status) == ("Export Asset", "42", Trigger.manual,
                                                                    ActionStatus.completed)
    assert row.message == message and row.finished_at is not None
    assert data.token not in message

    again = sync_integration("acme/assets")  # reads the exported values back from the vendor
    assert (again.updated, again.unchanged) == (1, 349)
    with session() as db:
        row = db.get(Asset, (integration.id, "42"))
        assert (row.name, row.status, row.location) == ("Loaner laptop", "repair", "Lisbon")


def test_a_vendor_refusal_fails_the_export_with_the_vendor_reason(synced):
    integration, url, data = synced
    before = vendor_asset(url, data.token, 42)
    change_hub_record(Asset, integration.id, "42", status="lost")

    state = export_record("acme/assets", "42", return_state=True)

    assert state.is_failed()
    row = logs(integration.id)[-1]
    assert row.status == ActionStatus.failed and row.action == "Export Asset"
    assert row.message.startswith("Demo Asset Vendor answered HTTP 422 on /api/v1/assets/42: ")
    assert "status: 'lost' is not one of deployed, in_stock, repair, retired" in row.message
    assert vendor_asset(url, data.token, 42) == before

    data.records["assets"] = [a for a in data.records["assets"] if a["id"] != 43]  # gone at the vendor
    assert export_record("acme/assets", "43", return_state=True).is_failed()
    assert logs(integration.id)[-1].message == (
        'Demo Asset Vendor answered HTTP 404 on /api/v1/assets/43: {"error":"no such record: assets/43"}')


def test_a_record_not_in_the_hub_fails_without_calling_the_vendor(synced):
    integration, _, data = synced
    requests = data.requests
    assert export_record("acme/assets", "9999", return_state=True).is_failed()
    row = logs(integration.id)[-1]
    assert (row.status, row.record_ref, row.message) == (ActionStatus.failed, "9999", "no asset '9999' in acme/assets")
    assert data.requests == requests


def test_rejected_credentials_and_a_transient_error_are_handled_like_a_sync(synced):
    integration, url, data = synced
    httpx.post(f"{url}/admin/faults", json=[{"status": 503}], headers={"Authorization": f"Bearer {data.token}"})
    assert export_record("acme/assets", "5").startswith("PUT /api/v1/assets/5: HTTP 200")  # retried after the 503
    assert data.faults == []

    ApiTokenCredentials(token="a-revoked-secret").save("demo-vendor-token", overwrite=True)
    assert export_record("acme/assets", "5", return_state=True).is_failed()
    assert logs(integration.id)[-1].message == (
        "credentials rejected by Demo Asset Vendor (HTTP 401 on /api/v1/assets/5): invalid or missing API token")
    assert not any("a-revoked-secret" in row.message or data.token in row.message for row in logs(integration.id))


def test_an_integration_without_an_export_section_has_no_export_action(db_url, vendor, prefect_server):
    url, _ = vendor
    integration = make_integration(url, export=None)
    state = export_record("acme/assets", "1", return_state=True)
    assert state.is_failed()
    (row,) = logs(integration.id)
    assert (row.action, row.status) == ("Export", ActionStatus.failed)
    assert row.message == "acme/assets has no export action: its connector spec has no export section"


def test_an_export_request_runs_and_moves_its_queued_log_along(db_url, vendor, prefect_server):
    """The integration manager's path: "Export Person 3" requested, then run, on the users spec."""
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    integration = make_integration(url, name="people", path=USERS_SPEC)
    sync_integration("acme/people")
    change_hub_record(Person, integration.id, "3", status="Suspended", title="Principal Engineer")
    with session() as db:
        requested = request_action(db, integration, "Export Person", "3")
        request_id, log_id = requested.request.id, requested.log.id

    run_action_request(request_id)

    with session() as db:
        log = db.get(ActionLog, log_id)
    assert (log.status, log.trigger, log.record_ref) == (ActionStatus.completed, Trigger.request, "3")
    assert log.message.startswith("PUT /api/v1/users/3: HTTP 200 ")
    assert log.message.endswith("; not sent back: display_name (built from a template)")
    user = data.records["users"][2]
    assert (user["status"], user["title"]) == ("suspended", "Principal Engineer")


def test_an_integration_that_cannot_send_data_now_fails_at_once_saying_why(db_url, vendor, prefect_server):
    url, _ = vendor
    integration = make_integration(url)
    with session() as db:
        for mapping in db.exec(select(FieldMapping).where(FieldMapping.integration_id == integration.id)):
            mapping.is_sync_key = False
            db.add(mapping)
        db.commit()
    with pytest.raises(HubError, match="has no primary"):
        export_record("acme/assets", "1")
    (row,) = logs(integration.id)
    assert (row.action, row.status, row.record_ref) == ("Export Asset", ActionStatus.failed, "1")  # as when it runs
    assert row.message.startswith("acme/assets has no primary (sync) key in its mapping")
