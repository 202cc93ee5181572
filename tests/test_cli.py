"""The `ihub` CLI: the demo, runs and logs, and clear errors instead of tracebacks."""

import pytest
from typer.testing import CliRunner

from blocks import ApiTokenCredentials
from ihub.cli import app, console
from tests.conftest import make_integration

runner = CliRunner()


def ihub(*args):
    console.width = 200  # one table row a line, as in a wide terminal
    return runner.invoke(app, list(args))


@pytest.mark.usefixtures("prefect_server", "sqlite_url")
def test_demo_syncs_twice_and_the_second_run_inserts_nothing():
    result = ihub("demo", "--assets", "300")
    assert result.exit_code == 0, result.output
    first, second = result.output.split("Second sync")
    assert "fetched 300 records in 3 pages: 300 inserted, 0 updated, 0 unchanged, 0 rejected" in first
    assert "fetched 300 records in 3 pages: 0 inserted, 0 updated, 300 unchanged, 0 rejected" in second
    assert "Traceback" not in result.output


@pytest.mark.usefixtures("prefect_server", "sqlite_url")
def test_run_and_logs_show_what_happened(vendor):
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    make_integration(url)
    result = ihub("run", "acme/assets")
    assert result.exit_code == 0, result.output
    assert "350 inserted" in result.output and "Completed" in result.output

    result = ihub("logs", "acme/assets")
    assert result.exit_code == 0
    assert "Import Assets" in result.output and "Completed" in result.output and "acme/assets" in result.output


@pytest.mark.usefixtures("prefect_server", "sqlite_url")
def test_a_failing_run_exits_1_with_the_reason(vendor):
    url, _ = vendor
    ApiTokenCredentials(token="not-the-token").save("demo-vendor-token", overwrite=True)
    make_integration(url)
    result = ihub("run", "acme/assets")
    assert result.exit_code == 1
    assert "Error: credentials rejected by Demo Asset Vendor (HTTP 401 on /api/v1/assets)" in result.output
    assert "not-the-token" not in result.output and "Traceback" not in result.output


@pytest.mark.usefixtures("sqlite_url")
def test_unknown_integrations_are_named_in_the_error():
    result = ihub("run", "acme/nothing")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: no integration 'acme/nothing'"
    result = ihub("logs", "ghost")
    assert result.exit_code == 1 and "no integration 'ghost'" in result.output


@pytest.mark.usefixtures("sqlite_url")
def test_logs_on_an_empty_hub_say_how_to_start():
    result = ihub("logs")
    assert result.exit_code == 0 and "No action logs yet" in result.output


@pytest.mark.usefixtures("prefect_server", "sqlite_url")
def test_run_full_refresh_ignores_the_incremental_state(vendor):
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    make_integration(url, incremental={"cursor_field": "updated_at", "param": "updated_since"})
    assert "fetched 350 records" in ihub("run", "acme/assets").output
    assert "fetched 1 records" in ihub("run", "acme/assets").output
    result = ihub("run", "acme/assets", "--full-refresh")
    assert result.exit_code == 0 and "fetched 350 records in 4 pages: 0 inserted, 0 updated, 350 unchanged" in result.output
