"""Editing an integration's spec in place, through the CLI (against the demo vendor and the session
Prefect server) and the API: what is kept, what is refused, and what forcing does."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select
from typer.testing import CliRunner

from blocks import ApiTokenCredentials
from flows.sync import sync_integration
from ihub.cli import app, console
from ihub.demo import DEMO_SPEC
from models.config import Integration
from models.engine import session
from models.logs import ActionLog
from models.records import Asset
from tests.conftest import hub_app, make_integration

runner = CliRunner()
ADMIN = "admin-test-token"


def ihub(*args):
    console.width = 200
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, " ".join(re.sub("[\u2500-\u257f]", " ", result.output).split())


def spec_file(tmp_path, base_url, name="edited.yaml", **replace) -> str:
    """The demo spec pointed at `base_url`, without its schedule, with lines replaced."""
    text = DEMO_SPEC.read_text().replace("http://127.0.0.1:8765", base_url)
    text = text.replace("schedule:\n  cron: \"0 2 * * *\"          # once a day, the default\n", "")
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def counts(integration_id):
    with session() as db:
        records = db.exec(select(func.count()).select_from(Asset).where(Asset.integration_id == integration_id)).one()
        logs = db.exec(select(func.count()).select_from(ActionLog).where(ActionLog.integration_id == integration_id)
                       ).one()
        return records, logs, db.get(Integration, integration_id)


@pytest.mark.usefixtures("prefect_server")
def test_editing_keeps_records_logs_schedule_and_key_and_a_new_sync_key_needs_force(sqlite_url, vendor, tmp_path):
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    integration = make_integration(url)
    assert ihub("integrations", "schedule", "acme/assets", "--cron", "30 5 * * 1")[0] == 0
    assert ihub("integrations", "api-key", "acme/assets")[0] == 0
    assert sync_integration("acme/assets").inserted == 350
    _, _, before = counts(integration.id)

    code, out = ihub("integrations", "edit", "acme/assets", "--spec",
                     spec_file(tmp_path, url, **{"limit: 100": "limit: 50", "  cost: purchase.cost\n": ""}))
    assert code == 0, out
    assert ("spec of acme/assets replaced; 350 stored records, the action logs, the sync state and the API key "
            "kept; schedule kept.") in out
    records, logs, after = counts(integration.id)
    assert (records, logs) == (350, 1)
    assert (after.api_key_hash, after.sync_state, after.status) == (before.api_key_hash, before.sync_state,
                                                                    before.status)
    assert after.spec["schedule"]["cron"] == "30 5 * * 1" and after.spec["pagination"]["limit"] == 50
    shown = ihub("mapping", "show", "acme/assets")[1]
    assert "cost" not in shown and "serial_number" in shown
    again = sync_integration("acme/assets")
    assert (again.inserted, again.pages) == (0, 7)  # the same records, matched, in pages of 50

    code, out = ihub("integrations", "edit", "acme/assets", "--spec", spec_file(tmp_path, url, **{
        "request:\n  base_url": "request:\n  bogus: 1\n  base_url", "limit: 100": "limit: 0"}))
    assert code == 1
    assert "the spec cannot be used (nothing was changed)" in out
    assert "request.bogus: is not a known field" in out and "pagination.limit: should be greater than 0" in out

    new_key = spec_file(tmp_path, url, **{"sync_key: external_id ": "sync_key: serial_number "})
    code, out = ihub("integrations", "edit", "acme/assets", "--spec", new_key)
    assert code == 1
    assert ("changes the sync key (external_id -> serial_number): the 350 asset records stored could not be matched "
            "to the vendor's again") in out
    assert "Force the edit to delete the 350 stored records and the incremental sync state" in out
    assert counts(integration.id)[0] == 350

    code, out = ihub("integrations", "edit", "acme/assets", "--spec", new_key, "--force")
    assert code == 0, out
    assert "350 stored records and the incremental sync state deleted: the next sync reads everything anew" in out
    records, logs, after = counts(integration.id)
    assert (records, logs, after.api_key_hash) == (0, 2, before.api_key_hash)
    assert sync_integration("acme/assets").inserted == 350


def test_the_api_shows_and_replaces_a_spec_with_the_same_rules(db_url, tmp_path):
    integration = make_integration()
    with session() as db:
        db.add(Asset(integration_id=integration.id, sync_key="1", record_hash="h", name="laptop"))
        db.commit()
    with TestClient(hub_app(ADMIN), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN}"
        path = "/api/v1/customers/acme/integrations/assets/spec"
        spec = client.get(path).json()
        assert spec["sync_key"] == "external_id" and spec["auth"]["block"] == "demo-vendor-token"

        spec["pagination"]["limit"] = 25
        answer = client.put(path, json=spec)
        assert answer.status_code == 200, answer.text
        assert "1 stored records, the action logs, the sync state and the API key kept" in answer.json()["message"]
        assert client.get(path).json()["pagination"]["limit"] == 25

        spec["target"] = {"object": "person"}
        spec["mapping"] = {"external_id": "id", "email": "email"}
        spec.pop("export")
        refused = client.put(path, json=spec)
        assert refused.status_code == 409
        assert "changes the target object (asset -> person)" in refused.json()["detail"]
        forced = client.put(path + "?force=true", json=spec)
        assert forced.status_code == 200 and "1 stored records" in forced.json()["message"]
        assert counts(integration.id)[0] == 0

        bad = client.put(path, json={**spec, "mapping": {}})
        assert bad.status_code == 422 and "mapping" in bad.json()["detail"]
        assert client.put("/api/v1/customers/acme/integrations/nope/spec", json=spec).status_code == 404
