"""Seed 001 in Chromium, clicked through as an operator would: ADD PARTNERS from the catalog, then
CONNECT the demo vendor with a wrong key (Failed, with the vendor's reason) and the right one
(Enabled, Currently Connected ticked), with and without JavaScript, at 1280 px and phone width.

The web app is the shared console: its demo-vendor template points at the package's demo vendor on a
free port (not the template's 8765), and its connect runs use the session's Prefect server.
Screenshots go under screenshots/ (seed001-*).
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.console.conftest import Console


@pytest.fixture(scope="module")
def partner_console(console_server, demo_vendor) -> Console:
    """The shared console; after this module's tests, the vendor's key not in its log."""
    yield console_server
    assert demo_vendor[1].token.encode() not in console_server.log.read_bytes(), "the key reached the log"


CONNECTED = 60_000  # ms: the connect runs in the background, the page shows its end


def operator(browser, console: Console, width: int = 1280, javascript: bool = True):
    """A browser context signed in through the sign-in page."""
    context = browser.new_context(base_url=console.url, viewport={"width": width, "height": 900},
                                  java_script_enabled=javascript)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto("/sign-in")
    page.get_by_label("Admin token").fill(console.token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/customers")
    return context, page


def add_customer(console: Console, name: str) -> None:
    with console.api() as api:
        api.post("/customers", json={"name": name}).raise_for_status()


def connect(page, key: str) -> None:
    page.get_by_label("API Key").fill(key)
    page.get_by_label("Region").select_option("local")
    page.get_by_role("button", name="CONNECT").click()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_seed_001_add_partners_then_connect_wrong_key_then_right_key(browser, partner_console, demo_vendor,
                                                                     screenshot, javascript):
    customer = "seed001-js" if javascript else "seed001-nojs"
    shot = "seed001" if javascript else "seed001-nojs"
    add_customer(partner_console, customer)
    context, page = operator(browser, partner_console, javascript=javascript)
    try:
        page.goto(f"/customers/{customer}")
        page.get_by_role("link", name="Integrations", exact=True).click()
        expect(page.get_by_text(f"{customer} has no partner applications yet")).to_be_visible()
        page.get_by_role("link", name="ADD").click()
        expect(page.get_by_label(re.compile("^Okta"))).to_be_visible()
        page.get_by_role("button", name="ADD PARTNERS").click()  # nothing ticked
        expect(page.get_by_role("alert")).to_have_text("choose at least one partner application from the catalog")
        page.get_by_label(re.compile("^Demo Asset Vendor")).check()
        page.get_by_label(re.compile("^Okta")).check()
        screenshot(page, f"{shot}-01-add-partners")
        page.get_by_role("button", name="ADD PARTNERS").click()
        expect(page.locator(".flash.success")).to_contain_text(f"Added Demo Asset Vendor, Okta to {customer}")
        demo = page.get_by_role("row", name=re.compile("^Demo Asset Vendor"))
        expect(demo.locator(".status")).to_have_text("Available")
        expect(demo.get_by_role("checkbox")).not_to_be_checked()
        expect(demo.get_by_role("checkbox")).to_be_disabled()
        screenshot(page, f"{shot}-02-integrations-available")

        demo.get_by_role("link", name="Edit Demo Asset Vendor").click()
        expect(page.get_by_role("heading", name="Demo Asset Vendor")).to_be_visible()
        key = page.get_by_label("API Key")
        expect(key).to_have_attribute("type", "password")
        expect(key).to_have_attribute("autocomplete", "off")
        page.get_by_role("button", name="CONNECT").click()  # no key
        expect(page.locator("#problem-api_key")).to_have_text("api_key is missing")
        screenshot(page, f"{shot}-03-configuration-key-missing")

        wrong = "wrong-key-" + uuid.uuid4().hex[:8]
        connect(page, wrong)
        expect(page.get_by_role("alert")).to_have_text(
            "Failed: Demo Asset Vendor refused the connection test: HTTP 401 on GET /api/v1/users: "
            "invalid or missing API token", timeout=CONNECTED)
        expect(page.locator("#partner-status")).to_have_text("Failed")
        expect(page.get_by_label("API Key")).to_have_value("")
        assert wrong not in page.content()
        screenshot(page, f"{shot}-04-connect-failed")

        connect(page, demo_vendor[1].token)
        expect(page.get_by_role("status").filter(has_text="Enabled")).to_be_visible(timeout=CONNECTED)
        expect(page.locator("#partner-status")).to_have_text("Enabled")
        expect(page.get_by_role("checkbox", name="Currently connected")).to_be_checked()
        assert demo_vendor[1].token not in page.content()
        screenshot(page, f"{shot}-05-connect-enabled")

        page.get_by_role("link", name="Back to Integrations").click()
        demo = page.get_by_role("row", name=re.compile("^Demo Asset Vendor"))
        expect(demo.locator(".status")).to_have_text("Enabled")
        expect(demo.get_by_role("checkbox")).to_be_checked()
        expect(page.get_by_role("row", name=re.compile("^Okta")).get_by_role("checkbox")).not_to_be_checked()
        screenshot(page, f"{shot}-06-integrations-enabled")
    finally:
        context.close()


def test_seed_001_at_phone_width(browser, partner_console, screenshot):
    add_customer(partner_console, "seed001-phone")
    with partner_console.api() as api:
        api.post("/customers/seed001-phone/partners", json={"partners": ["okta", "aws-ssm"]}).raise_for_status()
    context, page = operator(browser, partner_console, width=390)
    try:
        page.goto("/customers/seed001-phone/partners")
        expect(page.get_by_role("link", name="Edit Okta")).to_be_visible()
        screenshot(page, "seed001-phone-01-integrations")
        page.get_by_role("link", name="ADD").click()
        screenshot(page, "seed001-phone-02-add-partners")
        page.goto("/customers/seed001-phone/partners/aws-ssm")
        expect(page.get_by_label("Secret Access Key")).to_have_attribute("type", "password")
        page.get_by_label("Access Key ID").fill("AKIAEXAMPLE")
        page.get_by_role("button", name="CONNECT").click()
        expect(page.locator("#problem-secret_access_key")).to_have_text("secret_access_key is missing")
        expect(page.get_by_label("Access Key ID")).to_have_value("AKIAEXAMPLE")  # kept: not a secret
        screenshot(page, "seed001-phone-03-configuration")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px screen"
    finally:
        context.close()
