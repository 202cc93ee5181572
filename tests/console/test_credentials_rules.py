"""The Credentials screens without a browser (TestClient, SQLite, the session's Prefect server):
`return_to` (a path of this console only) and its `credentials=<name>` on the way back, refusals
beside their fields with no secret echoed, a blank secret kept on Replace, `credentials_listing` for other forms."""

from __future__ import annotations

import uuid

import pytest

from ihub.console.credentials import back_with, checked_return_to, credentials_listing, new_credentials_url
from ihub.console.prefect_reach import wait_until_reached
from models.errors import Invalid
from tests.console.test_console_rules import ADMIN, csrf_of, sign_in

pytestmark = pytest.mark.usefixtures("prefect_server")
RETURN_TO = "/customers/acme/sources/new?source=demo-vendor"


@pytest.fixture
def operator(sqlite_url):
    from fastapi.testclient import TestClient

    from tests.conftest import hub_app

    with TestClient(hub_app(ADMIN), follow_redirects=False) as client:
        assert sign_in(client).status_code == 303
        yield client


def unique(name: str) -> str:
    """Blocks outlive a test on the session's Prefect server: each test uses names of its own."""
    return f"{name}-{uuid.uuid4().hex[:6]}"


def new_form(client, auth_type: str, return_to: str | None = None):
    url = new_credentials_url(return_to) + ("&" if return_to else "?") + f"type={auth_type}"
    page = client.get(url)
    assert page.status_code == 200, page.text
    return page


def test_return_to_must_be_a_path_of_this_console():
    for outside in ("https://evil.example/x", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
                    "evil.example/x", "/ok\nLocation: x"):
        with pytest.raises(Invalid, match="return_to must be a path of this console") as refused:
            checked_return_to(outside)
        assert "return_to" in refused.value.fields
    assert checked_return_to(RETURN_TO) == RETURN_TO and checked_return_to("") is None
    assert back_with(RETURN_TO, "acme-token") == "/customers/acme/sources/new?source=demo-vendor&credentials=acme-token"
    assert back_with("/x?credentials=old#top", "new") == "/x?credentials=new#top"


def test_save_goes_back_to_return_to_with_the_new_credentials(operator):
    name = unique("acme-token")
    refused = operator.get("/credentials/new?return_to=https%3A%2F%2Fevil.example%2F")
    assert refused.status_code == 422 and "return_to must be a path of this console" in refused.text
    page = new_form(operator, "api_token", RETURN_TO)
    saved = operator.post("/credentials/new", data={"csrf_token": csrf_of(page), "type": "api_token", "name": name,
                                                    "return_to": RETURN_TO, "token": "s3cret-token-value",
                                                    "placement": "header", "header_name": "X-API-Key",
                                                    "prefix": ""})
    assert (saved.status_code, saved.headers["location"]) == (303, back_with(RETURN_TO, name))
    tampered = operator.post("/credentials/new", data={"csrf_token": csrf_of(page), "type": "basic", "name": unique("b"),
                                                       "return_to": "//evil.example", "username": "u", "password": "p"})
    assert tampered.status_code == 422 and "location" not in tampered.headers
    wait_until_reached()
    listed, problem = credentials_listing()
    assert problem is None and [(row.type, row.users.describe()) for row in listed if row.name == name] == [("api_token", "")]
    assert "s3cret-token-value" not in operator.get("/credentials").text


def test_refusals_sit_beside_their_fields_and_never_echo_a_secret(operator):
    page = new_form(operator, "basic")
    refused = operator.post("/credentials/new", data={"csrf_token": csrf_of(page), "type": "basic", "name": "Bad Name",
                                                      "password": "typed-password-value"})
    assert refused.status_code == 422
    assert 'id="problem-name"' in refused.text and "credentials name &#39;Bad Name&#39; is not valid" in refused.text
    assert "typed-password-value" not in refused.text
    missing = operator.post("/credentials/new", data={"csrf_token": csrf_of(page), "type": "aws", "name": unique("aws"),
                                                      "access_key_id": "AKIDEXAMPLE", "secret_access_key": "sak-value"})
    assert '<p class="problem" id="problem-region">aws credentials need region</p>' in missing.text
    assert '<p class="problem" id="problem-service">aws credentials need service</p>' in missing.text
    assert 'value="AKIDEXAMPLE"' in missing.text and "sak-value" not in missing.text


def test_replace_keeps_a_secret_left_blank(operator):
    from blocks import BasicCredentials

    name = unique("crm-login")
    page = new_form(operator, "basic")
    operator.post("/credentials/new", data={"csrf_token": csrf_of(page), "type": "basic", "name": name,
                                            "username": "svc", "password": "first-password"})
    shown = operator.get(f"/credentials/{name}")
    assert 'value="svc"' in shown.text and "Set: leave blank to keep it" in shown.text
    assert "first-password" not in shown.text
    replaced = operator.post(f"/credentials/{name}", data={"csrf_token": csrf_of(shown), "username": "svc2",
                                                           "password": ""})
    assert replaced.status_code == 303
    block = BasicCredentials.load(name, _sync=True)  # Playwright may mark this thread as running an event loop
    assert (block.username, block.password.get_secret_value()) == ("svc2", "first-password")
    deleted = operator.post(f"/credentials/{name}/delete", data={"csrf_token": csrf_of(shown)})
    assert (deleted.status_code, deleted.headers["location"]) == (303, "/credentials")
