"""The universal connector (seed 004) in Chromium, as an operator builds one against the demo vendor on
loopback: each guided step refusing a bad value beside its field; from a new customer to a scheduled,
tested, synced integration entirely in the browser (a wrong records path that Test explains and whose
applied suggestion fixes it, "Run now" reaching Completed with the records in the hub, the spec edited
as YAML while it is Active without losing them). Screenshots go under screenshots/ (seed004-*).

The web app is the shared console, on the session's Prefect server (the console runs the flow itself:
Run now needs Prefect's API, not its services), with loopback allowed for the package's demo vendor
(60 assets); the credentials are created on the console's own Credentials page, from step 2, under a
name of this run's, since blocks outlive a module on that server.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from sqlmodel import func, select

from tests.console.conftest import ADMIN
from tests.console.test_console_manager_browser import _signed_in

TOKEN_BLOCK = "demo-vendor-token-" + uuid.uuid4().hex[:6]
RUN = 90_000  # ms: Run now's flow run, under the load of a shared machine
REACHED = 120_000  # ms: the web app's first reach of Prefect's server, Prefect's import included
DOCS = Path(__file__).resolve().parents[2] / "docs"


def docs_screenshot(target, name: str) -> None:
    """With IHUB_DOCS_SCREENSHOTS=1, the README's picture of this screen: docs/<name>.png (the viewport,
    or one element)."""
    if os.environ.get("IHUB_DOCS_SCREENSHOTS") == "1":
        if hasattr(target, "goto"):  # a page: from its top
            target.evaluate("window.scrollTo(0, 0)")
        target.screenshot(path=DOCS / f"{name}.png")


@pytest.fixture(scope="module")
def connector_hub(console_server, demo_vendor):
    """The shared console and the demo vendor; the test process reads the console's hub (stored_assets)."""
    from prefect.settings import PREFECT_API_URL

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IHUB_DATABASE_URL", console_server.database_url)
        yield {"url": console_server.url, "vendor": demo_vendor[0], "api_url": PREFECT_API_URL.value(),
               "token": demo_vendor[1].token}
    assert demo_vendor[1].token.encode() not in console_server.log.read_bytes(), "the token reached the web app's log"


