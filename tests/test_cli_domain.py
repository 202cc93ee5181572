"""The integration-management domain through the `ihub` CLI (seeds 000, 002, 003), on both databases."""

from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from blocks import ApiTokenCredentials
from ihub.cli import app, console
from models.api_keys import digest
from models.config import Integration
from models.engine import session
from models.logs import ActionLog, ActionStatus

runner = CliRunner()
SPEC = """\
vendor: Demo Asset Vendor
request: {base_url: "BASE", path: /api/v1/assets}
auth: {type: api_token, block: demo-vendor-token}
pagination: {type: offset, limit: 100, total_path: meta.total}
records: {path: data.assets}
mapping: {external_id: id, name: name}
target: {object: asset}
"""


def ihub(*args, input=None):
    console.width = 200
    return runner.invoke(app, list(args), input=input)


def ok(*args, input=None) -> str:
    result = ihub(*args, input=input)
    assert result.exit_code == 0, result.output
    return result.output


def refused(*args, input=None) -> str:
    result = ihub(*args, input=input)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return " ".join(result.output.split())  # messages wrap in a narrow terminal


def spec_file(tmp_path: Path, base_url: str = "http://127.0.0.1:9") -> str:
    path = tmp_path / "assets.yaml"
    path.write_text(SPEC.replace("BASE", base_url))
    return str(path)


@pytest.fixture
def acme(db_url):
    ok("customers", "create", "acme")
    ok("endpoints", "add", "acme", "vendor", "--description", "The demo vendor")


def test_customers_create_list_rename_and_clear_errors(db_url):
    assert "Customer 'acme' created" in ok("customers", "create", "acme")
    assert "customer 'acme' already exists" in refused("customers", "create", "acme")
    assert "customer name 'a/b' is not valid" in refused("customers", "create", "a/b")
    assert "Customer 'acme' renamed to 'acme-corp'" in ok("customers", "rename", "acme", "acme-corp")
    listed = ok("customers", "list")
    assert "acme-corp" in listed and "acme " not in listed
    assert "no customer 'acme'" in refused("customers", "show", "acme")


def test_endpoints_rules_of_seed_000(acme):
    assert "the description is mandatory" in refused("endpoints", "add", "acme", "crm")
    assert "the description is mandatory" in refused("endpoints", "add", "acme", "crm", "-d", "   ")
    assert "already has an integration endpoint named 'vendor'" in refused(
        "endpoints", "add", "acme", "vendor", "-d", "again")
    added = ok("endpoints", "add", "acme", "crm", "-d", "Our CRM")
    assert "Integration endpoint 'crm' added to acme" in added and "Our CRM" in added  # shown in the table

    assert "the name of integration endpoint 'crm' cannot be changed" in refused(
        "endpoints", "edit", "acme", "crm", "--name", "crm2", "-d", "x")
    assert "Integration endpoint 'crm' of acme updated" in ok("endpoints", "edit", "acme", "crm", "-d", "CRM v2")
    assert "CRM v2" in ok("endpoints", "list", "acme")

    assert "Nothing changed" in refused("endpoints", "delete", "acme", "crm", input="n\n")
    assert "crm" in ok("endpoints", "list", "acme")
    assert "Integration endpoint 'crm' deleted from acme" in ok("endpoints", "delete", "acme", "crm", input="y\n")
    assert "has no integration endpoint 'crm'" in refused("endpoints", "delete", "acme", "crm", "-y")


def test_an_endpoint_or_customer_in_use_is_kept_and_forcing_says_what_went(acme, tmp_path):
    ok("integrations", "create", "acme", "assets", "-e", "vendor", "--spec", spec_file(tmp_path))
    assert "is used by 1 integration(s): assets" in refused("endpoints", "delete", "acme", "vendor", "-y")
    assert "customer 'acme' has 1 integration(s): assets" in refused("customers", "delete", "acme", "-y")
    out = " ".join(ok("customers", "delete", "acme", "--force", "-y").split())
    assert "Customer 'acme' deleted" in out
    assert "Removed its integrations (with their mappings, logs and records): assets" in out
    assert "Removed its endpoints: vendor" in out
    with session() as db:
        assert db.exec(select(Integration)).all() == []


