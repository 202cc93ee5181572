"""Seed 002 in Chromium, clicked through as an operator would, against partners of the catalog (Okta, whose users
have no export, so their primary key can be removed; the demo vendor without JavaScript):
Create a new Integration Source (its authorization picked in the "See third-party service authorizations"
pop-up), "Add" a type of data (Inactive), Activate refused without a primary key, the Mapping pop-up (the
Primary key ticked and assigned first, then a field with transforms), Activate accepted, then Create an
integration: update types saved, e-mail alerts, a cron refused beside its field then saved, Activate.
Without JavaScript the same screens are plain pages. Screenshots go under screenshots/ (seed002-*).

The web app is the shared console, on the session's Prefect server, where the test saves the credentials
block to pick.
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import expect

from tests.console.test_partners_browser import add_customer, operator


@pytest.fixture(scope="module")
def authorization(console_server) -> str:
    """A credentials block of the type Okta and the demo vendor take (api_token), saved through the web app's REST API on the
    session's Prefect server."""
    name = f"demo-token-{uuid.uuid4().hex[:6]}"
    with console_server.api() as api:
        api.timeout = httpx.Timeout(120)  # the web app's first Prefect call imports Prefect: slow on a busy machine
        api.post("/credentials", json={"name": name, "type": "api_token", "secrets": {"token": uuid.uuid4().hex},
                                       "settings": {"header_name": "Authorization", "prefix": "Bearer"}}
                 ).raise_for_status()
    return name


def gear(page, configuration: str, item: str) -> None:
    page.get_by_label(f"Settings of {configuration}").click()
    menu = page.locator(".gear[open] .gear-menu")
    menu.get_by_role("link", name=item).or_(menu.get_by_role("button", name=item)).click()