@pytest.fixture
def operator(browser, connector_hub):
    context, page = _signed_in(browser, connector_hub["url"], {"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    try:
        yield page
    finally:
        context.close()


def fill_step_1(page, vendor_url: str, records_path: str, **values: str) -> None:
    """Step 1 of a new connector for the demo vendor's assets (limit-offset, its total at meta.total);
    `values` by field name (offset-limit: the Limit/Offset block's Limit)."""
    fields = {"vendor": "Demo Asset Vendor", "base_url": vendor_url, "path": "/api/v1/assets",
              "records_path": records_path, "offset-limit": "25", "offset-total_path": "meta.total", **values}
    page.get_by_label("Limit/Offset").check()  # which shows its fields
    for name, value in fields.items():
        page.locator(f"#field-{name}").fill(value)


def beside(page, field: str):
    return page.locator(f"#problem-{field}")


def stored_assets(customer: str, name: str) -> int:
    """Asset records stored in the hub for the integration (the hub's database, as the web app writes it)."""
    from models.engine import session
    from models.integrations import find_integration
    from models.targets import TABLES

    with session() as db:
        integration = find_integration(db, f"{customer}/{name}")
        table = TABLES["asset"]
        return db.exec(select(func.count()).select_from(table).where(table.integration_id == integration.id)).one()


def test_each_guided_step_refuses_a_bad_value_beside_its_field(operator, connector_hub, screenshot):
    page = operator
    with httpx.Client(base_url=f"{connector_hub['url']}/api/v1", headers={"Authorization": f"Bearer {ADMIN}"}) as api:
        api.post("/customers", json={"name": "refusals"}).raise_for_status()
        api.post("/customers/refusals/endpoints", json={"name": "vendor", "description": "the demo vendor"}
                 ).raise_for_status()
    page.goto("/customers/refusals/connector/new?endpoint=vendor")
    expect(page.get_by_label("Integration endpoint")).to_have_value("vendor")
    page.locator("#field-name").fill("assets")
    fill_step_1(page, "ftp://127.0.0.1", "$.data.assets", **{"offset-limit": "0", "params": "status"})
    page.get_by_role("button", name="Save and continue").click()
    expect(beside(page, "params")).to_contain_text("is not name=value")
    page.get_by_label("Parameters").fill("")
    page.get_by_role("button", name="Save and continue").click()
    expect(beside(page, "base_url")).to_have_text("must start with http:// or https://")
    expect(beside(page, "offset-limit")).to_have_text("should be greater than 0")
    screenshot(page, "seed004-1-add-the-integration-refused")
    fill_step_1(page, connector_hub["vendor"], "$.data.assets")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator(".flash.success")).to_contain_text("Integration 'assets' added (Inactive)")

    expect(page.get_by_label("Credentials")).to_have_value("none")
    page.get_by_role("button", name="Save and continue").click()  # None: an open API is a choice too
    page.get_by_label("Cron").fill("0 25 * * *")
    page.get_by_label("Time zone").fill("Mars/Olympus")
    page.get_by_role("button", name="Save and continue").click()
    expect(beside(page, "cron")).to_contain_text("'0 25 * * *'")
    expect(beside(page, "timezone")).to_contain_text("'Mars/Olympus' is not a time zone")
    screenshot(page, "seed004-3-schedule-refused")

    page.get_by_role("link", name="Launch", exact=True).click()
    page.get_by_role("button", name="Activate").click()
    expect(page.locator(".flash.problem")).to_contain_text("its mapping has no primary (sync) key")
    page.get_by_role("link", name="Edit the spec as YAML").click()
    spec = page.get_by_label("Spec (YAML)")
    spec.fill(spec.input_value().replace("limit: 25", "limit: many") + "mapping:\n  external_id: id\n")
    page.get_by_role("button", name="Save").click()
    line = next(n for n, text in enumerate(spec.input_value().splitlines(), 1) if "limit: many" in text)
    expect(page.locator(".yaml-lines .bad")).to_contain_text(f"line {line}: pagination.limit: should be a valid integer")
    screenshot(page, "seed004-yaml-refused")
    spec.fill(spec.input_value().replace("limit: many", "limit: 25"))
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash.success")).to_contain_text("Spec saved")
    page.get_by_role("link", name="Map fields", exact=True).click()
    page.get_by_role("button", name="Save and continue").click()  # no sync field chosen
    expect(beside(page, "sync_key")).to_contain_text("is not mapped")
    screenshot(page, "seed004-4-map-fields-refused")


def test_from_a_new_customer_to_a_scheduled_tested_synced_connector_in_the_browser(
        operator, connector_hub, screenshot):
    page = operator
    page.goto("/customers")
    page.get_by_role("link", name="+ New Customer").click()
    page.get_by_label("Name").fill("initech")
    page.get_by_role("button", name="Submit").click()
    page.get_by_role("link", name="Edit initech").click()
    page.get_by_role("link", name="+ New universal connector").click()

    # 1. Add the integration, with a records path that finds nothing
    page.locator("#field-name").fill("assets")
    page.get_by_label("Integration endpoint").select_option(label="Create a new endpoint (below)")
    page.get_by_label("New endpoint's name").fill("demo-vendor")
    page.get_by_label("New endpoint's description").fill("The demo vendor's API")
    fill_step_1(page, connector_hub["vendor"], "$.assets")
    screenshot(page, "seed004-1-add-the-integration")
    docs_screenshot(page, "connector-step-1")
    page.get_by_role("button", name="Save and continue").click()

    # 2. Add credentials: created on the Credentials page, which comes back here with them chosen
    expect(page.locator(".steps [aria-current=step]")).to_have_text("Add credentials")
    page.get_by_role("link", name="Create credentials").click()
    page.get_by_label(re.compile("^API Token Authentication")).check()
    page.get_by_role("button", name="Next").click()
    # the page refreshes itself while the web app first reaches Prefect's server (tens of seconds under load)
    expect(page.locator("#field-name")).to_be_visible(timeout=REACHED)
    page.locator("#field-name").fill(TOKEN_BLOCK)
    page.get_by_label("Token").fill(connector_hub["token"])
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/connector/credentials?credentials={TOKEN_BLOCK}")
    expect(page.get_by_label("Credentials")).to_have_value(f"api_token:{TOKEN_BLOCK}")
    screenshot(page, "seed004-2-add-credentials")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator(".flash.success")).to_contain_text(f"uses credentials '{TOKEN_BLOCK}' (api_token)")

    # Test: the wrong records path explained, its suggestion applied, then the records found
    page.get_by_role("button", name="Test").click()
    report = page.locator(".report")
    expect(report).to_contain_text("record path '$.assets' is not in the Demo Asset Vendor response")
    expect(report).to_contain_text("Records at $.assets: 0 in 0 page(s)")
    expect(report).to_contain_text("The answer's top-level keys: data, meta")
    expect(report.locator(".diff")).to_contain_text("+  path: $.data.assets")
    expect(report.locator(".requests")).to_contain_text("/api/v1/assets?limit=25&offset=0")
    assert connector_hub["token"] not in page.content()
    screenshot(page, "seed004-test-wrong-records-path")
    docs_screenshot(report, "connector-test")
    report.get_by_role("button", name="Apply").click()
    expect(page.locator(".flash.success")).to_contain_text("Spec saved")
    page.get_by_role("button", name="Test").click()
    expect(report).to_contain_text("Records at $.data.assets: 50 in 2 page(s) (offset 0, offset 25)")
    expect(report.locator(".records tbody tr")).to_have_count(20)
    expect(report).to_contain_text("GET " + connector_hub["vendor"] + "/api/v1/assets?limit=25&offset=50")
    expect(report.locator(".stop")).to_contain_text("the test stopped after 2 page(s)")
    screenshot(page, "seed004-test-fixed")

    # 3. Schedule
    page.get_by_role("link", name="Schedule", exact=True).click()
    expect(page.get_by_label("Cron")).to_have_value("0 2 * * *")  # daily by default
    page.get_by_label("Cron").fill("30 6 * * 1-5")
    page.get_by_label("Time zone").fill("Europe/Paris")
    page.get_by_role("button", name="Save and continue").click()

    # 4. Map fields: the primary key first, then the others, in the mapping editor; Done leads to Launch
    expect(page.locator(".empty")).to_have_text("No field is mapped yet.")
    page.get_by_role("link", name="Map fields", exact=True).last.click()
    for source, target in (("id", "external_id"), ("name", "name"), ("model.name", "model"), ("status", "status")):
        page.get_by_label("Vendor field").fill(source)
        if target == "external_id":
            page.get_by_label("Primary key").check()
        page.get_by_label("Hub field").select_option(target)
        page.get_by_role("button", name="Add").click()
        expect(page.locator("table")).to_contain_text(target)
    screenshot(page, "seed004-4-map-fields")
    page.get_by_role("link", name="Done").click()

    # 5. Launch, then Run now
    expect(page.locator(".launch")).to_contain_text("30 6 * * 1-5 (Europe/Paris)")
    page.get_by_role("button", name="Activate").click()
    expect(page.locator(".heading .status")).to_have_text("Active")
    screenshot(page, "seed004-5-launch")
    page.get_by_role("button", name="Run now").click()
    status = page.locator('[data-field="status"]')
    assert status.inner_text() in {"Queued", "In Progress"}
    screenshot(page, "seed004-run-now-started")
    expect(status).to_have_text("Completed", timeout=RUN)
    counts = page.locator(".counts")
    expect(counts.locator("dt:text-is('inserted') + dd")).to_have_text("60")
    flow_run = page.locator("a[href*='/runs/flow-run/']")
    ui = connector_hub["api_url"].removesuffix("/api")
    assert re.fullmatch(re.escape(ui) + r"/runs/flow-run/[0-9a-f-]{36}", flow_run.get_attribute("href"))
    screenshot(page, "seed004-run-now-completed")
    docs_screenshot(page.locator(".panel"), "connector-run-now")
    assert stored_assets("initech", "assets") == 60

    # The spec of the Active integration, edited as YAML: its records, schedule and status stay
    page.goto("/customers/initech/integrations/assets/spec")
    spec = page.get_by_label("Spec (YAML)")
    spec.fill(spec.input_value().replace("sync_key: external_id", "sync_key: name"))
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash.problem")).to_contain_text("the 60 asset records stored could not be matched")
    expect(page.get_by_label("Force: delete the stored records")).not_to_be_checked()
    spec.fill(spec.input_value().replace("sync_key: name", "sync_key: external_id").replace("limit: 25", "limit: 40"))
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash.success")).to_contain_text("60 stored records, the action logs, the sync state "
                                                           "and the API key kept; schedule kept")
    screenshot(page, "seed004-yaml-edited")
    assert stored_assets("initech", "assets") == 60
    page.goto("/customers/initech/integrations/assets")
    expect(page.locator(".heading .status")).to_have_text("Active")
    expect(page.locator(".manager-header")).to_contain_text("30 6 * * 1-5 (Europe/Paris)")
