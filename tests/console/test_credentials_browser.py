"""Credentials (seeds 002 and 004) in Chromium, clicked through as an operator would: New for each
type (API token in a header and in a query parameter, basic, OAuth2 client credentials, AWS, and
none, which saves nothing), the list with no secret anywhere in the page, Replace, Test against
the demo vendor on loopback, Delete refused while an integration uses them, and `return_to`.

The web app is the shared console, on the session's Prefect server (where the blocks go), with
loopback opened (IHUB_ALLOWED_HOSTS) for the demo vendor. Screenshots: screenshots/creds-*.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.console.conftest import Console
from tests.console.test_partners_browser import operator

SECRETS = {"token": "tok-" + uuid.uuid4().hex, "password": "pw-" + uuid.uuid4().hex,
           "client_secret": "cs-" + uuid.uuid4().hex, "secret_access_key": "sak-" + uuid.uuid4().hex}


@pytest.fixture(scope="module")
def creds_console(console_server, demo_vendor) -> Console:
    """The shared console; after this module's tests, none of their secrets in its log."""
    yield console_server
    log = console_server.log.read_bytes()
    for secret in [*SECRETS.values(), demo_vendor[1].token]:
        assert secret.encode() not in log, "a secret reached the web app's log"


@pytest.fixture
def tab(browser, creds_console):
    context, page = operator(browser, creds_console)
    try:
        yield page
    finally:
        context.close()


def unique(name: str) -> str:
    """Blocks outlive a test on the session's Prefect server: each test uses names of its own."""
    return f"{name}-{uuid.uuid4().hex[:6]}"


REACHED = 120_000  # ms: the web app loads Prefect in the background on its first credentials page


def credentials_page(page) -> None:
    """The Credentials list, once the web app has reached Prefect (until then, a page that refreshes itself)."""
    page.goto("/credentials")
    expect(page.get_by_role("link", name="+ New Credentials")).to_be_visible(timeout=REACHED)


def no_secret_in(page) -> None:
    html = page.content()
    for name, secret in SECRETS.items():
        assert secret not in html, f"the {name} is in the page"


def new_credentials(page, type_label: str, name: str, **fields: str) -> None:
    """New Credentials: the type, Next, then its fields by name (a select by its option's text)."""
    page.goto("/credentials")
    page.get_by_role("link", name="+ New Credentials").click()
    page.get_by_label(re.compile(f"^{type_label}")).check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name=f"New Credentials: {type_label}")).to_be_visible()
    page.locator("#field-name").fill(name)
    for field, value in fields.items():
        box = page.locator(f"#field-{field}")
        if box.evaluate("e => e.tagName") == "SELECT":
            box.select_option(label=value)
        else:
            box.fill(value)


def saved(page, name: str) -> None:
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash.success")).to_contain_text(f"credentials '{name}' created on the Prefect server at")


def test_new_credentials_of_each_type_are_listed_without_their_secrets(tab, screenshot):
    page = tab
    names = {kind: unique(kind.replace("_", "-")) for kind in ("header", "query", "basic", "oauth2", "aws")}
    page.goto("/customers")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Credentials").click()
    expect(page.get_by_text("Credentials are Prefect blocks, hub-wide, on the Prefect server at http://127.0.0.1:"))\
        .to_be_visible(timeout=REACHED)
    page.get_by_role("link", name="+ New Credentials").click()
    screenshot(page, "creds-01-new-choose-type")

    new_credentials(page, "API Token Authentication", names["header"], header_name="X-API-Key", prefix="",
                    token=SECRETS["token"])
    expect(page.get_by_label("Token")).to_have_attribute("type", "password")
    screenshot(page, "creds-02-new-api-token")
    saved(page, names["header"])

    new_credentials(page, "API Token Authentication", names["query"], placement="As a query parameter",
                    query_param="key", token=SECRETS["token"])
    saved(page, names["query"])

    new_credentials(page, "Basic Authentication", names["basic"], username="svc-reader")
    page.get_by_role("button", name="Save").click()  # no password
    expect(page.locator("#problem-password")).to_have_text("basic credentials need password")
    expect(page.get_by_label("Username")).to_have_value("svc-reader")
    page.get_by_label("Password").fill(SECRETS["password"])
    page.locator("#field-name").fill("Not A Name")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#problem-name")).to_contain_text("credentials name 'Not A Name' is not valid")
    expect(page.get_by_label("Password")).to_have_value("")  # a secret is never echoed back
    no_secret_in(page)
    screenshot(page, "creds-03-new-basic-refused")
    page.locator("#field-name").fill(names["basic"])
    page.get_by_label("Password").fill(SECRETS["password"])
    saved(page, names["basic"])

    new_credentials(page, "OAuth2 Authentication", names["oauth2"], token_url="https://auth.example.com/oauth/token",
                    client_id="hub-client", client_secret=SECRETS["client_secret"], scopes="assets.read users.read",
                    client_auth="HTTP Basic (client_secret_basic)")
    screenshot(page, "creds-04-new-oauth2")
    saved(page, names["oauth2"])

    new_credentials(page, "AWS Authentication", names["aws"], access_key_id="AKIDEXAMPLE",
                    secret_access_key=SECRETS["secret_access_key"], region="eu-west-1", service="execute-api")
    saved(page, names["aws"])

    page.get_by_role("link", name="+ New Credentials").click()
    page.get_by_label(re.compile("^No Authentication")).check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("status")).to_contain_text("nothing is saved here")
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    screenshot(page, "creds-05-new-none")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Credentials").click()
    rows = {kind: page.get_by_role("row", name=re.compile(name)) for kind, name in names.items()}
    expect(rows["header"]).to_contain_text("header_name X-API-Key")
    expect(rows["query"]).to_contain_text("placement query")
    expect(rows["query"]).to_contain_text("query_param key")
    expect(rows["basic"]).to_contain_text("username svc-reader")
    expect(rows["oauth2"]).to_contain_text("scopes assets.read users.read")
    expect(rows["oauth2"]).to_contain_text("client_auth basic")
    expect(rows["aws"]).to_contain_text("region eu-west-1")
    expect(rows["aws"]).to_contain_text("secret_access_key set")
    expect(rows["aws"]).to_contain_text("session_token not set")
    for row in rows.values():
        expect(row).to_contain_text("not used yet")
    no_secret_in(page)
    screenshot(page, "creds-06-list")


