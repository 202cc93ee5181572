"""The partner catalog (seed 001): templates, regions, credentials, connecting, and syncing each partner.

Every partner API runs as a loopback emulator (tests/partner_apis.py) that checks credentials and
answers errors the way the real one does; the shipped templates are pointed at it.
"""

from datetime import date

import httpx
import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from blocks import ApiTokenCredentials, AwsCredentials, BasicCredentials
from blocks.credentials import CREDENTIAL_FIELDS, credentials_block
from flows.connect import connect_endpoint
from flows.sync import sync_integration
from ihub.demo import DEMO_SPEC
from models.config import EndpointStatus, IntegrationEndpoint, IntegrationSource
from models.customers import create_customer
from models.endpoints import add_partners, get_endpoint
from models.engine import session
from models.errors import CredentialsNotFound, HubError, NotFound, VendorError
from models.integrations import onboard
from models.partners import TEMPLATES, PartnerError, catalog, get_partner, load_catalog
from models.records import Asset, Person
from models.spec import ConnectorSpec
from tasks.connect import check_connection
from tests.partner_apis import Okta, ServiceNow, SnipeIt, Ssm, serving, snipeit_cost

PARTNERS = ["aws-ssm", "demo-vendor", "okta", "servicenow", "snipe-it"]


# --- the catalog ---------------------------------------------------------------------------------


def test_every_template_loads_and_every_data_type_is_a_valid_connector_spec():
    assert list(catalog()) == PARTNERS
    for slug, partner in catalog().items():
        assert partner.slug == slug and partner.author and partner.support_contact and partner.description
        assert partner.auth_type in CREDENTIAL_FIELDS
        region, url = next(iter(partner.regions.items()))
        base_url = partner.base_url(region, "acme" if "{tenant}" in url else None)
        for name, data_type in partner.data_types.items():
            spec = partner.spec_for(name, base_url, "some-block")
            assert isinstance(spec, ConnectorSpec) and data_type.label
            assert (spec.vendor, spec.auth.type, spec.auth.block) == (partner.name, partner.auth_type, "some-block")
            assert spec.request.url.startswith(base_url) and spec.sync_key in spec.mapping


def test_the_demo_vendor_data_types_are_the_shipped_demo_specs():
    demo = get_partner("demo-vendor")
    for data_type, shipped in (("assets", DEMO_SPEC), ("users", DEMO_SPEC.with_name("demo-vendor-users.yaml"))):
        spec = demo.spec_for(data_type, demo.base_url("local"), "demo-vendor-token")
        assert spec == ConnectorSpec.from_yaml(shipped)


def test_auth_settings_become_block_fields():
    assert get_partner("okta").block_settings() == {"header_name": "Authorization", "prefix": "SSWS"}
    assert get_partner("aws-ssm").block_settings() == {"service": "ssm"}
    assert get_partner("servicenow").block_settings() == {}


def test_a_template_that_does_not_validate_names_its_file_and_fields(tmp_path):
    text = (TEMPLATES / "okta.yaml").read_text()
    broken = tmp_path / "okta.yaml"
    broken.write_text(text.replace("prefix: SSWS", "prefix: SSWS\n  service: ssm")
                      .replace("type: advanced", "type: sideways", 1)  # the users data type's
                      .replace("https://{tenant}.okta-emea.com", "https://okta-emea.com/{tenant}"))
    with pytest.raises(PartnerError) as failed:
        load_catalog(tmp_path)
    assert str(failed.value).splitlines() == [
        f"{broken}: regions: region 'okta-emea': {{tenant}} belongs in the host name, "
        "e.g. https://{tenant}.example.com",
        f"{broken}: auth: service is not a setting of api_token auth; it takes header, prefix, placement, param",
        f"{broken}: data_types.users.pagination: unknown type 'sideways'; expected one of "
        "'none', 'offset', 'page', 'cursor', 'advanced'",
    ]
    broken.write_text(text.replace("sync_key: external_id", "sync_key: login")
                      .replace("    request:\n      path:", "    vendor: Okta\n    request:\n      path:"))
    with pytest.raises(PartnerError, match=r"okta.yaml: data_types.users: vendor is the partner's name; leave it out"):
        load_catalog(tmp_path)
    broken.write_text(text.replace("sync_key: external_id", "sync_key: login"))
    with pytest.raises(PartnerError, match=r"okta.yaml: data_types.users: sync_key 'login' is not a mapped field"):
        load_catalog(tmp_path)


OKTA_URL = "https://{tenant}.okta.com"
ONE_LABEL = "give one host label (letters, digits and inner '-'), e.g. acme"


