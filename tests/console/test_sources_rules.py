"""A source's page and Create an integration (seed 002) without a browser (TestClient, SQLite): Add a type of
data (Inactive), Activate refused in the service's words, the schedule's problems beside their fields."""

from __future__ import annotations

import html

import pytest

from tests.console.test_console_rules import ADMIN, csrf_of, sign_in
from models.customers import create_customer
from models.engine import session
from models.errors import Invalid
from models.integrations import find_integration
from models.sources import create_source

SOURCE = "/customers/acme/sources/okta"
CREATE = "/customers/acme/create-integration"


@pytest.fixture
def operator(sqlite_url):
    from fastapi.testclient import TestClient

    from tests.conftest import hub_app

    with session() as db:
        create_customer(db, "acme")
        create_source(db, "acme", "okta", "okta", "okta-token", "api_token")
    with TestClient(hub_app(ADMIN), follow_redirects=False) as client:
        assert sign_in(client).status_code == 303
        yield client


def post(client, path: str, page: str, **fields):
    return client.post(path, data={**fields, "csrf_token": csrf_of(client.get(page))})


def integration():
    with session() as db:
        return find_integration(db, "acme/okta-users")


def test_a_source_refuses_credentials_of_another_type(sqlite_url):
    with session() as db:
        create_customer(db, "acme")
        with pytest.raises(Invalid) as refused:
            create_source(db, "acme", "snow", "servicenow", "okta-token", "api_token")
    assert refused.value.fields == {"credentials": "ServiceNow takes basic credentials; 'okta-token' are api_token "
                                                   "credentials"}


def test_add_a_type_of_data_then_activate(operator):
    added = post(operator, SOURCE + "/data", SOURCE, data_type="users")
    assert (added.status_code, added.headers["location"]) == (303, SOURCE)
    page = operator.get(SOURCE).text
    assert "Integration configuration &#39;okta-users&#39; added; it is Inactive." in page
    assert '<span class="status status-inactive">Inactive</span>' in page
    assert 'href="/customers/acme/integrations/okta-users/mapping?return_to=%2Fcustomers%2Facme%2Fsources%2Fokta"' in page
    assert post(operator, SOURCE + "/data", SOURCE, data_type="users").status_code == 409
    activated = post(operator, SOURCE + "/activate", SOURCE, name="okta-users")
    assert activated.status_code == 303 and integration().status.value == "Active"


def test_the_schedules_problems_are_beside_their_fields(operator):
    post(operator, SOURCE + "/data", SOURCE, data_type="users")
    page = f"{CREATE}?configuration=okta-users"
    assert 'id="field-cron" name="cron" type="text" value="0 2 * * *"' in operator.get(page).text  # daily
    refused = post(operator, f"{CREATE}/okta-users/schedule", page, cron="61 * * * *", timezone="Mars/Olympus")
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert '<p class="problem" id="problem-cron">\'61 * * * *\' is not a valid cron expression: the minute field' in text
    assert '<p class="problem" id="problem-timezone">\'Mars/Olympus\' is not a time zone' in text
    saved = post(operator, f"{CREATE}/okta-users/schedule", page, cron="0 6 * * *", timezone="Europe/Paris")
    assert saved.status_code == 303 and integration().spec["schedule"]["cron"] == "0 6 * * *"
    kept = post(operator, f"{CREATE}/okta-users/updates", page, types=[], deleted_mode="mark")
    assert kept.status_code == 422 and "choose at least one update type" in kept.text
