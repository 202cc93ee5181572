"""The console's rules without a browser (TestClient, SQLite): sign-in, the session cookie, CSRF,
escaping, and the services' refusals beside the fields they concern."""

from __future__ import annotations

import base64
import re

import pytest
from fastapi.testclient import TestClient

from models.customers import list_customers
from models.engine import session
from tests.conftest import hub_app

ADMIN = "admin-console-token"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page) -> str:
    return CSRF.search(page.text).group(1)


def sign_in(client: TestClient, token: str = ADMIN, next_: str = "/customers"):
    csrf = csrf_of(client.get("/sign-in"))
    return client.post("/sign-in", data={"token": token, "next": next_, "csrf_token": csrf}, follow_redirects=False)


@pytest.fixture
def anonymous(sqlite_url):
    with TestClient(hub_app(ADMIN), follow_redirects=False) as client:
        yield client


@pytest.fixture
def operator(anonymous):
    assert sign_in(anonymous).status_code == 303
    return anonymous


def post_form(client: TestClient, path: str, **fields):
    csrf = csrf_of(client.get(path))
    return client.post(path, data={**fields, "csrf_token": csrf})


def test_pages_need_sign_in_and_only_the_admin_token_opens_them(anonymous):
    answer = anonymous.get("/customers/acme/endpoints")
    assert (answer.status_code, answer.headers["location"]) == (303, "/sign-in?next=%2Fcustomers%2Facme%2Fendpoints")
    refused = sign_in(anonymous, token="not-the-token")
    assert refused.status_code == 401 and "That is not the hub&#39;s admin token." in refused.text
    assert anonymous.get("/customers").status_code == 303
    signed_in = sign_in(anonymous, next_="/customers/acme/endpoints")
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/customers/acme/endpoints")
    assert anonymous.get("/customers").status_code == 200


def test_sign_in_never_sends_the_operator_to_another_site(anonymous):
    assert sign_in(anonymous, next_="//evil.example/x").headers["location"] == "/customers"


def test_the_session_cookie_is_signed_httponly_samesite_and_holds_no_secret(anonymous):
    answer = sign_in(anonymous)
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("ihub_console=") and "httponly" in cookie and "samesite=lax" in cookie
    payload = cookie.split("=", 1)[1].split(".", 1)[0]
    assert ADMIN not in base64.b64decode(payload + "==").decode()
    anonymous.cookies.set("ihub_console", cookie.split("=", 1)[1].split(";")[0][:-4] + "AAAA")  # tampered
    assert anonymous.get("/customers").status_code == 303


def test_a_form_without_the_session_csrf_token_changes_nothing(operator):
    for data in ({"name": "acme"}, {"name": "acme", "csrf_token": "forged"}):
        answer = operator.post("/new-customer", data=data)
        assert answer.status_code == 403 and "did not come from this console session" in answer.text
    assert operator.post("/sign-out", data={}).status_code == 403
    with session() as db:
        assert list_customers(db) == []
    assert post_form(operator, "/new-customer", name="acme").status_code == 303
    with session() as db:
        assert [c.name for c in list_customers(db)] == ["acme"]


def test_endpoint_form_puts_each_problem_beside_its_field(operator):
    post_form(operator, "/new-customer", name="acme")
    answer = post_form(operator, "/customers/acme/endpoints/new", name="", description=" ")
    assert answer.status_code == 422
    beside = dict(re.findall(r'<p class="problem" id="problem-(\w+)">([^<]*)</p>', answer.text))
    assert beside["description"] == "the description is mandatory"
    assert beside["name"].startswith("endpoint name &#39;&#39; is not valid")

    assert post_form(operator, "/customers/acme/endpoints/new", name="crm", description="CRM").status_code == 303
    renamed = post_form(operator, "/customers/acme/endpoints/crm/edit", name="other", description="CRM")
    assert renamed.status_code == 422
    assert "the name of integration endpoint &#39;crm&#39; cannot be changed" in renamed.text
    taken = post_form(operator, "/customers/acme/endpoints/new", name="crm", description="again")
    assert 'id="problem-name">customer &#39;acme&#39; already has an integration endpoint named' in taken.text


def test_what_an_operator_typed_is_escaped_and_no_page_shows_the_token(operator):
    post_form(operator, "/new-customer", name="acme")
    post_form(operator, "/customers/acme/endpoints/new", name="crm", description="<script>alert(1)</script>")
    grid = operator.get("/customers/acme/endpoints")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in grid.text and "<script>" not in grid.text
    pages = ["/customers", "/customers/acme", "/customers/acme/endpoints", "/customers/acme/endpoints/new",
             "/customers/acme/endpoints/crm/edit", "/customers/acme/endpoints/crm/delete", "/customers/acme/partners",
             "/customers/acme/integrations", "/customers/acme/rename", "/customers/acme/delete", "/status", "/sign-in"]
    for path in pages:
        answer = operator.get(path)
        assert answer.status_code == 200, path
        assert ADMIN not in answer.text, path
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_a_missing_customer_is_the_services_own_words(operator):
    answer = operator.get("/customers/nobody/endpoints")
    assert answer.status_code == 404 and "no customer &#39;nobody&#39;" in answer.text


def test_console_routes_stay_out_of_the_api_document(anonymous):
    paths = anonymous.get("/openapi.json").json()["paths"]
    assert paths and all(path.startswith("/api/v1/") for path in paths)


def test_an_integration_shows_on_status_its_customer_list_and_its_manager_page(operator):
    api = {"Authorization": f"Bearer {ADMIN}"}
    operator.post("/api/v1/customers", json={"name": "acme"}, headers=api)
    operator.post("/api/v1/customers/acme/endpoints", json={"name": "crm", "description": "CRM"}, headers=api)
    operator.post("/api/v1/customers/acme/integrations", headers=api,
                  json={"name": "contacts", "endpoint": "crm", "external": True, "author": "Ada <b>L</b>"})
    link = 'href="/customers/acme/integrations/contacts">contacts</a>'
    assert link in operator.get("/status").text
    assert link in operator.get("/customers/acme/integrations").text
    manager = operator.get("/customers/acme/integrations/contacts").text
    assert "Integration Manager <span class=\"subject\">contacts</span>" in manager
    assert "Ada &lt;b&gt;L&lt;/b&gt;" in manager and ">Inactive<" in manager
    assert operator.get("/customers/acme/integrations/nothing").status_code == 404
