"""The universal connector's pages without a browser (TestClient, SQLite): each step refuses a bad
value beside its field with the spec's own words, and the YAML editor puts each problem on its line."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from models.config import IntegrationStatus
from models.engine import session
from models.integrations import connector_spec, find_integration
from tests.conftest import hub_app
from tests.console.test_console_rules import ADMIN, csrf_of, sign_in

NEW = "/customers/acme/connector/new"
STEP_1 = {"name": "crm", "endpoint": "+new", "new_endpoint_name": "crm", "new_endpoint_description": "Our CRM",
          "vendor": "CRM Inc", "target": "person", "base_url": "https://crm.example", "method": "GET",
          "path": "/api/people", "params": "active=true", "headers": "Accept: application/json",
          "records_path": "$.items", "pagination": "offset", "offset-limit": "50", "offset-total_path": "meta.total"}


@pytest.fixture
def operator(sqlite_url):
    with TestClient(hub_app(ADMIN), follow_redirects=False) as client:
        assert sign_in(client).status_code == 303
        csrf = csrf_of(client.get("/new-customer"))
        client.post("/new-customer", data={"name": "acme", "csrf_token": csrf})
        yield client


def post(client: TestClient, url: str, /, **fields):
    return client.post(url, data={**fields, "csrf_token": csrf_of(client.get(url))})


def problem_beside(page, field: str) -> str:
    found = re.search(rf'<p class="problem" id="problem-{re.escape(field)}">([^<]*)</p>', page.text)
    assert found, f"no problem beside {field}"
    return found.group(1)


def test_step_1_refuses_each_bad_value_beside_its_field_then_creates_the_integration_inactive(operator):
    bad = post(operator, NEW, **{**STEP_1, "base_url": "ftp://crm.example", "offset-limit": "0", "name": "no way",
                                 "params": "active"})
    assert bad.status_code == 422
    assert "line 1 (&#39;active&#39;) is not name=value" in problem_beside(bad, "params")
    bad = post(operator, NEW, **{**STEP_1, "base_url": "ftp://crm.example", "offset-limit": "0"})
    assert problem_beside(bad, "base_url") == "must start with http:// or https://"
    assert problem_beside(bad, "offset-limit") == "should be greater than 0"
    bad = post(operator, NEW, **{**STEP_1, "name": "no way"})
    assert "integration name &#39;no way&#39; is not valid" in problem_beside(bad, "name")

    created = post(operator, NEW, **STEP_1)
    assert created.status_code == 303
    assert created.headers["location"] == "/customers/acme/integrations/crm/connector/credentials"
    with session() as db:
        integration = find_integration(db, "acme/crm")
        spec = connector_spec(db, integration)
        assert integration.status == IntegrationStatus.inactive
        assert (spec.request.url, spec.pagination.limit, spec.records.path, spec.mapping) == \
            ("https://crm.example/api/people", 50, "$.items", {})
    taken = post(operator, NEW, **{**STEP_1, "endpoint": "crm"})
    assert problem_beside(taken, "name") == "customer &#39;acme&#39; already has an integration named &#39;crm&#39;"


def test_schedule_and_sync_field_steps_refuse_beside_their_fields(operator):
    post(operator, NEW, **STEP_1)
    base = "/customers/acme/integrations/crm/connector"
    bad = post(operator, f"{base}/schedule", cron="0 25 * * *", timezone="Mars/Olympus")
    assert "0 25 * * *" in problem_beside(bad, "cron")
    assert "is not a time zone" in problem_beside(bad, "timezone")
    assert post(operator, f"{base}/schedule", cron="30 6 * * 1-5", timezone="Europe/Paris").status_code == 303
    refused = post(operator, f"{base}/launch")
    assert refused.status_code == 422 and "its mapping has no primary (sync) key" in refused.text


def test_the_yaml_editor_shows_each_problem_on_its_line_and_saves_a_good_spec(operator):
    post(operator, NEW, **STEP_1)
    path = "/customers/acme/integrations/crm/spec"
    text = re.search(r'<textarea id="field-spec"[^>]*>([^<]*)</textarea>', operator.get(path).text).group(1)
    text = text.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")
    lines = text.splitlines()
    limit_line = next(n for n, line in enumerate(lines, 1) if "limit: 50" in line)
    broken = text.replace("limit: 50", "limit: 0").replace("records:", "recrods:")
    bad = post(operator, path, spec=broken)
    assert bad.status_code == 422
    assert f"line {limit_line}: pagination.limit: should be greater than 0" in bad.text
    assert "recrods: is not a known field; did you mean &#39;records&#39;?" in bad.text
    mapped = text + "mapping:\n  external_id: id\n  email: email\nsync_key: external_id\n"
    saved = post(operator, path, spec=mapped)
    assert saved.status_code == 303, saved.text
    with session() as db:
        assert connector_spec(db, find_integration(db, "acme/crm")).sync_key == "external_id"