def test_seed_002_source_mapping_activate_then_create_the_integration(browser, console_server, authorization,
                                                                      screenshot):
    customer = "seed002"
    add_customer(console_server, customer)
    context, page = operator(browser, console_server)
    try:
        page.goto(f"/customers/{customer}")
        page.get_by_role("link", name="Integration Source Configurations").click()
        expect(page.get_by_text(f"{customer} has no integration source yet")).to_be_visible()
        screenshot(page, "seed002-01-sources-empty")

        # Step 0: the source, its name and its authorization.
        page.get_by_role("link", name="Create a new Integration Source").click()
        page.get_by_label("Integration source").select_option(label="Okta")
        page.get_by_label("Name").fill("okta")
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#problem-credentials")).to_have_text(
            "choose the authorization from the third-party service authorizations")
        expect(page.get_by_label("Name")).to_have_value("okta")
        page.get_by_role("link", name="See third-party service authorizations").click()
        popup = page.locator("dialog.popup")
        expect(popup.get_by_role("heading", name="Third-party service authorizations")).to_be_visible()
        expect(popup.get_by_role("link", name="create new credentials")).to_have_attribute(
            "href", f"/credentials/new?return_to=%2Fcustomers%2F{customer}%2Fnew-source")
        screenshot(page, "seed002-02-authorizations-pop-up")
        popup.get_by_role("link", name=f"Select {authorization}").click()
        expect(popup).to_be_hidden()
        expect(page.get_by_label("Authorization")).to_have_value(authorization)
        screenshot(page, "seed002-03-new-source")
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".flash.success")).to_contain_text("Integration source 'okta' saved.")
        expect(page.get_by_role("heading", name="okta Okta")).to_be_visible()

        # The type of data to transfer: Inactive.
        page.locator("summary", has_text="Add").click()
        page.get_by_label("Type of data to transfer").select_option(label="Users")
        page.get_by_role("button", name="Add", exact=True).click()
        row = page.get_by_role("row", name=re.compile("^okta-users"))
        expect(row.locator(".status")).to_have_text("Inactive")
        screenshot(page, "seed002-04-data-transfer-inactive")

        # Activate refused without a primary key: the template's key removed in the Mapping pop-up first.
        gear(page, "okta-users", "Mapping")
        expect(popup.get_by_role("heading", name=re.compile("^Mapping"))).to_be_visible()
        popup.get_by_role("button", name="Remove external_id").click()
        expect(popup.get_by_text("It was the primary (sync) key")).to_be_visible()
        popup.get_by_role("link", name="Done").click()
        page.wait_for_load_state()
        gear(page, "okta-users", "Activate")
        expect(page.get_by_role("alert")).to_contain_text(
            f"cannot activate {customer}/okta-users: its mapping has no primary (sync) key")
        expect(page.get_by_role("row", name=re.compile("^okta-users")).locator(".status")).to_have_text("Inactive")
        screenshot(page, "seed002-05-activate-refused")

        # The Mapping pop-up: the Primary key first, then another field.
        gear(page, "okta-users", "Mapping")
        expect(popup.get_by_text("First choose the primary key")).to_be_visible()
        expect(popup.get_by_label("Primary key", exact=True)).to_be_checked()
        popup.get_by_label("Vendor field").fill("id")
        popup.get_by_label("Hub field").select_option("external_id")
        screenshot(page, "seed002-06-mapping-primary-key")
        popup.get_by_role("button", name="Add", exact=True).click()
        expect(popup.locator(".flash.success")).to_have_text("external_id is filled from 'id' and is the primary key.")
        expect(popup.get_by_role("checkbox", name="external_id is the primary key")).to_be_checked()
        popup.get_by_label("Vendor field").fill("profile.mobilePhone")
        expect(popup.get_by_label("Primary key", exact=True)).not_to_be_checked()
        popup.get_by_label("Hub field").select_option("phone")
        popup.locator("summary", has_text="Transforms").click()
        popup.get_by_label("Transforms").fill("strip")
        popup.get_by_role("button", name="Add", exact=True).click()
        expect(popup.get_by_role("row", name=re.compile("^phone source: profile.mobilePhone transforms=\\['strip'\\]"))).to_be_visible()
        screenshot(page, "seed002-07-mapping-added")
        popup.get_by_role("link", name="Done").click()
        page.wait_for_load_state()
        gear(page, "okta-users", "Activate")
        expect(page.locator(".flash.success")).to_have_text("Integration configuration 'okta-users' is Active.")
        expect(page.get_by_role("row", name=re.compile("^okta-users")).locator(".status")).to_have_text("Active")
        screenshot(page, "seed002-08-active")

        # Steps 1 to 4: Create an integration.
        page.get_by_role("navigation", name="Integration Configuration").get_by_role(
            "link", name="Integration Source Configurations").click()
        page.get_by_role("link", name="Create an integration").click()
        page.get_by_label("Integration configuration", exact=True).select_option("okta-users")
        page.get_by_role("button", name="Choose").click()
        page.locator("summary", has_text="Users").click()  # closes it ...
        page.locator("summary", has_text="Users").click()  # ... and shows the types of updates again
        page.get_by_label("deleted", exact=True).check()
        page.get_by_label(re.compile("^remove")).check()
        page.get_by_role("region", name="Type of updates").get_by_role("button", name="Save").click()
        expect(page.locator(".flash.success")).to_have_text(
            "Types of updates of 'okta-users' saved: created, updated, deleted.")
        page.get_by_label("E-mail address").fill("Ops@Example.com")
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.locator(".addresses")).to_contain_text("Ops@example.com")
        page.get_by_label("Error threshold (consecutive failed runs)").fill("3")
        page.get_by_role("region", name="Email alert").get_by_role("button", name="Save").click()
        expect(page.locator(".flash.success")).to_have_text("The error threshold is 3 consecutive failed runs.")
        expect(page.get_by_label("Cron")).to_have_value("0 2 * * *")  # daily by default
        page.get_by_label("Cron").fill("0 25 * * *")
        page.get_by_label("Time zone").fill("Europe/Atlantis")
        page.get_by_role("region", name="Schedule").get_by_role("button", name="Save").click()
        expect(page.locator("#problem-cron")).to_have_text(
            "'0 25 * * *' is not a valid cron expression: the hour field '25' is not in 0-23, "
            "e.g. '0 2 * * *' for 02:00 every day")
        expect(page.locator("#problem-timezone")).to_contain_text("'Europe/Atlantis' is not a time zone")
        expect(page.get_by_label("Cron")).to_have_value("0 25 * * *")
        screenshot(page, "seed002-09-cron-refused")
        page.get_by_label("Cron").fill("30 4 * * 1-5")
        page.get_by_label("Time zone").fill("Europe/Paris")
        page.get_by_role("region", name="Schedule").get_by_role("button", name="Save").click()
        expect(page.locator(".flash.success")).to_have_text("Schedule of 'okta-users' saved: 30 4 * * 1-5 (Europe/Paris).")
        page.get_by_role("button", name="Activate").click()
        expect(page.locator(".flash.success")).to_have_text("Integration 'okta-users' is Active.")
        expect(page.get_by_label("deleted", exact=True)).to_be_checked()
        screenshot(page, "seed002-10-create-integration")
    finally:
        context.close()
    with console_server.api() as api:
        saved = api.get(f"/customers/{customer}/integrations/okta-users").json()
    assert (saved["status"], saved["update_types"], saved["deleted_mode"]) == ("Active", ["created", "updated", "deleted"],
                                                                               "remove")
    assert (saved["alert_emails"], saved["error_threshold"]) == (["Ops@example.com"], 3)
    assert (saved["schedule"]["cron"], saved["schedule"]["timezone"]) == ("30 4 * * 1-5", "Europe/Paris")