def test_regions_and_tenants():
    okta, snipe, ssm = get_partner("okta"), get_partner("snipe-it"), get_partner("aws-ssm")
    assert okta.base_url("okta-emea", "Acme") == "https://acme.okta-emea.com"
    assert snipe.base_url("self-hosted", "assets.example.com:8443") == "https://assets.example.com:8443"
    assert ssm.base_url("eu-west-1") == "https://ssm.eu-west-1.amazonaws.com"
    refusals = {
        ("okta", "mars", "acme"): "Okta has no region 'mars'; its regions are: okta, okta-emea, oktapreview",
        ("okta", "okta", None): "region 'okta' of Okta needs your tenant: the {tenant} in https://{tenant}.okta.com",
        ("okta", "okta", "a.okta.com"): f"tenant 'a.okta.com' cannot be the {{tenant}} in {OKTA_URL}: {ONE_LABEL}",
        ("okta", "okta", "acme/../evil"): f"tenant 'acme/../evil' cannot be the {{tenant}} in {OKTA_URL}: {ONE_LABEL}",
        ("snipe-it", "self-hosted", "assets example"): "tenant 'assets example' cannot be the {tenant} in "
                                                       "https://{tenant}: give a host name, e.g. assets.example.com",
        ("aws-ssm", "eu-west-1", "acme"): "region 'eu-west-1' of AWS Systems Manager takes no tenant: "
                                          "https://ssm.eu-west-1.amazonaws.com serves every customer",
    }
    for (slug, region, tenant), message in refusals.items():
        with pytest.raises(PartnerError) as refused:
            get_partner(slug).base_url(region, tenant)
        assert str(refused.value) == message


def test_unknown_partners_and_data_types_are_named_with_what_exists():
    with pytest.raises(PartnerError) as refused:
        get_partner("salesforce")
    assert str(refused.value) == f"no partner application 'salesforce'; the catalog has: {', '.join(PARTNERS)}"
    with pytest.raises(PartnerError) as refused:
        get_partner("snipe-it").spec_for("licenses", "https://assets.example.com", "block")
    assert str(refused.value) == "Snipe-IT has no data type 'licenses'; its data types are: hardware, users"
    assert isinstance(refused.value, HubError)


# --- credentials blocks ----------------------------------------------------------------------------


def test_credentials_blocks_of_each_type_carry_the_template_settings():
    okta = credentials_block("api_token", {"api_key": " 00abc-token\n"}, get_partner("okta").block_settings())
    assert isinstance(okta, ApiTokenCredentials)
    request = httpx.Request("GET", "https://acme.okta.com/api/v1/users")
    next(okta.auth().auth_flow(request))
    assert request.headers["Authorization"] == "SSWS 00abc-token"

    basic = credentials_block("basic", {"username": "hub", "password": "pw"}, {}, region="servicenow")
    assert isinstance(basic, BasicCredentials) and basic.username == "hub"

    aws = credentials_block("aws", {"access_key_id": "AKIA1", "secret_access_key": "s3", "session_token": None},
                            {"service": "ssm"}, region="eu-west-1")
    assert isinstance(aws, AwsCredentials)
    assert (aws.region, aws.service, aws.session_token) == ("eu-west-1", "ssm", None)


def test_missing_and_unexpected_credentials_are_named_and_no_secret_is_shown():
    cases = {
        ("api_token", ("password",)): "API-token credentials need api_key: api_key is missing; "
                                      "password is not used by them",
        ("basic", ("password", "secret_access_key")): "Basic credentials need username and password: username is "
                                                      "missing; secret_access_key is not used by them",
        ("aws", ("access_key_id",)): "AWS credentials need access_key_id and secret_access_key "
                                     "(optionally session_token): secret_access_key is missing",
    }
    for (auth_type, given), message in cases.items():
        secrets = {name: f"secret-value-{name}" for name in given}
        with pytest.raises(HubError) as refused:
            credentials_block(auth_type, secrets, {}, region="eu-west-1")
        assert str(refused.value) == message
        assert "secret-value" not in str(refused.value)
    with pytest.raises(HubError, match="api_key is missing"):
        credentials_block("api_token", {"api_key": "   "}, {})
    with pytest.raises(HubError, match="^AWS credentials need the region to sign requests for$"):
        credentials_block("aws", {"access_key_id": "AKIA1", "secret_access_key": "s3"}, {"service": "ssm"})


# --- the partner APIs, end to end -----------------------------------------------------------------


