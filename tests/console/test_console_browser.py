"""The console in Chromium, clicked through as an operator would: seed 000's Integration Endpoint
screen, Customer Onboard, sign-in and a forged form. Each screen is saved under screenshots/."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def onboard(console_server, customer: str, endpoint: str | None = None, integration: str | None = None) -> None:
    """Set up through the REST API what a test needs besides the screen it drives."""
    with console_server.api() as api:
        api.post("/customers", json={"name": customer}).raise_for_status()
        if endpoint:
            api.post(f"/customers/{customer}/endpoints",
                     json={"name": endpoint, "description": "set up by the test"}).raise_for_status()
        if integration:
            api.post(f"/customers/{customer}/integrations",
                     json={"name": integration, "endpoint": endpoint, "external": True}).raise_for_status()


def flash(page):
    return page.locator(".flash.success")


def test_seed_000_integration_endpoint_add_edit_delete(page, console_server, screenshot):
    onboard(console_server, "seed000")
    page.goto("/customers")
    screenshot(page, "01-customer-onboard")
    page.get_by_role("link", name="Edit seed000").click()
    expect(page.get_by_role("heading", name="Integration Configuration seed000")).to_be_visible()
    screenshot(page, "02-integration-configuration")
    page.get_by_role("link", name="Integration Endpoint", exact=True).click()
    expect(page.get_by_text("seed000 has no integration endpoints yet")).to_be_visible()

    page.get_by_role("link", name="+ New Integration Endpoint").click()
    screenshot(page, "03-new-integration-endpoint")
    page.get_by_role("button", name="Submit").click()  # both mandatory fields empty
    expect(page.locator("#problem-name")).to_contain_text("endpoint name '' is not valid")
    expect(page.locator("#problem-description")).to_have_text("the description is mandatory")
    screenshot(page, "04-mandatory-fields")
    page.get_by_label("Name").fill("crm")
    page.get_by_label("Description").fill("Customer records")
    page.get_by_role("button", name="Submit").click()
    expect(flash(page)).to_have_text("Integration endpoint 'crm' added to seed000.")
    row = page.get_by_role("row", name=re.compile(r"^crm Customer records"))
    expect(row).to_be_visible()
    screenshot(page, "05-endpoint-added")

    row.get_by_role("link", name="Edit crm").click()
    name = page.get_by_label("Name")
    expect(name).to_have_value("crm")
    expect(name).not_to_be_editable()
    expect(page.get_by_label("Description")).to_have_value("Customer records")
    page.get_by_label("Description").fill("Customer records, EU region")
    screenshot(page, "06-edit-endpoint")
    page.get_by_role("button", name="Update").click()
    expect(flash(page)).to_have_text("Integration endpoint 'crm' of seed000 updated.")
    expect(page.get_by_role("row", name=re.compile(r"^crm Customer records, EU region"))).to_be_visible()

    with console_server.api() as api:  # an integration now uses the endpoint: deleting it is refused
        api.post("/customers/seed000/integrations",
                 json={"name": "crm-sync", "endpoint": "crm", "external": True}).raise_for_status()
    page.reload()
    page.get_by_role("link", name="Delete crm").click()
    expect(page.get_by_role("heading", name="Delete integration endpoint crm?")).to_be_visible()
    screenshot(page, "07-delete-confirmation")
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("alert")).to_have_text(
        "integration endpoint 'crm' is used by 1 integration(s): crm-sync; delete or move them first")
    screenshot(page, "08-delete-refused")

    with console_server.api() as api:
        api.delete("/customers/seed000/integrations/crm-sync").raise_for_status()
    page.get_by_role("button", name="Delete").click()
    expect(flash(page)).to_have_text("Integration endpoint 'crm' deleted from seed000.")
    expect(page.get_by_role("row", name=re.compile(r"^crm "))).to_have_count(0)
    screenshot(page, "09-endpoint-deleted")


def test_the_endpoint_screen_fits_a_phone(page, console_server, screenshot):
    onboard(console_server, "phone", endpoint="crm")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/customers/phone/endpoints")
    expect(page.get_by_role("link", name="+ New Integration Endpoint")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways page scroll
    screenshot(page, "10-endpoints-phone")
    page.get_by_role("link", name="Edit crm").click()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "11-edit-endpoint-phone")


def test_customer_onboard_create_rename_and_delete_refused_unless_forced(page, console_server, screenshot):
    page.goto("/customers")
    page.get_by_role("link", name="+ New Customer").click()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#problem-name")).to_contain_text("customer name '' is not valid")
    page.get_by_label("Name").fill("globex")
    page.get_by_role("button", name="Submit").click()
    expect(flash(page)).to_have_text("Customer 'globex' onboarded.")
    expect(page.get_by_role("link", name="Edit globex")).to_be_visible()
    page.get_by_role("link", name="+ New Customer").click()
    page.get_by_label("Name").fill("globex")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#problem-name")).to_have_text("customer 'globex' already exists")
    screenshot(page, "12-new-customer-taken")

    page.goto("/customers")
    page.get_by_role("link", name="Rename globex").click()
    page.get_by_label("New name").fill("globex-eu")
    page.get_by_role("button", name="Rename").click()
    expect(flash(page)).to_have_text("Customer 'globex' renamed to 'globex-eu'.")

    with console_server.api() as api:
        api.post("/customers/globex-eu/endpoints", json={"name": "erp", "description": "ERP"}).raise_for_status()
        api.post("/customers/globex-eu/integrations",
                 json={"name": "orders", "endpoint": "erp", "external": True}).raise_for_status()
    page.get_by_role("link", name="Delete globex-eu").click()
    expect(page.locator(".removed").first).to_have_text("orders")
    expect(page.locator(".removed").last).to_have_text("erp")
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("alert")).to_have_text(
        "customer 'globex-eu' has 1 integration(s): orders; delete them first, or force the deletion to remove "
        "them with the customer")
    screenshot(page, "13-delete-customer-refused")
    page.get_by_label("Also delete its 1 integration(s)").check()
    page.get_by_role("button", name="Delete").click()
    expect(flash(page)).to_have_text("Customer 'globex-eu' deleted. Removed its integrations (with their mappings, "
                                     "logs and records): orders. Removed its endpoints: erp.")
    expect(page.get_by_role("link", name="Edit globex-eu")).to_have_count(0)
    screenshot(page, "14-customer-deleted")


def test_sign_in_sign_out_and_a_forged_form_is_refused(browser, console_server, screenshot):
    context = browser.new_context(base_url=console_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto("/status")
        page.get_by_label("Admin token").fill("not-the-token")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#problem-token")).to_have_text("That is not the hub's admin token.")
        screenshot(page, "15-sign-in-refused")
        page.get_by_label("Admin token").fill(console_server.token)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Status")).to_be_visible()  # back where the operator was going
        screenshot(page, "16-status")

        page.goto("/new-customer")
        page.locator("main input[name=csrf_token]").evaluate("input => input.value = 'forged'")
        page.get_by_label("Name").fill("forged")
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_role("heading", name="Form refused")).to_be_visible()
        screenshot(page, "17-form-refused")
        without = context.request.post("/new-customer", form={"name": "forged"}, max_redirects=0)
        assert without.status == 403
        page.goto("/customers")
        expect(page.get_by_role("link", name="Edit forged")).to_have_count(0)

        page.get_by_role("button", name="Sign out").click()
        expect(flash(page)).to_have_text("Signed out.")
        page.goto("/customers")
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    finally:
        context.close()
