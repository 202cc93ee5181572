"""The mapping editor (seed 002) without a browser (TestClient, SQLite): the vendor's fields the hub knows,
the primary key ticked and assigned, the services' refusals in their own words, and `return_to` kept to
this console."""

from __future__ import annotations

import html

import pytest

from tests.console.test_console_rules import ADMIN, csrf_of, sign_in
from models.customers import create_customer
from models.endpoints import add_partners
from models.engine import session
from models.integration_setup import create_integration
from models.integrations import connector_spec, find_integration

EDITOR = "/customers/acme/integrations/people/mapping"


@pytest.fixture
def operator(sqlite_url):
    from fastapi.testclient import TestClient

    from tests.conftest import hub_app

    with session() as db:
        create_customer(db, "acme")
        add_partners(db, "acme", ["demo-vendor", "okta"])
        create_integration(db, "acme", "people", "demo-vendor", data_type="users")
        create_integration(db, "acme", "staff", "okta", data_type="users")
    with TestClient(hub_app(ADMIN), follow_redirects=False) as client:
        assert sign_in(client).status_code == 303
        yield client


def post(client, path: str, **fields):
    return client.post(path, data={**fields, "csrf_token": csrf_of(client.get(EDITOR))})


def spec(name: str = "people"):
    with session() as db:
        return connector_spec(db, find_integration(db, f"acme/{name}"))


def test_the_editor_offers_the_partner_templates_fields_and_the_person_objects(operator):
    page = operator.get(EDITOR).text
    assert '<option value="name.first">' in page and '<option value="manager.email">' in page  # vendor fields
    assert '<option value="external_id">external_id (mapped)</option>' in page  # hub fields of a person
    assert "First choose the primary key" not in page  # the template's mapping has one


def test_primary_key_removed_then_ticked_and_assigned_again(operator):
    okta = "/customers/acme/integrations/staff/mapping"
    removed = post(operator, okta + "/remove", target="external_id")
    assert (removed.status_code, removed.headers["location"]) == (303, okta)
    page = operator.get(okta).text
    assert "It was the primary (sync) key: acme/staff has none now" in html.unescape(page)
    assert "First choose the primary key" in page and 'name="primary_key" value="true" checked' in page
    added = post(operator, okta, source="id", target="external_id", primary_key="true")
    assert added.status_code == 303
    assert "external_id is filled from &#39;id&#39; and is the primary key." in operator.get(okta).text
    assert spec("staff").sync_key == "external_id"


def test_a_field_with_transforms_type_default_and_required(operator):
    added = post(operator, EDITOR, source="profile.phone", target="phone", transforms="strip, {split: '-'}, {join: ''}",
                 type="str", default="none", required="true")
    assert added.status_code == 303
    rule = spec().mapping["phone"]
    assert (rule.source, rule.type, rule.default, rule.required, len(rule.transforms)) == (
        "profile.phone", "str", "none", True, 3)
    assert "source: profile.phone" in operator.get(EDITOR).text


def test_refusals_are_the_services_words_and_keep_what_was_typed(operator):
    unknown = post(operator, EDITOR, source="x.y", target="shoe_size")
    assert unknown.status_code == 422
    assert "shoe_size" in unknown.text and "its fields are external_id" in unknown.text
    bad = post(operator, EDITOR, source="email", target="email", transforms="shout")
    assert bad.status_code == 422 and "unknown transform &#39;shout&#39;" in bad.text
    assert 'value="shout"' in bad.text and 'id="field-source" name="source" list="vendor-fields" value="email"' in bad.text
    unread = post(operator, EDITOR, source="email", target="email", transforms="{map: ")
    assert unread.status_code == 422 and "cannot be read" in unread.text


def test_return_to_is_kept_only_when_it_is_a_path_of_this_console(operator):
    back = "/customers/acme/sources/demo-vendor"
    page = operator.get(EDITOR, params={"return_to": back}).text
    assert f'name="return_to" value="{back}"' in page and f'href="{back}" data-dialog-close>Done' in page
    added = post(operator, EDITOR, source="title", target="title", return_to=back)
    assert added.headers["location"] == EDITOR + "?return_to=%2Fcustomers%2Facme%2Fsources%2Fdemo-vendor"
    for elsewhere in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        page = operator.get(EDITOR, params={"return_to": elsewhere}).text
        assert "evil" not in page