def connected_integration(slug: str, data_type: str, base_url: str, block: str, smaller_pages) -> int:
    """An integration from a partner data type, on an endpoint connected to `base_url` (the emulator)."""
    spec = get_partner(slug).spec_for(data_type, "https://placeholder.example.com", block)
    smaller_pages(spec)
    with session() as db:
        integration = onboard(db, "acme", slug, "a partner application", data_type, spec)
        endpoint = db.get(IntegrationEndpoint, integration.endpoint_id)
        endpoint.partner, endpoint.status, endpoint.connected = slug, EndpointStatus.enabled, True
        endpoint.base_url, endpoint.credentials_block = base_url, block
        integration.source, integration.data_type = IntegrationSource.partner, data_type
        db.add_all([endpoint, integration])
        db.commit()
        return integration.id


def stored(table, integration_id: int) -> dict:
    with session() as db:
        return {row.sync_key: row for row in db.exec(select(table).where(table.integration_id == integration_id))}


def save_block(slug: str, name: str, secrets: dict, region: str | None = None) -> None:
    partner = get_partner(slug)
    credentials_block(partner.auth_type, secrets, partner.block_settings(), region).save(name, overwrite=True)


@pytest.mark.usefixtures("prefect_server")
def test_okta_users_sync_through_link_header_pages(db_url):
    okta = Okta()
    save_block("okta", "okta-test", {"api_key": okta.token})
    with serving(okta.app()) as url:
        integration = connected_integration("okta", "users", url, "okta-test",  # three pages of 15
                                            lambda spec: spec.request.params.update(limit=15))
        summary = sync_integration("acme/users")
    listed = okta.listed()
    assert (summary.fetched, summary.inserted, summary.pages) == (len(listed), len(listed), 3)
    people = stored(Person, integration)
    assert sorted(people) == sorted(user["id"] for user in listed)
    for user in listed:
        person, profile = people[user["id"]], user["profile"]
        assert person.email == profile["email"].lower()
        assert (person.first_name, person.last_name, person.department) == (
            profile["firstName"], profile["lastName"], profile["department"])
        assert person.status == {"ACTIVE": "Active", "SUSPENDED": "Suspended",
                                 "PROVISIONED": "Provisioned"}[user["status"]]
        assert person.phone == profile["mobilePhone"]


@pytest.mark.usefixtures("prefect_server")
def test_snipe_it_hardware_syncs_through_limit_offset_pages(db_url):
    snipe = SnipeIt()
    save_block("snipe-it", "snipe-test", {"api_key": snipe.token})
    with serving(snipe.app()) as url:
        integration = connected_integration("snipe-it", "hardware", url, "snipe-test",
                                            lambda spec: setattr(spec.pagination, "limit", 20))
        summary = sync_integration("acme/hardware")
    assert (summary.fetched, summary.inserted, summary.rejected, summary.pages) == (57, 57, 0, 3)
    assets = stored(Asset, integration)
    assert sorted(assets, key=int) == [str(record["id"]) for record in snipe.hardware]
    for record in snipe.hardware:
        asset = assets[str(record["id"])]
        assert (asset.asset_tag, asset.serial_number, asset.model, asset.manufacturer, asset.status) == (
            record["asset_tag"], record["serial"], record["model"]["name"], record["manufacturer"]["name"],
            record["status_label"]["name"])
        assert asset.assigned_to == (record["assigned_to"] or {}).get("email")
        assert asset.cost == snipeit_cost(record)
        purchased = record["purchase_date"]
        assert (asset.purchased_at.date() if asset.purchased_at else None) == (
            date.fromisoformat(purchased["date"]) if purchased else None)
    assert any(record["purchase_cost"] and "," in record["purchase_cost"] for record in snipe.hardware)


@pytest.mark.usefixtures("prefect_server")
def test_servicenow_hardware_syncs_through_sysparm_offset_pages(db_url):
    now = ServiceNow()
    save_block("servicenow", "now-test", {"username": now.user, "password": now.password})
    with serving(now.app()) as url:
        integration = connected_integration("servicenow", "hardware", url, "now-test",
                                            lambda spec: setattr(spec.pagination, "limit", 10))
        summary = sync_integration("acme/hardware")
    hardware = now.tables["alm_hardware"]
    assert (summary.fetched, summary.inserted, summary.rejected, summary.pages) == (33, 33, 0, 4)
    assets = stored(Asset, integration)
    assert sorted(assets) == sorted(record["sys_id"].value for record in hardware)
    for record in hardware:
        asset = assets[record["sys_id"].value]
        assert (asset.asset_tag, asset.model, asset.manufacturer, asset.category, asset.status, asset.location) == (
            record["asset_tag"].value, record["model"].display, record["model.manufacturer"].display,
            record["model_category"].display, record["install_status"].display, record["location"].display)
        assert asset.assigned_to == record["assigned_to.email"].value