def test_replace_test_and_delete_refused_while_in_use(tab, creds_console, demo_vendor, screenshot):
    page, (url, data) = tab, demo_vendor
    from ihub.demo import demo_spec

    name = unique("vendor-token")
    spec = demo_spec(url, auth={"type": "api_token", "block": name}).model_dump(mode="json", exclude_none=True)
    with creds_console.api() as api:
        api.post("/credentials", json={"name": name, "type": "api_token", "secrets": {"token": "a-revoked-token"}}
                 ).raise_for_status()
        api.post("/customers", json={"name": "acme"}).raise_for_status()
        api.post("/customers/acme/endpoints", json={"name": "vendor", "description": "the demo vendor"}
                 ).raise_for_status()
        api.post("/customers/acme/integrations", json={"name": "assets", "endpoint": "vendor", "spec": spec}
                 ).raise_for_status()

    credentials_page(page)
    page.get_by_role("row", name=re.compile(name)).get_by_role("link", name=f"Replace {name}").click()
    expect(page.get_by_text("integration acme/assets", exact=True)).to_be_visible()
    expect(page.get_by_label("Integration")).to_have_value("acme/assets")
    page.get_by_role("button", name="Test").click()
    expect(page.locator("#problem-integration")).to_contain_text(
        "credentials rejected by Demo Asset Vendor (HTTP 401 on /api/v1/assets)")
    screenshot(page, "creds-07-test-refused")

    token = page.get_by_label("Token")
    expect(token).to_have_value("")
    expect(page.get_by_text("Set: leave blank to keep it")).to_be_visible()
    token.fill(data.token)
    page.get_by_role("button", name="Replace").click()
    expect(page.locator(".flash.success")).to_contain_text(f"credentials '{name}' updated (settings and secrets)")
    page.get_by_role("button", name="Test").click()
    expect(page.locator(".flash.success")).to_have_text(
        f"Test passed: credentials '{name}' work with acme/assets: Demo Asset Vendor answered HTTP 200 to GET "
        "/api/v1/assets.", timeout=30_000)
    assert data.token not in page.content()
    screenshot(page, "creds-08-test-passed")

    page.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("alert")).to_have_text(
        f"credentials '{name}' are used by integration acme/assets; point them at other credentials (or delete "
        "them) first")
    screenshot(page, "creds-09-delete-refused")
    with creds_console.api() as api:
        api.delete("/customers/acme/integrations/assets").raise_for_status()
    page.get_by_role("button", name="Delete").click()
    expect(page.locator(".flash.success")).to_contain_text(f"api_token credentials '{name}' deleted from the Prefect")
    expect(page.get_by_role("row", name=re.compile(name))).to_have_count(0)


def test_return_to_brings_the_new_credentials_back_and_refuses_another_site(tab, screenshot):
    page = tab
    name = unique("crm-login")
    credentials_page(page)
    page.goto("/credentials/new?return_to=" + "%2Fcustomers%3Ffrom%3Dsource-form")
    page.get_by_label(re.compile("^Basic Authentication")).check()
    page.get_by_role("button", name="Next").click()
    page.locator("#field-name").fill(name)
    page.get_by_label("Username").fill("svc")
    page.get_by_label("Password").fill(SECRETS["password"])
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/customers?from=source-form&credentials={name}")

    answer = page.goto("/credentials/new?return_to=https%3A%2F%2Fevil.example%2Fphish")
    assert answer.status == 422
    expect(page.get_by_role("heading", name="Not possible")).to_be_visible()
    expect(page.get_by_text("return_to must be a path of this console")).to_be_visible()
    screenshot(page, "creds-10-return-to-refused")


def test_the_credentials_screens_fit_a_phone(browser, creds_console, screenshot):
    context, page = operator(browser, creds_console, width=390)
    try:
        credentials_page(page)  # the web app has loaded Prefect: its API answers at once too
        with creds_console.api() as api:
            api.post("/credentials", json={"name": unique("phone-aws"), "type": "aws", "secrets": {
                "secret_access_key": SECRETS["secret_access_key"]}, "settings": {
                "access_key_id": "AKIDEXAMPLE", "region": "eu-west-1", "service": "execute-api"}}).raise_for_status()
        page.reload()
        screenshot(page, "creds-phone-01-list")
        page.goto("/credentials/new?type=oauth2")
        expect(page.locator("#field-client_secret")).to_have_attribute("type", "password")
        screenshot(page, "creds-phone-02-new-oauth2")
        for where in ("/credentials", "/credentials/new?type=oauth2"):
            page.goto(where)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{where} is {width} px wide on a 390 px screen"
        no_secret_in(page)
    finally:
        context.close()
