"""The Integration Manager (seed 003) in Chromium, as an operator uses it: the header, an action
request that runs for real (the session's Prefect server, the demo vendor) and reaches Completed
without a reload, the log's details with its flow run in the Prefect UI, and the API key shown once.
Screenshots at 1280 px and at phone width go to screenshots/."""

from __future__ import annotations

import asyncio
import contextvars
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from playwright.sync_api import expect

from tests.console.conftest import ADMIN
from tests.console.test_console_browser import onboard

PHONE = {"width": 390, "height": 844}
CUSTOMER = "demo-" + uuid.uuid4().hex[:6]  # its deployment and block go on the session's Prefect server, which
# outlives the module


@pytest.fixture(scope="module")
def hub_with_prefect(console_server, demo_vendor):
    """The shared console with the demo integration `CUSTOMER/assets` active, its credentials saved on the
    session's Prefect server through the console's API."""
    from prefect.settings import PREFECT_API_URL

    from ihub.demo import demo_spec

    block = f"{CUSTOMER}-token"
    spec = demo_spec(demo_vendor[0], auth={"type": "api_token", "block": block}).model_dump(mode="json",
                                                                                          exclude_none=True)
    with console_server.api() as api:
        api.timeout = httpx.Timeout(120)  # the web app's first Prefect call may import Prefect
        api.post("/credentials", json={"name": block, "type": "api_token", "secrets": {"token": demo_vendor[1].token}}
                 ).raise_for_status()
        api.post("/customers", json={"name": CUSTOMER}).raise_for_status()
        api.post(f"/customers/{CUSTOMER}/endpoints", json={"name": "vendor", "description": "the demo vendor"}
                 ).raise_for_status()
        api.post(f"/customers/{CUSTOMER}/integrations", json={"name": "assets", "endpoint": "vendor", "spec": spec}
                 ).raise_for_status()
        api.post(f"/customers/{CUSTOMER}/integrations/assets/activate").raise_for_status()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IHUB_DATABASE_URL", console_server.database_url)  # for _apply_deployment
        yield {"url": console_server.url, "api_url": PREFECT_API_URL.value()}
    assert demo_vendor[1].token.encode() not in console_server.log.read_bytes(), "the token reached the web app's log"


def _apply_deployment() -> None:
    """The integration's deployment on the Prefect server, as `ihub serve` makes it: in a thread of its own
    (Playwright's sync API holds this one's event loop), with this thread's Prefect settings (the server)."""
    from deployments.build import wanted_deployments
    from models.engine import session

    with session() as db:
        wanted = next(w for w in wanted_deployments(db) if w.name == f"{CUSTOMER}:assets")

    async def apply() -> None:
        await (await wanted.runner_deployment()).aapply()

    with ThreadPoolExecutor(1) as thread:
        thread.submit(contextvars.copy_context().run, asyncio.run, apply()).result()


def _signed_in(browser, url: str, viewport: dict):
    context = browser.new_context(base_url=url, viewport=viewport)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/sign-in")
    page.get_by_label("Admin token").fill(ADMIN)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/customers")
    return context, page