@pytest.mark.usefixtures("prefect_server")
def test_aws_ssm_managed_instances_sync_through_signed_next_token_pages(db_url):
    ssm = Ssm(region="eu-west-1")
    save_block("aws-ssm", "ssm-test", {"access_key_id": ssm.access_key_id,
                                       "secret_access_key": ssm.secret_access_key}, region="eu-west-1")
    with serving(ssm.app()) as url:
        integration = connected_integration("aws-ssm", "managed-instances", url, "ssm-test",  # 4 signed POSTs
                                            lambda spec: spec.request.body.update(MaxResults=10))
        summary = sync_integration("acme/managed-instances")
    assert (summary.fetched, summary.inserted, summary.pages) == (37, 37, 4)
    assets = stored(Asset, integration)
    for instance in ssm.instances:
        asset = assets[instance["InstanceId"]]
        assert (asset.name, asset.category, asset.status) == (
            instance["ComputerName"], instance["PlatformType"], instance["PingStatus"])
        assert asset.model == f"{instance['PlatformName']} {instance['PlatformVersion']}"


# --- the connection test ---------------------------------------------------------------------------

EMULATORS = {
    "okta": (Okta, lambda api: {"api_key": api.token}, lambda: {"api_key": "00wrong-token-value"},
             "Okta refused the connection test: HTTP 401 on GET /api/v1/users: Invalid token provided"),
    "snipe-it": (SnipeIt, lambda api: {"api_key": api.token}, lambda: {"api_key": "wrong-token-value"},
                 "Snipe-IT refused the connection test: HTTP 401 on GET /api/v1/hardware: "
                 "Unauthorized or unauthenticated."),
    "servicenow": (ServiceNow, lambda api: {"username": api.user, "password": api.password},
                   lambda: {"username": "integration.hub", "password": "wrong-token-value"},
                   "ServiceNow refused the connection test: HTTP 401 on GET /api/now/table/sys_user: "
                   "User Not Authenticated: Required to provide Auth information"),
    "aws-ssm": (Ssm, lambda api: {"access_key_id": api.access_key_id, "secret_access_key": api.secret_access_key},
                lambda: {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "wrong-token-value"},
                "AWS Systems Manager refused the connection test: HTTP 400 on POST /: The request signature we "
                "calculated does not match the signature you provided. Check your AWS Secret Access Key and "
                "signing method. Consult the service documentation for details."),
}


@pytest.mark.parametrize("slug", sorted(EMULATORS))
def test_the_connection_test_passes_with_right_credentials_and_gives_the_vendor_reason_otherwise(slug):
    emulator, right, wrong, refusal = EMULATORS[slug]
    api, partner = emulator(), get_partner(slug)
    test = partner.connection_test

    def auth(secrets):
        return credentials_block(partner.auth_type, secrets, partner.block_settings(), "eu-west-1").auth()

    with serving(api.app()) as url:
        assert check_connection.fn(partner, url, auth(right(api))) == f"HTTP 200 from {test.method} {test.path}"
        with pytest.raises(HubError) as refused:
            check_connection.fn(partner, url, auth(wrong()))
    assert str(refused.value) == refusal
    assert "wrong-token-value" not in str(refused.value)


def test_a_connection_test_names_a_redirect_an_html_page_and_a_wrong_scope():
    snipe, ssm = SnipeIt(), Ssm(region="eu-west-1")
    without_accept = get_partner("snipe-it").model_copy(deep=True)
    without_accept.connection_test.headers = {}
    with serving(snipe.app()) as url:
        with pytest.raises(VendorError) as refused:
            check_connection.fn(without_accept, url, ApiTokenCredentials(token="wrong").auth())
    assert str(refused.value) == ("Snipe-IT refused the connection test: HTTP 302 on GET /api/v1/hardware: "
                                  "redirected to 127.0.0.1/login")

    hibernating = Starlette(routes=[Route("/api/now/table/sys_user", lambda request: HTMLResponse("<h1>Zzz</h1>"))])
    with serving(hibernating) as url:
        with pytest.raises(VendorError) as refused:
            check_connection.fn(get_partner("servicenow"), url, BasicCredentials(username="u", password="p").auth())
    assert str(refused.value) == ("ServiceNow answered HTTP 200 to GET /api/now/table/sys_user with text/html, "
                                  "not JSON: is 127.0.0.1 its API?")

    key = {"access_key_id": ssm.access_key_id, "secret_access_key": ssm.secret_access_key}
    elsewhere = credentials_block("aws", key, {"service": "ssm"}, region="us-east-1")
    with serving(ssm.app()) as url:
        with pytest.raises(VendorError, match="HTTP 400 on POST /: Credential should be scoped to a valid region.$"):
            check_connection.fn(get_partner("aws-ssm"), url, elsewhere.auth())


