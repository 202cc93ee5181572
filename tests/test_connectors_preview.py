"""`ihub connectors test` and POST /api/v1/connectors/test: a test-read of a spec against the demo
vendor on loopback shows the requests, records, mapped rows, rejections, the next page and why it
stops, suggests fixes as a diff that applies, and writes nothing to the hub."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlmodel import select
from typer.testing import CliRunner

from blocks import ApiTokenCredentials
from ihub.cli import app, console
from models.engine import session
from models.records import Asset
from models.spec import ConnectorSpec
from tests.conftest import hub_app, make_integration

runner = CliRunner()
ADMIN = "admin-connectors-token"


def ihub(*args):
    console.width = 250
    return runner.invoke(app, list(args))


def spec_file(tmp_path, url: str, path: str = "/api/v1/assets", records: str = "$.data.assets",
              pagination: str = "{type: offset, limit: 100, total_path: meta.total}",
              mapping: str = "{external_id: id, name: name, asset_tag: asset_tag}") -> str:
    file = tmp_path / "spec.yaml"
    file.write_text(textwrap.dedent(f"""\
        # a spec under test
        vendor: Demo Asset Vendor
        request:
          base_url: {url}
          path: {path}
        auth:
          type: api_token  # the demo vendor's token
          block: demo-vendor-token
        pagination: {pagination}
        records:
          path: {records!r}
        mapping: {mapping}
        sync_key: external_id
        target:
          object: asset
        """))
    return str(file)


@pytest.fixture
def demo(prefect_server, sqlite_url, vendor):
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    return url, data


def test_the_first_pages_are_read_mapped_and_the_next_request_shown(demo, tmp_path):
    url, data = demo
    result = ihub("connectors", "test", spec_file(tmp_path, url))
    assert result.exit_code == 0, result.output
    out = result.output
    requests = [line for line in out.splitlines() if "GET" in line and "Next request" not in line]
    assert len(requests) == 2
    for line, offset in zip(requests, (0, 100)):
        assert f"{url}/api/v1/assets?limit=100&offset={offset} " in line and " 200 " in line and " ms " in line
    assert "Records at $.data.assets: 200 in 2 page(s) (offset 0, offset 100)" in out
    assert "First 20 records" in out and data.records["assets"][0]["asset_tag"] in out
    assert "The mapping makes 200 row(s) and rejects 0" in out
    assert f"Next request: GET {url}/api/v1/assets?limit=100&offset=200" in out
    assert "the test stopped after 2 page(s) (--pages 2); a sync goes on" in out
    assert data.token not in out and "Traceback" not in out
    with session() as db:
        assert db.exec(select(Asset)).all() == []  # nothing written


def test_a_token_sent_in_the_query_is_not_shown_but_the_paging_values_are(demo, tmp_path):
    url, data = demo
    ApiTokenCredentials(token=data.token, placement="query", query_param="api_key").save("demo-vendor-token",
                                                                                         overwrite=True)
    result = ihub("connectors", "test", spec_file(tmp_path, url), "--pages", "1")
    assert result.exit_code == 0, result.output
    assert f"{url}/api/v1/assets?limit=100&offset=0&api_key=[REDACTED]" in result.output
    assert data.token not in result.output


def test_the_last_page_says_why_the_paginator_stops(demo, tmp_path):
    url, _ = demo
    result = ihub("connectors", "test", spec_file(tmp_path, url), "--pages", "9")
    assert result.exit_code == 0, result.output
    assert "350 in 4 page(s)" in result.output and "Next request" not in result.output
    assert "Stops: offset 350 reaches the total at meta.total (350)" in result.output


def test_rejections_are_listed_with_their_reasons(demo, tmp_path):
    url, data = demo
    mapping = "{external_id: id, name: name, cost: {source: status, type: float}}"
    result = ihub("connectors", "test", spec_file(tmp_path, url, mapping=mapping), "--pages", "1")
    assert result.exit_code == 0, result.output
    assert "The mapping makes 0 row(s) and rejects 100" in result.output
    first = data.records["assets"][0]
    assert f"{first['id']}" in result.output
    assert f"field 'cost': expected a number, got '{first['status']}'" in result.output
    assert "(80 more rejected records not shown)" in result.output


def test_a_wrong_records_path_gets_the_keys_and_a_fix_that_applies(demo, tmp_path):
    url, _ = demo
    path = spec_file(tmp_path, url, records="$.data.items")
    result = ihub("connectors", "test", path)
    assert result.exit_code == 1
    out = result.output
    assert "record path '$.data.items' is not in the Demo Asset Vendor response" in out
    assert "The answer's top-level keys: data, meta" in out
    assert "-  path: '$.data.items'" in out and "+  path: '$.data.assets'" in out
    assert f"ihub connectors test {path} --apply" in out

    result = ihub("connectors", "test", path, "--apply")
    assert "Applied to" in result.output
    fixed = open(path).read()
    assert "# the demo vendor's token" in fixed  # the operator's comments are kept
    assert ConnectorSpec.from_yaml(path).records.path == "$.data.assets"
    again = ihub("connectors", "test", path)
    assert again.exit_code == 0 and "Records at $.data.assets: 200" in again.output


@pytest.mark.parametrize("endpoint, records, expected", [
    ("/api/next/assets", "$.data", {"type": "advanced", "next_url_path": "links.next"}),
    ("/api/link/assets", "$", {"type": "advanced"}),
    ("/api/cursor/assets", "$.results",
     {"type": "cursor", "cursor_path": "next_cursor", "cursor_param": "cursor", "has_more_path": "has_more"}),
    ("/api/pages/assets", "$.items", {"type": "page", "size": 100, "page_param": "page", "size_param": "per_page",
                                      "total_pages_path": "total_pages"}),
    ("/api/v1/assets", "$.data.assets", {"type": "offset", "limit": 100, "total_path": "meta.total"}),
])
def test_a_paged_answer_without_pagination_gets_the_pagination_block(demo, tmp_path, endpoint, records, expected):
    url, _ = demo
    path = spec_file(tmp_path, url, path=endpoint, records=records, pagination="{type: none}")
    result = ihub("connectors", "test", path, "--apply")
    assert result.exit_code == 0, result.output
    assert "Suggested changes" in result.output and "Stops: pagination is none" in result.output
    assert yaml.safe_load(open(path))["pagination"] == expected
    again = ihub("connectors", "test", path, "--pages", "9")
    assert again.exit_code == 0, again.output
    assert "Records at" in again.output and ": 350 in 4 page(s)" in again.output
    assert "Suggested changes" not in again.output


def test_an_integration_is_tested_by_its_ref(demo):
    url, _ = demo
    make_integration(url, records={"path": "$.data.nothing"})
    result = ihub("connectors", "test", "acme/assets", "--pages", "1")
    assert result.exit_code == 1
    assert "+  path: $.data.assets" in result.output  # the stored spec, as YAML
    assert "ihub integrations edit acme/assets --spec FILE" in result.output


def test_mistakes_are_told_before_any_request(sqlite_url, tmp_path):
    result = ihub("connectors", "test", "acme/none")
    assert result.exit_code == 1 and result.output.strip() == "Error: no integration 'acme/none'"
    bad = tmp_path / "bad.yaml"
    bad.write_text("vendor: x\n")
    result = ihub("connectors", "test", str(bad))
    assert result.exit_code == 1 and "request: is required" in result.output


def test_the_api_answers_the_same_as_json(demo, tmp_path):
    url, data = demo
    spec = yaml.safe_load(open(spec_file(tmp_path, url, pagination="{type: offset, limit: 100}")))
    with TestClient(hub_app(ADMIN), raise_server_exceptions=False) as client:
        auth = {"Authorization": f"Bearer {ADMIN}"}
        answer = client.post("/api/v1/connectors/test", json={"spec": spec, "pages": 1}, headers=auth)
        assert answer.status_code == 200, answer.text
        found = answer.json()
        assert [r["url"] for r in found["requests"]] == [f"{url}/api/v1/assets?limit=100&offset=0"]
        assert found["requests"][0]["status"] == 200 and found["requests"][0]["seconds"] > 0
        assert (found["record_count"], found["mapped_count"], len(found["rows"])) == (100, 100, 20)
        assert found["next_request"]["url"] == f"{url}/api/v1/assets?limit=100&offset=100"
        assert found["diff"] is None and found["error"] is None

        spec["records"] = {"path": "$.items"}
        found = client.post("/api/v1/connectors/test", json={"spec": spec}, headers=auth).json()
        assert "is not in the Demo Asset Vendor response" in found["error"]
        assert found["top_level_keys"] == ["data", "meta"]
        assert found["revised_spec"]["records"] == {"path": "$.data.assets"}
        assert "+  path: $.data.assets" in found["diff"]
        assert data.token not in str(found)

        assert client.post("/api/v1/connectors/test", json={"integration": "acme/none"},
                           headers=auth).json() == {"detail": "no integration 'acme/none'"}
        refused = client.post("/api/v1/connectors/test", json={"spec": {"vendor": "x"}}, headers=auth)
        assert refused.status_code == 422 and "request: is required" in refused.json()["detail"]
        assert client.post("/api/v1/connectors/test", json={"spec": spec}).status_code == 401



def test_help_and_mistakes_import_no_prefect(sqlite_url, tmp_path):
    from tests.test_cli_imports import ihub_in_a_new_process

    bad = tmp_path / "bad.yaml"
    bad.write_text("vendor: x\n")
    odd = tmp_path / "odd.json"
    odd.write_text('{"hello": 1}')
    results = ihub_in_a_new_process(tmp_path, ["connectors", "--help"], ["connectors", "test", str(bad)],
                                    ["connectors", "test", "acme/none"], ["connectors", "from-openapi", str(odd)])
    for result in results:
        assert "prefect" not in result["loaded"], f"ihub {' '.join(result['args'])} imported Prefect"
        assert "Traceback" not in result["output"], result["output"]
    assert results[0]["code"] == 0 and "from-openapi" in results[0]["output"]
    assert [result["code"] for result in results[1:]] == [1, 1, 1]
