"""The messages an operator meets on the way, through the CLI (its output read as a person reads it)
and the REST API: each names what is wrong, once, with what to do."""

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ihub.cli import app, console
from models.config import IntegrationStatus
from models.engine import session
from models.integrations import find_integration
from tests.conftest import hub_app, make_integration

runner = CliRunner()
ADMIN = "admin-test-token"


def ihub(*args, input=None, width=200):
    console.width = width
    return runner.invoke(app, list(args), input=input)


def said(*args, exit_code=0) -> str:
    result = ihub(*args)
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


@pytest.fixture
def api(sqlite_url):
    with TestClient(hub_app(ADMIN), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN}"
        yield client


@pytest.mark.usefixtures("sqlite_url")
def test_a_mapping_error_names_the_mapping_once():
    make_integration()
    out = said("mapping", "set", "acme/assets", "colour", "model.color", exit_code=1)
    assert out.startswith("Error: mapping: colour is not a field of asset; its fields are external_id, ")
    assert "mapping: mapping" not in out


@pytest.mark.usefixtures("sqlite_url")
def test_removing_the_primary_key_says_activation_now_needs_one(api):
    make_integration()
    said("mapping", "key", "acme/assets", "external_id")
    out = said("mapping", "remove", "acme/assets", "external_id")
    assert out == ("✓ external_id is no longer mapped in acme/assets. It was the primary (sync) key: acme/assets has "
                   "none now, and activating it needs one: `ihub mapping key acme/assets FIELD`.")
    assert said("mapping", "remove", "acme/assets", "name") == "✓ name is no longer mapped in acme/assets."

    assert "'serial' is not mapped in acme/assets; did you mean 'serial_number'?" in said(
        "mapping", "key", "acme/assets", "serial", exit_code=1)
    said("mapping", "key", "acme/assets", "serial_number")
    answer = api.delete("/api/v1/customers/acme/integrations/assets/mapping/serial_number")
    assert answer.status_code == 200
    assert "It was the primary (sync) key: acme/assets has none now, and activating it needs one" in answer.json()["message"]


@pytest.mark.usefixtures("sqlite_url")
def test_a_cron_error_names_the_bad_field(api):
    make_integration()
    out = said("integrations", "schedule", "acme/assets", "--cron", "0 25 * * *", exit_code=1)
    assert out == ("Error: '0 25 * * *' is not a valid cron expression: the hour field '25' is not in 0-23, "
                   "e.g. '0 2 * * *' for 02:00 every day")
    out = said("integrations", "schedule", "acme/assets", "--cron", "0 2 * * 5L", exit_code=1)
    assert "the day-of-week field '5L' asks for a last weekday of the month (L)" in out
    answer = api.put("/api/v1/customers/acme/integrations/assets/schedule", json={"cron": "0 2 32 * *"})
    assert answer.status_code == 422 and "the day-of-month field '32' is not in 1-31" in answer.json()["detail"]


@pytest.mark.usefixtures("sqlite_url")
def test_unknown_integrations_get_a_did_you_mean_and_a_customer_gets_the_customer_name_hint(api):
    make_integration()
    make_integration(name="users")
    assert said("run", "acme/asets", exit_code=1) == "Error: no integration 'acme/asets'; did you mean 'acme/assets'?"
    assert said("logs", "asets", exit_code=1) == "Error: no integration 'asets'; did you mean 'acme/assets'?"
    assert said("run", "acme", exit_code=1) == ("Error: 'acme' is a customer, not an integration; name an integration "
                                                "as customer/name: acme/assets, acme/users")
    assert said("run", "nothing/like/it", exit_code=1) == "Error: no integration 'nothing/like/it'"
    answer = api.get("/api/v1/customers/acme/integrations/asets")
    assert answer.status_code == 404 and "did you mean 'acme/assets'?" in answer.json()["detail"]


@pytest.mark.usefixtures("sqlite_url")
def test_unknown_spec_keys_and_partners_get_a_did_you_mean(tmp_path, api):
    said("customers", "create", "acme")
    said("endpoints", "add", "acme", "vendor", "--description", "a vendor")
    spec = tmp_path / "assets.yaml"
    spec.write_text("vendor: V\nrequest: {base_url: 'http://127.0.0.1:9', path: /a}\n"
                    "auth: {type: api_token, block: b}\npagination: {type: offset, total_pth: meta.total}\n"
                    "mapping: {external_id: id}\ntarget: {objet: asset}\n")
    out = said("integrations", "create", "acme", "assets", "-e", "vendor", "--spec", str(spec), exit_code=1)
    assert f"{spec}: pagination.total_pth: is not a known field; did you mean 'total_path'?" in out
    assert f"{spec}: target.objet: is not a known field; did you mean 'object'?" in out
    assert "did you mean 'okta'?" in said("partners", "add", "acme", "otka", exit_code=1)

    body = {"name": "assets", "endpoint": "vendor", "spec": {
        "vendor": "V", "request": {"base_url": "http://127.0.0.1:9"}, "auth": {"type": "api_token", "block": "b"},
        "pagination": {"type": "ofset"}, "mapping": {"external_id": "id"}, "target": {"object": "asset"}}}
    answer = api.post("/api/v1/customers/acme/integrations", json=body)
    assert answer.status_code == 422 and "did you mean 'offset'?" in answer.json()["detail"]