# --- connecting an endpoint (the flow) ---------------------------------------------------------------


def partner_endpoint(slug: str, base_url: str | None, block: str | None) -> None:
    with session() as db:
        create_customer(db, "acme")
        (endpoint,) = add_partners(db, "acme", [slug])
        endpoint.base_url, endpoint.credentials_block = base_url, block
        db.add(endpoint)
        db.commit()


def endpoint_row(name: str) -> IntegrationEndpoint:
    with session() as db:
        return get_endpoint(db, "acme", name)


@pytest.mark.usefixtures("prefect_server")
def test_connecting_okta_with_the_right_key_enables_it_and_a_wrong_key_fails_with_okta_reason(db_url):
    okta = Okta()
    with serving(okta.app()) as url:
        partner_endpoint("okta", url, "acme-okta-credentials")
        assert endpoint_row("okta").status == EndpointStatus.available
        save_block("okta", "acme-okta-credentials", {"api_key": okta.token})
        assert connect_endpoint("acme/okta") == EndpointStatus.enabled
        enabled = endpoint_row("okta")
        assert (enabled.status, enabled.connected) == (EndpointStatus.enabled, True)
        assert enabled.status_message == "HTTP 200 from GET /api/v1/users" and enabled.connected_at is not None

        save_block("okta", "acme-okta-credentials", {"api_key": "00revoked-secret-token"})
        assert connect_endpoint("acme/okta") == EndpointStatus.failed
    failed = endpoint_row("okta")
    assert (failed.status, failed.connected, failed.connected_at) == (EndpointStatus.failed, False, None)
    assert failed.status_message == ("Okta refused the connection test: HTTP 401 on GET /api/v1/users: "
                                     "Invalid token provided")
    assert "00revoked-secret-token" not in failed.status_message


@pytest.mark.usefixtures("prefect_server")
def test_the_demo_vendor_walkthrough_connect_then_sync_and_no_data_once_the_connection_fails(sqlite_url, vendor):
    url, data = vendor
    partner_endpoint("demo-vendor", url, "acme-demo-credentials")
    save_block("demo-vendor", "acme-demo-credentials", {"api_key": data.token})
    assert connect_endpoint("acme/demo-vendor") == EndpointStatus.enabled
    spec = get_partner("demo-vendor").spec_for("assets", url, "acme-demo-credentials")
    with session() as db:
        integration = onboard(db, "acme", "demo-vendor", "unused: the endpoint exists", "assets", spec)
        integration.source, integration.data_type = IntegrationSource.partner, "assets"
        db.add(integration)
        db.commit()
    assert sync_integration("acme/assets").inserted == 350

    save_block("demo-vendor", "acme-demo-credentials", {"api_key": "a-revoked-secret"})
    assert connect_endpoint("acme/demo-vendor") == EndpointStatus.failed
    assert endpoint_row("demo-vendor").status_message == (
        "Demo Asset Vendor refused the connection test: HTTP 401 on GET /api/v1/users: invalid or missing API token")
    refused = sync_integration("acme/assets", return_state=True)
    assert refused.is_failed()
    with pytest.raises(HubError, match="endpoint 'demo-vendor' of acme is not connected"):
        refused.result()


@pytest.mark.usefixtures("prefect_server")
def test_connecting_needs_a_partner_endpoint_and_its_saved_credentials(sqlite_url):
    partner_endpoint("okta", "https://acme.okta.com", "never-saved-credentials")
    with pytest.raises(CredentialsNotFound, match="no api_token credentials named 'never-saved-credentials' on the Prefect server"):
        connect_endpoint("acme/okta")
    assert endpoint_row("okta").status == EndpointStatus.available
    with pytest.raises(NotFound, match="customer 'acme' has no integration endpoint 'salesforce'"):
        connect_endpoint("acme/salesforce")
    with session() as db:
        db.add(IntegrationEndpoint(customer_id=endpoint_row("okta").customer_id, name="in-house",
                                   description="our own API"))
        db.commit()
    with pytest.raises(NotFound, match="'acme/in-house' is not a partner application"):
        connect_endpoint("acme/in-house")
