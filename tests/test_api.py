"""The REST API (TestClient) on SQLite and PostgreSQL: the domain's rules, the two kinds of caller,
readable errors and no 500 for bad input."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from blocks import ApiTokenCredentials
from ihub.demo import demo_spec
from models.api_keys import digest
from models.config import Integration
from models.engine import session
from tests.conftest import hub_app

ADMIN = "admin-test-token"
API = "/api/v1"


@pytest.fixture
def client(db_url):
    with TestClient(hub_app(ADMIN), raise_server_exceptions=False) as test_client:
        test_client.headers["Authorization"] = f"Bearer {ADMIN}"
        yield test_client


def spec(base_url="http://127.0.0.1:9", sync_key=None) -> dict:
    data = demo_spec(base_url).model_dump(mode="json", exclude_none=True)
    data.pop("sync_key", None)
    if sync_key:
        data["sync_key"] = sync_key
    return data


def call(client, method, path, expect, **kwargs):
    response = client.request(method, API + path, **kwargs)
    assert response.status_code == expect, response.text
    return response.json()


@pytest.fixture
def acme(client):
    call(client, "POST", "/customers", 201, json={"name": "acme"})
    call(client, "POST", "/customers/acme/endpoints", 201, json={"name": "vendor", "description": "Demo vendor"})
    return client


def test_customers_crud_and_forced_delete_says_what_it_removed(acme):
    client = acme
    assert call(client, "POST", "/customers", 409, json={"name": "acme"})["detail"] == "customer 'acme' already exists"
    assert "is not valid" in call(client, "POST", "/customers", 422, json={"name": "a/b"})["detail"]
    assert call(client, "PATCH", "/customers/acme", 200, json={"name": "acme-corp"})["name"] == "acme-corp"
    assert call(client, "GET", "/customers/acme", 404)["detail"] == "no customer 'acme'"
    listed = call(client, "GET", "/customers", 200)
    assert [c["name"] for c in listed] == ["acme-corp"] and listed[0]["created_at"].endswith("Z")  # UTC

    call(client, "POST", "/customers/acme-corp/integrations", 201, json={"name": "assets", "endpoint": "vendor",
                                                                         "spec": spec()})
    assert "has 1 integration(s): assets" in call(client, "DELETE", "/customers/acme-corp", 409)["detail"]
    removed = call(client, "DELETE", "/customers/acme-corp?force=true", 200)
    assert removed["integrations"] == ["assets"] and removed["endpoints"] == ["vendor"]
    assert call(client, "GET", "/customers", 200) == []


def test_endpoint_rules_of_seed_000(acme):
    client = acme
    assert call(client, "POST", "/customers/acme/endpoints", 422, json={"name": "crm"})["detail"] == (
        "the description is mandatory")
    assert "already has an integration endpoint named 'vendor'" in call(
        client, "POST", "/customers/acme/endpoints", 409, json={"name": "vendor", "description": "x"})["detail"]
    assert "cannot be changed" in call(client, "PATCH", "/customers/acme/endpoints/vendor", 422,
                                       json={"name": "other", "description": "x"})["detail"]
    edited = call(client, "PATCH", "/customers/acme/endpoints/vendor", 200, json={"description": "New text"})
    assert (edited["name"], edited["description"]) == ("vendor", "New text")
    call(client, "POST", "/customers/acme/integrations", 201, json={"name": "assets", "endpoint": "vendor",
                                                                     "spec": spec()})
    assert "is used by 1 integration(s): assets" in call(
        client, "DELETE", "/customers/acme/endpoints/vendor", 409)["detail"]
    assert call(client, "GET", "/customers/acme/endpoints", 200)[0]["integrations"] == ["assets"]
    call(client, "DELETE", "/customers/acme/integrations/assets", 200)
    assert "deleted" in call(client, "DELETE", "/customers/acme/endpoints/vendor", 200)["message"]
    call(client, "GET", "/customers/acme/endpoints/vendor", 404)


def test_integration_settings_are_validated_like_the_cli(acme):
    client = acme
    base = "/customers/acme/integrations/assets"
    bad = spec()
    bad["pagination"]["limit"] = 0
    assert "spec: pagination.limit: should be greater than 0" in call(
        client, "POST", "/customers/acme/integrations", 422,
        json={"name": "assets", "endpoint": "vendor", "spec": bad})["detail"]
    created = call(client, "POST", "/customers/acme/integrations", 201,
                   json={"name": "assets", "endpoint": "vendor", "spec": spec()})
    assert created["status"] == "Inactive" and created["schedule"] == {"cron": "0 2 * * *", "timezone": "UTC"}
    assert "its mapping has no primary (sync) key" in call(client, "POST", f"{base}/activate", 422)["detail"]
    call(client, "PUT", f"{base}/sync-key", 200, json={"target": "external_id"})
    assert call(client, "POST", f"{base}/activate", 200)["status"] == "Active"
    assert "nonsense is not a field of asset" in call(client, "PUT", f"{base}/mapping/nonsense", 422,
                                                      json={"rule": "x"})["detail"]
    call(client, "PUT", f"{base}/mapping/location", 200, json={"rule": {"source": "location.site", "default": "?"}})
    assert {f["target"] for f in call(client, "GET", f"{base}/mapping", 200)} >= {"location", "external_id"}

    assert "unknown update type(s) 'moved'" in call(client, "PUT", f"{base}/update-types", 422,
                                                     json={"types": ["moved"]})["detail"]
    shown = call(client, "PUT", f"{base}/update-types", 200, json={"types": ["deleted", "created"],
                                                                    "deleted_mode": "remove"})
    assert (shown["update_types"], shown["deleted_mode"]) == (["created", "deleted"], "remove")
    assert "is not an e-mail address" in call(client, "PUT", f"{base}/alerts", 422, json={"add": ["nope"]})["detail"]
    shown = call(client, "PUT", f"{base}/alerts", 200, json={"add": ["ops@example.com"], "threshold": 3})
    assert (shown["alert_emails"], shown["error_threshold"]) == (["ops@example.com"], 3)
    assert "not a valid cron expression" in call(client, "PUT", f"{base}/schedule", 422,
                                                 json={"cron": "61 * * * *"})["detail"]
    assert call(client, "PUT", f"{base}/schedule", 200, json={"cron": "*/30 * * * *"})["cron"] == "*/30 * * * *"
    assert "0 to 10 automatic re-runs" in call(client, "PUT", f"{base}/retries", 422, json={"retries": 11})["detail"]
    shown = call(client, "PUT", f"{base}/retries", 200, json={"retries": 2, "delay_seconds": 30})
    assert (shown["flow_retries"], shown["flow_retry_delay_seconds"], shown["consecutive_failures"]) == (2, 30, 0)
    assert [a["name"] for a in call(client, "GET", f"{base}/actions", 200)] == ["Import Assets", "Export Asset"]


def test_the_api_key_is_issued_once_stored_hashed_and_rotatable(acme):
    client = acme
    base = "/customers/acme/integrations/assets"
    call(client, "POST", "/customers/acme/integrations", 201, json={"name": "assets", "endpoint": "vendor",
                                                                     "spec": spec()})
    key = call(client, "POST", f"{base}/api-key", 201)["key"]
    assert "already has an API key" in call(client, "POST", f"{base}/api-key", 409)["detail"]
    rotated = call(client, "POST", f"{base}/api-key?rotate=true", 201)["key"]
    assert rotated != key
    with session() as db:
        assert db.exec(select(Integration.api_key_hash)).one() == digest(rotated)
    shown = call(client, "GET", base, 200)
    assert shown["api_key_issued_at"] and rotated not in str(shown) and "hash" not in str(shown)


def test_an_integration_built_outside_the_hub_phones_home_with_its_key(acme):
    client = acme
    base = "/customers/acme/integrations"
    call(client, "POST", base, 201, json={"name": "customsoft", "endpoint": "vendor", "external": True,
                                          "author": "CustomSoft", "support_contact": "help@customsoft.example"})
    call(client, "POST", base, 201, json={"name": "other", "endpoint": "vendor", "external": True})
    call(client, "POST", f"{base}/customsoft/actions", 201, json={"name": "Export Quote", "kind": "export"})
    call(client, "POST", f"{base}/other/actions", 201, json={"name": "Import Contact", "kind": "import"})
    own = {"Authorization": "Bearer " + call(client, "POST", f"{base}/customsoft/api-key", 201)["key"]}
    theirs = {"Authorization": "Bearer " + call(client, "POST", f"{base}/other/api-key", 201)["key"]}

    queued = call(client, "POST", f"{base}/customsoft/requests", 202, json={"action": "export quote", "record": "Q-42"})
    assert (queued["status"], queued["trigger"], queued["record_ref"]) == ("Queued", "request", "Q-42")
    assert call(client, "GET", "/integration/requests", 401, headers={"Authorization": ""})
    assert "use its API key" in call(client, "GET", "/integration/requests", 403)["detail"]  # the admin token
    requests = call(client, "GET", "/integration/requests", 200, headers=own)
    assert [(r["action"], r["record"], r["log_id"]) for r in requests] == [("Export Quote", "Q-42", queued["id"])]
    assert call(client, "GET", "/integration/requests", 200, headers=theirs) == []

    beat = call(client, "POST", "/integration/heartbeat", 200, headers=own)
    assert beat["integration"] == "acme/customsoft"
    header = call(client, "GET", f"{base}/customsoft", 200)
    assert header["last_heartbeat_at"] and (header["author"], header["support_contact"]) == (
        "CustomSoft", "help@customsoft.example")
    assert header["source"] == "external" and header["schedule"] is None

    path = f"/integration/logs/{queued['id']}"
    assert "belongs to another integration" in call(client, "PATCH", path, 403, headers=theirs,
                                                    json={"status": "Failed"})["detail"]
    call(client, "PATCH", path, 200, headers=own, json={"status": "In Progress"})
    assert "Queued is what the hub writes" in call(client, "PATCH", path, 422, headers=own,
                                                   json={"status": "Queued"})["detail"]
    done = call(client, "PATCH", path, 200, headers=own, json={"status": "Completed", "message": "quote exported"})
    assert done["finished_at"] and call(client, "GET", "/integration/requests", 200, headers=own) == []
    assert "already Completed" in call(client, "PATCH", path, 422, headers=own, json={"status": "Failed"})["detail"]
    reported = call(client, "POST", "/integration/logs", 201, headers=own,
                    json={"action": "Export Quote", "status": "Failed", "message": "ERP down",
                          "counts": {"fetched": 1, "rejected": 1}})
    assert (reported["status"], reported["rejected"]) == ("Failed", 1)
    assert "has no action 'Dance'" in call(client, "POST", "/integration/logs", 404, headers=own,
                                           json={"action": "Dance"})["detail"]
    assert "may only post heartbeats" in call(client, "GET", "/customers", 403, headers=own)["detail"]
    call(client, "GET", "/customers", 401, headers={"Authorization": "Bearer nope"})


@pytest.mark.usefixtures("prefect_server")
def test_an_import_request_is_queued_then_runs_and_logs_filter(acme, vendor):
    client = acme
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    call(client, "POST", "/customers/acme/integrations", 201,
         json={"name": "assets", "endpoint": "vendor", "spec": spec(url, sync_key="external_id")})
    queued = call(client, "POST", "/customers/acme/integrations/assets/requests", 202,
                  json={"action": "Import Assets"})
    assert queued["status"] == "Queued"  # the answer is sent before the run; TestClient then runs it
    log = call(client, "GET", f"/logs/{queued['id']}", 200)
    assert (log["status"], log["inserted"], log["trigger"]) == ("Completed", 350, "request")
    assert log["flow_run_id"]
    assert "takes no record" in call(client, "POST", "/customers/acme/integrations/assets/requests", 422,
                                     json={"action": "Import Assets", "record": "1"})["detail"]

    assert [row["id"] for row in call(client, "GET", "/logs?integration=acme/assets&status=Completed", 200)] == [
        queued["id"]]
    assert call(client, "GET", "/logs?status=Failed", 200) == []
    assert call(client, "GET", "/logs?action=export", 200) == []
    assert call(client, "GET", "/logs?until=2020-01-01T00:00:00", 200) == []
    assert len(call(client, "GET", "/logs?customer=acme&since=2020-01-01T00:00:00", 200)) == 1


@pytest.mark.usefixtures("prefect_server")
def test_connecting_a_partner_gives_enabled_or_the_vendor_reason(acme, vendor, monkeypatch):
    from models.partners import get_partner

    client = acme
    url, data = vendor
    monkeypatch.setitem(get_partner("demo-vendor").regions, "local", url)  # the fixture's port, not 8765
    assert "okta" in {p["slug"] for p in call(client, "GET", "/partners", 200)}
    assert call(client, "GET", "/partners/okta", 200)["credential_fields"] == ["api_key"]
    added = call(client, "POST", "/customers/acme/partners", 201, json={"partners": ["demo-vendor"]})
    assert (added[0]["status"], added[0]["connected"]) == ("Available", False)
    path = "/customers/acme/partners/demo-vendor/connect"
    failed = call(client, "POST", path, 200, json={"region": "local", "credentials": {"api_key": "wrong-secret"}})
    assert (failed["status"], failed["connected"]) == ("Failed", False)
    assert "HTTP 401" in failed["status_message"] and "wrong-secret" not in str(failed)
    assert "api_key is missing" in call(client, "POST", path, 422, json={"region": "local",
                                                                          "credentials": {}})["detail"]
    enabled = call(client, "POST", path, 200, json={"region": "local", "credentials": {"api_key": data.token}})
    assert (enabled["status"], enabled["connected"]) == ("Enabled", True)
    created = call(client, "POST", "/customers/acme/integrations", 201,
                   json={"name": "assets", "endpoint": "demo-vendor", "data_type": "assets"})
    assert (created["source"], created["partner"], created["connected"]) == ("partner", "demo-vendor", True)
    assert call(client, "POST", "/customers/acme/partners/demo-vendor/disconnect", 200)["status"] == "Available"


def test_bad_input_is_a_readable_422_never_a_500(acme):
    client = acme
    garbage = [
        ("POST", "/customers", {"content": b"{not json", "headers": {"Content-Type": "application/json"}}),
        ("POST", "/customers", {"json": {"name": 12}}),
        ("POST", "/customers", {"json": ["a list"]}),
        ("POST", "/customers", {"json": {"name": "x", "extra": 1}}),
        ("POST", "/customers/acme/integrations", {"json": {"name": "i", "endpoint": "vendor", "spec": "text"}}),
        ("POST", "/customers/acme/integrations", {"json": {"name": "i", "endpoint": "vendor"}}),
        ("POST", "/customers/acme/integrations", {"json": {"name": "i", "endpoint": "vendor", "spec": {}}}),
        ("GET", "/logs/99999999999999999999", {}),
        ("GET", "/logs/abc", {}),
        ("GET", "/logs?status=Sleeping", {}),
        ("GET", "/logs?since=yesterday", {}),
        ("GET", "/logs?limit=0", {}),
        ("PUT", "/customers/acme/integrations/x/alerts", {"json": {"threshold": 10**40}}),
        # PostgreSQL cannot hold a NUL character in text: refused before any query
        ("POST", "/customers/acme/endpoints", {"json": {"name": "crm", "description": "a\u0000b"}}),
        ("POST", "/customers/acme/integrations", {"json": {"name": "i", "endpoint": "vendor", "spec": {"\u0000": 1}}}),
        ("GET", "/customers/a%00b", {}),
        ("GET", "/logs?customer=a%00b", {}),
    ]
    for method, path, kwargs in garbage:
        response = client.request(method, API + path, **kwargs)
        assert response.status_code == 422, (path, response.status_code, response.text)
        assert isinstance(response.json()["detail"], str) and response.json()["detail"]
    assert call(client, "GET", "/logs/123", 404)["detail"] == "no action log 123"
    assert call(client, "POST", "/customers", 422, json={})["detail"] == "body.name: Field required"
    assert call(client, "GET", "/customers/a%00b", 422)["detail"] == (
        "path.customer: text must not contain a NUL character (\\u0000)")


def test_openapi_docs_group_the_routes_by_area(client):
    schema = client.get("/openapi.json").json()
    tags = {tag for route in schema["paths"].values() for operation in route.values() for tag in operation["tags"]}
    assert tags == {"customers", "integration endpoints", "partners", "integrations", "mapping",
                    "integration manager", "integration (own API key)", "connectors", "credentials"}
    assert all(operation.get("summary") for route in schema["paths"].values() for operation in route.values())
    assert client.get("/docs").status_code == 200