def test_activation_waits_for_a_primary_key(acme, tmp_path):
    created = ok("integrations", "create", "acme", "assets", "-e", "vendor", "--spec", spec_file(tmp_path))
    assert "Integration 'acme/assets' created (Inactive)" in created
    assert "No primary key yet" in ok("mapping", "show", "acme/assets")
    assert "its mapping has no primary (sync) key; mark one with `ihub mapping key acme/assets <field>`" in refused(
        "integrations", "activate", "acme/assets")
    assert "'serial' is not mapped" in refused("mapping", "key", "acme/assets", "serial")
    assert "nonsense is not a field of asset" in refused("mapping", "set", "acme/assets", "nonsense", "x")
    ok("mapping", "set", "acme/assets", "serial_number", "serial", "--primary-key")
    assert "acme/assets is Active" in ok("integrations", "activate", "acme/assets")
    assert "is the primary (sync) key of acme/assets, which is active" in refused(
        "mapping", "remove", "acme/assets", "serial_number")
    ok("mapping", "key", "acme/assets", "external_id")
    ok("mapping", "remove", "acme/assets", "serial_number")
    shown = ok("mapping", "show", "acme/assets")
    assert "serial_number" not in shown and "source: id" in shown
    assert "acme/assets is Inactive" in ok("integrations", "deactivate", "acme/assets")


def test_update_types_alerts_and_schedule_are_validated_and_shown(acme, tmp_path):
    ok("integrations", "create", "acme", "assets", "-e", "vendor", "--spec", spec_file(tmp_path))
    assert "unknown update type(s) 'moved'" in refused("integrations", "update-types", "acme/assets", "-t", "moved")
    assert "applies: created, updated" in ok("integrations", "update-types", "acme/assets")  # the default
    out = ok("integrations", "update-types", "acme/assets", "-t", "updated", "-t", "deleted", "--deleted-mode", "remove")
    assert "applies: updated, deleted" in out and "are removed" in out

    assert "'not-an-address' is not an e-mail address" in refused(
        "integrations", "alerts", "acme/assets", "--add", "not-an-address")
    assert "consecutive failed runs: 1 to 1000, not 0" in refused(
        "integrations", "alerts", "acme/assets", "--threshold", "0")
    out = " ".join(ok("integrations", "alerts", "acme/assets", "--add", "ops@example.com", "--threshold", "3").split())
    assert "after 3 consecutive failed runs it is Disabled and ops@example.com is e-mailed" in out

    assert "runs on '0 2 * * *' (UTC)" in ok("integrations", "schedule", "acme/assets")  # daily by default
    assert "not a valid cron expression" in refused("integrations", "schedule", "acme/assets", "--cron", "61 * * * *")
    assert "needs five fields" in refused("integrations", "schedule", "acme/assets", "--cron", "hourly")
    assert "'Mars/Base' is not a time zone" in refused(
        "integrations", "schedule", "acme/assets", "--timezone", "Mars/Base")
    ok("integrations", "schedule", "acme/assets", "--cron", "*/30 * * * *", "--timezone", "Europe/Paris")
    assert "0 to 10 automatic re-runs of a failed run, not -1" in refused(
        "integrations", "retries", "acme/assets", "--retries", "-1")
    assert "re-run 2 time(s), 45 s apart" in ok("integrations", "retries", "acme/assets", "--retries", "2",
                                                  "--delay", "45")

    header = ok("integrations", "show", "acme/assets")
    for shown in ("Inactive", "*/30 * * * * (Europe/Paris)", "updated, deleted (deleted records: remove)",
                  "ops@example.com", "disabled after 3 consecutive failed runs (now 0)", "Import Assets",
                  "Integration Hub universal connector", "last heartbeat", "2, 45 s apart"):
        assert shown in header


def test_the_api_key_is_shown_once_stored_hashed_and_rotatable(acme, tmp_path):
    ok("integrations", "create", "acme", "assets", "-e", "vendor", "--spec", spec_file(tmp_path))
    first = ok("integrations", "api-key", "acme/assets").split("\n")[1].strip()
    assert first.startswith("ihk_") and len(first) > 40
    assert "already has an API key" in refused("integrations", "api-key", "acme/assets")
    rotated = ok("integrations", "api-key", "acme/assets", "--rotate")
    second = rotated.split("\n")[1].strip()
    assert second != first and "the old one no longer works" in rotated
    with session() as db:
        stored = db.exec(select(Integration.api_key_hash)).one()
    assert stored == digest(second) and second not in stored
    assert "issued" in ok("integrations", "show", "acme/assets") and second not in ok("integrations", "show", "acme/assets")