def test_a_requested_import_runs_and_reaches_completed_without_a_reload(browser, hub_with_prefect, screenshot):
    context, page = _signed_in(browser, hub_with_prefect["url"], {"width": 1280, "height": 900})
    try:
        page.goto(f"/customers/{CUSTOMER}/integrations/assets")
        header = page.locator(".manager-header")
        expect(header).to_contain_text("Last action-log update")
        expect(header).to_contain_text("Last heartbeat (phoned home)")
        expect(header.get_by_role("link", name="Open in the Prefect UI")).to_be_visible()
        page.get_by_role("link", name="Action Requests").click()
        page.get_by_label("Action").select_option(label="Import Assets (import)")
        page.get_by_role("button", name="Request").click()
        queued = page.locator(".flash.success")
        expect(queued).to_contain_text(re.compile(r"Request #\d+ queued: Import Assets \(action log #\d+\)"))
        log_id = re.search(r"action log #(\d+)", queued.inner_text())[1]  # ids of the shared hub's
        status = page.locator("tbody tr").first.locator('[data-field="status"]')
        assert status.inner_text() in {"Queued", "In Progress"}  # the page came back before the run ended
        page.evaluate("window.notReloaded = true")
        screenshot(page, "20-manager-request-queued")
        expect(status).to_have_text("Completed", timeout=90_000)
        assert page.evaluate("window.notReloaded") is True  # the status moved by itself
        screenshot(page, "21-manager-request-completed")

        page.get_by_role("link", name=f"#{log_id}", exact=True).click()
        details = page.locator(".subpanel")
        expect(details).to_contain_text("an action request")
        counts = page.locator(".counts")
        expect(counts.locator("dt:text-is('fetched') + dd")).to_have_text("60")
        run_link = details.locator("a[href*='/runs/flow-run/']")
        expect(run_link).to_contain_text("in the Prefect UI")
        ui = hub_with_prefect["api_url"].removesuffix("/api")
        assert re.fullmatch(re.escape(ui) + r"/runs/flow-run/[0-9a-f-]{36}", run_link.get_attribute("href"))
        screenshot(page, "22-manager-log-details")

        page.goto(f"/customers/{CUSTOMER}/integrations/assets")
        expect(page.locator("tbody tr").first).to_contain_text("Completed")
        expect(page.locator(".beat")).to_have_text("OK")
        screenshot(page, "23-manager-header-and-logs")
        page.get_by_role("link", name="Open in the Prefect UI").click()  # no `ihub serve` here: no deployment yet
        expect(page.locator("main")).to_contain_text(
            f"Prefect has no deployment sync-integration/{CUSTOMER}:assets yet")
        _apply_deployment()  # as `ihub serve` does
        answer = context.request.get(f"/customers/{CUSTOMER}/integrations/assets/deployment", max_redirects=0)
        assert answer.status == 303
        assert re.fullmatch(re.escape(ui) + r"/deployments/deployment/[0-9a-f-]{36}", answer.headers["location"])
    finally:
        context.close()


def test_the_manager_header_and_the_api_key_shown_once(page, console_server, screenshot):
    onboard(console_server, "customsoft-client", "crm")
    with console_server.api() as api:
        api.post("/customers/customsoft-client/integrations",
                 json={"name": "customsoft", "endpoint": "crm", "external": True, "author": "CustomSoft",
                       "support_contact": "support@customsoft.example"}).raise_for_status()
        api.post("/customers/customsoft-client/integrations/customsoft/actions",
                 json={"name": "Export Quote", "kind": "export"}).raise_for_status()
    page.goto("/customers/customsoft-client/integrations/customsoft")
    header = page.locator(".manager-header")
    expect(header).to_contain_text("CustomSoft")
    expect(header.get_by_role("link", name="support@customsoft.example")).to_have_attribute(
        "href", "mailto:support@customsoft.example")
    expect(header).to_contain_text("none (runs outside the hub)")
    screenshot(page, "24-manager-external-header")

    page.get_by_role("link", name="Action Requests").click()
    page.get_by_label("Record").fill("Q-1001")
    page.get_by_role("button", name="Request").click()
    expect(page.locator(".flash.success")).to_contain_text("Export Quote of Q-1001")
    expect(page.locator("tbody tr").first.locator('[data-field="status"]')).to_have_text("Queued")

    page.get_by_role("link", name="Connectivity").click()
    page.get_by_role("button", name="Generate API key").click()
    key = page.get_by_label("API key").input_value()
    assert key.startswith("ihk_") and len(key) > 40
    expect(page.get_by_text("it is shown only this once")).to_be_visible()
    screenshot(page, "25-manager-api-key-once")
    page.get_by_role("link", name="Connectivity").click()
    assert key not in page.content()
    expect(page.get_by_role("button", name="Rotate API key")).to_be_visible()
    expect(page.get_by_text("cannot be shown again")).to_be_visible()
    with console_server.api() as api:  # the key shown works for the integration itself
        heartbeat = api.post("/integration/heartbeat", headers={"Authorization": f"Bearer {key}"})
        assert heartbeat.status_code < 300, heartbeat.text


def test_the_manager_and_the_status_overview_fit_a_phone(browser, console_server, screenshot):
    context = browser.new_context(base_url=console_server.url, viewport=PHONE)
    try:
        page = context.new_page()
        page.goto("/sign-in")
        page.get_by_label("Admin token").fill(console_server.token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/customers")
        onboard(console_server, "phone-client", "crm", "phone")
        page.goto("/customers/phone-client/integrations/phone")
        expect(page.get_by_role("button", name="Filter")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(page, "26-manager-phone")
        page.goto("/status")
        expect(page.get_by_role("link", name="phone", exact=True)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(page, "27-status-phone")
    finally:
        context.close()