def test_seed_002_without_javascript_the_pop_ups_are_pages(browser, console_server, authorization, screenshot):
    customer = "seed002-nojs"
    add_customer(console_server, customer)
    context, page = operator(browser, console_server, javascript=False)
    try:
        page.goto(f"/customers/{customer}/new-source")
        page.get_by_role("link", name="See third-party service authorizations").click()
        expect(page).to_have_url(re.compile(f"/customers/{customer}/authorizations\\?return_to="))
        page.get_by_role("link", name=f"Select {authorization}").click()
        expect(page).to_have_url(re.compile(f"/new-source\\?credentials={authorization}$"))
        expect(page.get_by_label("Authorization")).to_have_value(authorization)
        page.get_by_label("Integration source").select_option(label="Demo Asset Vendor")
        page.get_by_label("Name").fill("demo")
        page.get_by_role("button", name="Save").click()
        page.get_by_text("Add", exact=True).first.click()
        page.get_by_label("Type of data to transfer").select_option(label="Assets")
        page.get_by_role("button", name="Add", exact=True).click()
        gear(page, "demo-assets", "Mapping")
        expect(page).to_have_url(re.compile("/integrations/demo-assets/mapping\\?return_to="))
        page.get_by_label("Vendor field").fill("purchase.cost")
        page.get_by_label("Hub field").select_option("cost")
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.locator(".flash.success")).to_have_text("cost is filled from 'purchase.cost'.")
        screenshot(page, "seed002-nojs-mapping-page")
        page.get_by_role("link", name="Done").click()
        expect(page).to_have_url(re.compile(f"/customers/{customer}/sources/demo$"))
        gear(page, "demo-assets", "Activate")
        expect(page.get_by_role("row", name=re.compile("^demo-assets")).locator(".status")).to_have_text("Active")

        page.set_viewport_size({"width": 390, "height": 844})  # a phone: the gear menu stays on the screen
        page.get_by_label("Settings of demo-assets").click()
        menu = page.locator(".gear[open] .gear-menu").bounding_box()
        assert menu["x"] >= 0 and menu["x"] + menu["width"] <= 390, menu
        screenshot(page, "seed002-nojs-phone-source")
    finally:
        context.close()