@pytest.mark.usefixtures("prefect_server")
def test_an_action_request_is_queued_then_run_and_logs_filter(acme, tmp_path, vendor):
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    ok("integrations", "create", "acme", "assets", "-e", "vendor", "--spec", spec_file(tmp_path, url))
    assert "has no action 'Dance'; its actions: 'Import Assets'" in refused("request", "acme/assets", "Dance")
    assert "works on every record; it takes no record" in refused(
        "request", "acme/assets", "Import Assets", "--record", "4")
    assert "has no primary (sync) key" in refused("request", "acme/assets", "import assets")  # runs, fails at once
    ok("mapping", "key", "acme/assets", "external_id")
    out = ok("request", "acme/assets", "Import Assets")
    assert "queued: Import Assets" in out and "Completed" in out and "request" in out

    logs = ok("logs", "acme/assets")
    assert logs.count("Import Assets") == 2 and "Failed" in logs and "Completed" in logs
    failed = ok("logs", "--status", "failed")
    assert "Failed" in failed and "Completed" not in failed
    assert "No action logs match" in ok("logs", "--action", "export")
    assert "No action logs match" in ok("logs", "--until", "2020-01-01")
    assert "Completed" in ok("logs", "--customer", "acme", "--since", "1h")
    assert "--since takes a date" in refused("logs", "--since", "yesterday")
    with session() as db:
        log_id = db.exec(select(ActionLog.id).where(ActionLog.status == ActionStatus.failed)).one()
    detail = ok("log", str(log_id))
    assert "has no primary (sync) key" in " ".join(detail.split()) and "request" in detail
    assert "no action log 999" in refused("log", "999")


def test_an_external_integration_declares_actions_and_its_requests_wait(acme):
    ok("integrations", "create", "acme", "customsoft", "-e", "vendor", "--external", "--author", "CustomSoft",
       "--support-contact", "help@customsoft.example")
    assert "built outside the hub: it has no mapping here" in refused("mapping", "show", "acme/customsoft")
    assert "an action's kind is one of import, export, other" in refused(
        "actions", "add", "acme/customsoft", "Export Quote", "--kind", "sideways")
    ok("actions", "add", "acme/customsoft", "Export Quote", "--kind", "export")
    assert "Export Quote" in ok("actions", "list", "acme/customsoft")
    assert "needs the record to export" in refused("request", "acme/customsoft", "Export Quote")
    out = ok("request", "acme/customsoft", "Export Quote", "--record", "Q-42")
    assert "runs outside the hub: it picks the request up through the API" in " ".join(out.split())
    logs = ok("logs", "acme/customsoft")
    assert "Queued" in logs and "Export Quote" in logs
    header = ok("integrations", "show", "acme/customsoft")
    assert "CustomSoft" in header and "help@customsoft.example" in header and "the integration" in header
    assert "external" in header
    assert "built outside the hub: it has no schedule here" in refused("integrations", "schedule", "acme/customsoft")


@pytest.mark.usefixtures("prefect_server")
def test_onboarding_from_the_partner_catalog_to_a_first_sync(db_url, vendor, monkeypatch):
    from models.partners import get_partner

    url, data = vendor
    monkeypatch.setitem(get_partner("demo-vendor").regions, "local", url)  # the fixture's port, not 8765
    assert "okta" in ok("partners", "catalog") and "Okta, Inc." in ok("partners", "show", "okta")
    ok("customers", "create", "acme")
    assert "no partner application 'salesforce'" in refused("partners", "add", "acme", "salesforce")
    assert "Added demo-vendor, okta to acme (status Available)" in ok("partners", "add", "acme", "demo-vendor", "okta")
    assert "already has okta" in refused("partners", "add", "acme", "okta")
    assert "Available" in ok("partners", "list", "acme")
    assert "needs your tenant" in refused("partners", "connect", "acme", "okta", "--region", "okta", "--api-key", "k")
    assert "has no region 'moon'" in refused("partners", "connect", "acme", "demo-vendor", "--region", "moon",
                                             "--api-key", "k")

    wrong = refused("partners", "connect", "acme", "demo-vendor", "--region", "local", "--api-key", "wrong-secret")
    assert "could not connect (status Failed)" in wrong and "HTTP 401" in wrong and "wrong-secret" not in wrong
    ok("integrations", "create", "acme", "assets", "-e", "demo-vendor", "--data-type", "assets")
    assert "endpoint 'demo-vendor' of acme is not connected (Failed" in refused("run", "acme/assets")

    connected = ok("partners", "connect", "acme", "demo-vendor", "--region", "local", input=data.token + "\n")
    assert "is connected (status Enabled, region local)" in " ".join(connected.split())
    assert data.token not in connected
    assert "✓" in ok("partners", "list", "acme")
    ok("integrations", "activate", "acme/assets")  # the partner's mapping comes with its primary key
    assert "350 inserted" in ok("run", "acme/assets")
    header = ok("integrations", "show", "acme/assets")
    assert "Integration Hub" in header and "partner demo-vendor: connected" in header and "Export Asset" in header

    ok("partners", "disconnect", "acme", "demo-vendor")
    assert "is not connected (Available" in refused("run", "acme/assets")