@pytest.mark.usefixtures("sqlite_url")
def test_a_yaml_error_names_the_file_and_line(tmp_path):
    said("customers", "create", "acme")
    said("endpoints", "add", "acme", "vendor", "--description", "a vendor")
    spec = tmp_path / "broken.yaml"
    spec.write_text("vendor: V\nrequest:\n  path: /a\n  base_url: [http://x\n")
    out = said("integrations", "create", "acme", "assets", "-e", "vendor", "--spec", str(spec), exit_code=1)
    assert f"{spec}: not valid YAML: line 5, column 1:" in out
    assert "<unicode string>" not in out


@pytest.mark.usefixtures("prefect_server")
def test_a_run_of_a_failed_partner_says_why_once_with_the_full_reconnect_command(db_url, vendor, monkeypatch):
    from models.partners import get_partner

    url, _data = vendor
    monkeypatch.setitem(get_partner("demo-vendor").regions, "local", url)
    said("customers", "create", "acme")
    said("partners", "add", "acme", "demo-vendor")
    said("partners", "connect", "acme", "demo-vendor", "--region", "local", "--api-key", "wrong", exit_code=1)
    said("integrations", "create", "acme", "assets", "-e", "demo-vendor", "--data-type", "assets")

    result = ihub("run", "acme/assets", width=120)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    out = " ".join(result.output.split())
    assert lines[0].startswith("Error: endpoint 'demo-vendor' of acme is not connected (Failed: ")
    assert out.count("is not connected") == 1 and "fetched" not in out and "inserted" not in out
    assert "`ihub partners connect acme demo-vendor --region local`" in out
    assert "(action log #1: `ihub log 1`)" in out

    requested = ihub("request", "acme/assets", "Import Assets", width=120)
    out = " ".join(requested.output.split())
    assert requested.exit_code == 1 and out.count("is not connected") == 1 and "(action log #2" in out

    logs = said("logs", "acme/assets")
    assert "Import Assets" in logs and "Failed" in logs and "Import " not in logs.replace("Import Assets", "")
    with session() as db:
        assert find_integration(db, "acme/assets").status == IntegrationStatus.inactive


@pytest.mark.usefixtures("prefect_server", "sqlite_url")
def test_history_reads_in_a_120_column_terminal():
    import uuid

    from models.logs import ActionStatus, Trigger
    from tests.test_status_history import add_log

    from ihub.demo import demo_spec
    from models.integrations import onboard

    customer = f"h{uuid.uuid4().hex[:8]}"  # the Prefect server is shared: runs of acme/assets are other tests'
    with session() as db:
        integration = onboard(db, customer, "vendor", "test vendor", "assets", demo_spec("http://127.0.0.1:9"))
    refusal = "credentials rejected by Demo Asset Vendor (HTTP 401 on /api/v1/assets): invalid or missing API token"
    add_log(integration.id, str(uuid.uuid4()), ActionStatus.completed, Trigger.schedule, 30, fetched=2500,
            inserted=12, updated=3, unchanged=2485, message="fetched 2500 records in 25 pages: 12 inserted, "
            "3 updated, 2485 unchanged, 0 rejected")
    add_log(integration.id, str(uuid.uuid4()), ActionStatus.failed, Trigger.manual, 10, message=refusal)

    result = ihub("history", f"{customer}/assets", width=120)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(map(len, lines)) <= 120
    header = next(line for line in lines if "message" in line).split()
    assert header == ["started", "/", "run", "action", "state", "trigger", "took", "records", "message"]
    words = result.output.split()
    assert all(word in words for word in refusal.split())  # wrapped between words, never inside one
    assert "Import Assets" in result.output and "2500 read" in result.output and "12 new, 3 updated" in result.output
    failed = next(number for number, line in enumerate(lines) if "Failed" in line)
    assert "credentials rejected by Demo" in lines[failed]  # the message starts on its run's line
