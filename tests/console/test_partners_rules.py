"""The Integrations tab (seed 001) without a browser (TestClient, SQLite): ADD PARTNERS, the connect
form's refusals beside their fields, CSRF, and no page ever showing a key typed into it."""

from __future__ import annotations

import re
import time

import pytest

from tests.console.test_console_rules import ADMIN, csrf_of, post_form, sign_in
from models.config import EndpointStatus
from models.customers import create_customer
from models.endpoints import get_endpoint
from models.engine import session

PAGE = "/customers/acme/partners/demo-vendor"


@pytest.fixture
def operator(sqlite_url):
    from fastapi.testclient import TestClient

    from tests.conftest import hub_app

    with session() as db:
        create_customer(db, "acme")
    with TestClient(hub_app(ADMIN), follow_redirects=False) as client:
        assert sign_in(client).status_code == 303
        yield client


def endpoint(name: str = "demo-vendor"):
    with session() as db:
        return get_endpoint(db, "acme", name)


def cell_checkbox(page: str, partner_name: str) -> str:
    return re.search(rf'<input type="checkbox" class="tick" disabled aria-label="{partner_name} currently connected"\s*(checked)?',
                     page).group(0)


def test_add_partners_lists_the_catalog_and_adds_the_ticked_ones_as_available(operator):
    add = operator.get("/customers/acme/partners/add")
    assert 'value="okta"' in add.text and "ADD PARTNERS" in add.text
    refused = post_form(operator, "/customers/acme/partners/add")
    assert refused.status_code == 422 and "choose at least one partner application from the catalog" in refused.text
    csrf = csrf_of(add)
    added = operator.post("/customers/acme/partners/add", data={"partners": ["demo-vendor", "okta"], "csrf_token": csrf})
    assert (added.status_code, added.headers["location"]) == (303, "/customers/acme/partners")
    listing = operator.get("/customers/acme/partners").text
    assert "Added Demo Asset Vendor, Okta to acme (status Available)" in listing
    assert "Demo Asset Vendor" in listing and listing.count(">Available</span>") == 2
    assert not cell_checkbox(listing, "Okta").endswith("checked")
    again = operator.post("/customers/acme/partners/add", data={"partners": ["okta"], "csrf_token": csrf})
    assert again.status_code == 422 and "customer &#39;acme&#39; already has okta" in again.text
    assert re.search(r'id="partner-okta" name="partners" value="okta"\s+disabled checked', again.text)


def test_partner_forms_without_the_session_csrf_token_change_nothing(operator):
    post_form(operator, "/customers/acme/partners/add", partners="demo-vendor")
    for path, data in (("/customers/acme/partners/add", {"partners": "okta"}),
                       (PAGE, {"region": "local", "api_key": "a-key-1234", "csrf_token": "forged"})):
        answer = operator.post(path, data=data)
        assert answer.status_code == 403 and "did not come from this console session" in answer.text
    assert [e.name for e in [endpoint()]] == ["demo-vendor"] and endpoint().credentials_block is None
    assert "okta" not in operator.get("/customers/acme/partners").text.lower()


def test_the_connect_form_asks_for_what_the_partner_template_needs_and_keeps_no_secret(operator):
    post_form(operator, "/customers/acme/partners/add", partners=["demo-vendor", "okta", "aws-ssm"])
    demo = operator.get(PAGE).text
    assert re.search(r'<label for="field-api_key">API Key', demo)
    assert re.search(r'id="field-api_key" name="api_key" type="password" value="" autocomplete="off"', demo)
    assert '<select id="field-region" name="region"' in demo and "CONNECT" in demo and "Tenant" not in demo
    aws = operator.get("/customers/acme/partners/aws-ssm").text
    assert "Access Key ID" in aws and 'name="secret_access_key" type="password"' in aws and "API Key" not in aws
    assert 'id="field-tenant"' in operator.get("/customers/acme/partners/okta").text

    missing = post_form(operator, PAGE, region="local", api_key="  ")
    assert missing.status_code == 422
    assert re.search(r'<p class="problem" id="problem-api_key">api_key is missing</p>', missing.text)
    secret = "typed-secret-4f1c9e"
    moon = post_form(operator, PAGE, region="moon", api_key=secret)
    assert moon.status_code == 422 and secret not in moon.text
    assert re.search(r'id="problem-region">Demo Asset Vendor has no region &#39;moon&#39;; its regions are: local',
                     moon.text)
    tenant = post_form(operator, "/customers/acme/partners/okta", region="okta", api_key=secret)
    assert tenant.status_code == 422 and secret not in tenant.text
    assert re.search(r'id="problem-tenant">region &#39;okta&#39; of Okta needs your tenant', tenant.text)
    assert endpoint().status == EndpointStatus.available and endpoint().credentials_block is None  # nothing started


def wait_connected(client, page: str = PAGE, timeout: float = 60) -> str:
    """The configuration page once the background connect is over."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = client.get(page)
        if "Connecting to" not in answer.text:
            return answer.text
        assert '<meta http-equiv="refresh"' in answer.text and 'src="/static/connecting.js"' in answer.text
        time.sleep(0.2)
    pytest.fail("the connect did not finish")


@pytest.mark.usefixtures("prefect_server")
def test_connect_runs_in_the_background_and_no_page_ever_shows_the_key(operator, vendor, monkeypatch):
    from models.partners import get_partner

    url, data = vendor
    monkeypatch.setitem(get_partner("demo-vendor").regions, "local", url)  # the fixture's port, not 8765
    post_form(operator, "/customers/acme/partners/add", partners="demo-vendor")
    wrong = "wrong-key-" + "9" * 12
    answer = post_form(operator, PAGE, region="local", api_key=wrong)
    assert (answer.status_code, answer.headers["location"]) == (303, PAGE)
    failed = wait_connected(operator)
    assert ("Failed: Demo Asset Vendor refused the connection test: HTTP 401 on GET /api/v1/users: "
            "invalid or missing API token") in failed
    answer = post_form(operator, PAGE, region="local", api_key=data.token)
    enabled = wait_connected(operator)
    assert "Enabled: the connection is established." in enabled
    listing = operator.get("/customers/acme/partners").text
    assert ">Enabled</span>" in listing and cell_checkbox(listing, "Demo Asset Vendor").endswith("checked")
    assert operator.get(PAGE + "/status").json() == {"status": "Enabled", "connected": True, "connecting": False}
    pages = [failed, enabled, listing, operator.get(PAGE).text, operator.get(PAGE + "/status").text,
             operator.get("/customers/acme/partners/add").text, operator.get("/customers/acme").text]
    assert not [page for page in pages if wrong in page or data.token in page]
