"""Where the hub connects, and where it sends credentials (issue 10, section 5).

No test sends traffic to a non-loopback address: names resolve through a patched resolver
(`models.egress.resolve`), refusals happen before any socket is opened (a test that is refused
makes `socket.create_connection` fail loudly if it is reached), and every connection that is
allowed goes to the demo vendor on 127.0.0.1.
"""

import ipaddress
import socket
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from blocks import ApiTokenCredentials, OAuth2Credentials
from blocks.host_bound import vendor_client
from flows.sync import sync_integration
from ihub.demo import demo_spec
from models import egress
from models.egress import EgressRefused
from models.engine import session
from models.errors import HubError, VendorError
from models.integrations import onboard
from models.logs import ActionLog, ActionStatus
from models.partners import get_partner
from models.spec import ConnectorSpec, RequestSpec
from tasks.connect import check_connection
from tasks.paginate import Page, PageRequest, fetch_pages, paginator_for

LINK_HEADER = Path(__file__).parents[1] / "ihub" / "connectors" / "examples" / "link-header.yaml"
LOOPBACK_ONLY = "127.0.0.0/8,::1,localhost"


@pytest.fixture
def dns(monkeypatch):
    """A resolver the test controls: name -> addresses; `asked` lists the names resolved. Literal
    addresses resolve to themselves; any other name fails, so no query ever leaves the machine."""
    answers: dict[str, list[str]] = {}
    asked: list[str] = []

    def resolve(host: str, port: int):
        asked.append(host)
        if host in answers:
            return [ipaddress.ip_address(address) for address in answers[host]]
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            raise socket.gaierror(f"{host} is not in the test's resolver") from None

    monkeypatch.setattr(egress, "resolve", resolve)
    resolve.answers, resolve.asked = answers, asked
    return resolve


@pytest.fixture
def no_connection(monkeypatch):
    """Fail the test if a socket connection is attempted; lists the attempts."""
    attempts = []

    def refuse(address, *args, **kwargs):
        attempts.append(address)
        raise AssertionError(f"a connection to {address} was attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def get(url: str) -> None:
    with egress.guarded_client() as client:
        client.get(url)


BLOCKED = {
    "vendor.internal": ("10.1.2.3", "a private address"),
    "crm.corp": ("172.16.5.4", "a private address"),
    "nas.lan": ("192.168.1.10", "a private address"),
    "evil.example": ("169.254.169.254", "a cloud metadata address"),
    "v6.internal": ("fd00::1", "a private address"),
    "aws-v6.example": ("fd00:ec2::254", "a cloud metadata address"),
    "link.local": ("169.254.10.1", "a link-local address"),
    "loop6.example": ("::1", "a loopback address"),
    "loop.example": ("127.0.0.1", "a loopback address"),
}


@pytest.mark.parametrize("name", sorted(BLOCKED))
def test_names_resolving_to_private_loopback_link_local_or_metadata_addresses_are_refused(
        name, dns, no_connection, monkeypatch):
    monkeypatch.delenv(egress.ALLOWED_HOSTS, raising=False)
    address, kind = BLOCKED[name]
    dns.answers[name] = [address]
    with pytest.raises(EgressRefused) as refused:
        get(f"https://{name}/api/v1/assets?api_key=secret-in-query")
    assert str(refused.value).startswith(f"refused to connect to {name} ({address}, {kind}): ")
    assert "secret-in-query" not in str(refused.value)
    assert dns.asked == [name] and no_connection == []


def test_the_refusal_names_the_setting_that_opens_the_address(dns, no_connection, monkeypatch):
    monkeypatch.delenv(egress.ALLOWED_HOSTS, raising=False)
    dns.answers["vendor.internal"] = ["10.1.2.3"]
    with pytest.raises(EgressRefused) as refused:
        get("https://vendor.internal/api")
    assert str(refused.value) == ("refused to connect to vendor.internal (10.1.2.3, a private address): an "
                                  "on-premises vendor needs IHUB_ALLOWED_HOSTS=10.1.2.3 (or its network or host name)")

    monkeypatch.setenv(egress.ALLOWED_HOSTS, LOOPBACK_ONLY)
    with pytest.raises(EgressRefused) as refused:
        get("https://vendor.internal/api")
    assert str(refused.value).endswith("needs 10.1.2.3 (or its network or host name) added to IHUB_ALLOWED_HOSTS")

    with pytest.raises(EgressRefused, match=r"^refused to connect to 10\.0\.0\.8 \(a private address\): "):
        get("http://10.0.0.8:8080/api")  # an address typed as the host: nothing to resolve, still checked
    dns.answers["mapped.example"] = ["::ffff:10.9.9.9"]  # IPv4 in IPv6 clothing is judged as the IPv4 address
    with pytest.raises(EgressRefused, match=r"^refused to connect to mapped\.example \(10\.9\.9\.9, a private"):
        get("http://mapped.example/api")
    assert no_connection == []


@pytest.mark.parametrize("setting", ["10.0.0.0/8", "vendor.internal", "10.1.2.3", " 10.1.2.3 , other.example"])
def test_an_address_its_network_or_its_host_name_opens_it(setting, dns, no_connection, monkeypatch):
    monkeypatch.setenv(egress.ALLOWED_HOSTS, setting)
    dns.answers["vendor.internal"] = ["10.1.2.3"]
    with pytest.raises(AssertionError, match=r"connection to \('10\.1\.2\.3', 443\) was attempted"):
        get("https://vendor.internal/api")  # allowed: the (stubbed) connection goes to the checked address
    assert no_connection == [("10.1.2.3", 443)]


@pytest.mark.parametrize("setting", ["169.254.0.0/16", "0.0.0.0/0", "evil.example", "metadata.google.internal"])
def test_metadata_addresses_stay_refused_unless_named_one_by_one(setting, dns, no_connection, monkeypatch):
    monkeypatch.setenv(egress.ALLOWED_HOSTS, setting)
    dns.answers.update({"evil.example": ["169.254.169.254"], "metadata.google.internal": ["169.254.169.254"]})
    for name in ("evil.example", "metadata.google.internal", "169.254.169.254"):
        with pytest.raises(EgressRefused, match="a cloud metadata address"):
            get(f"http://{name}/latest/meta-data/")
    assert no_connection == []

    monkeypatch.setenv(egress.ALLOWED_HOSTS, "169.254.169.254,metadata.google.internal")
    with pytest.raises(AssertionError, match="169.254.169.254"):  # opened: the stub is reached
        get("http://metadata.google.internal/computeMetadata/v1/")
    with pytest.raises(EgressRefused) as refused:
        get("http://[fd00:ec2::254]/latest/meta-data/")
    assert str(refused.value) == (
        "refused to connect to fd00:ec2::254 (a cloud metadata address): a metadata service hands out the "
        "machine's own credentials, so it opens only when IHUB_ALLOWED_HOSTS lists fd00:ec2::254 (no network or "
        "host name opens it)")


def test_a_name_with_one_refused_address_among_allowed_ones_is_refused(dns, no_connection, monkeypatch):
    monkeypatch.setenv(egress.ALLOWED_HOSTS, "127.0.0.1")
    dns.answers["mixed.example"] = ["127.0.0.1", "10.0.0.1"]
    with pytest.raises(EgressRefused, match=r"mixed\.example \(10\.0\.0\.1, a private address\)"):
        get("http://mixed.example/")
    assert no_connection == []


def test_a_malformed_setting_is_named():
    with pytest.raises(HubError, match=r"IHUB_ALLOWED_HOSTS: '10\.0\.0\.0/33' is not a network"):
        egress.Allowance.parse("127.0.0.1,10.0.0.0/33")


def test_an_allowed_name_connects_to_the_address_it_was_checked_at(vendor, dns, monkeypatch):
    """`vendor.test` is unknown to the system's resolver: the run can only reach the vendor because
    the connection goes to the address the check resolved, with no second lookup to rebind."""
    url, data = vendor
    port = httpx.URL(url).port
    dns.answers["vendor.test"] = ["127.0.0.1"]
    spec = demo_spec(f"http://vendor.test:{port}", pagination={"type": "offset", "limit": 100, "total_path": "meta.total"})
    auth = ApiTokenCredentials(token=data.token).auth()

    monkeypatch.setenv(egress.ALLOWED_HOSTS, "127.0.0.1")
    assert sum(len(page.records) for page in fetch_pages(spec, auth)) == 350
    assert set(dns.asked) == {"vendor.test"}

    monkeypatch.delenv(egress.ALLOWED_HOSTS)
    requests = data.requests
    with pytest.raises(EgressRefused) as refused:
        list(fetch_pages(spec, auth))
    assert str(refused.value) == ("refused to connect to vendor.test (127.0.0.1, a loopback address): an on-premises "
                                  "vendor needs IHUB_ALLOWED_HOSTS=127.0.0.1 (or its network or host name)")
    assert data.requests == requests  # refused at once, not retried, nothing reached the vendor


# --- next-page URLs and credentials on other hosts ----------------------------------------------------


def link_spec(url: str, **request) -> ConnectorSpec:
    """The link-header example, whose vendor hands out its next page on `other.test` (same port)."""
    return demo_spec(url, LINK_HEADER, request={"base_url": url, "path": "/api/link/assets",
                                               "params": {"limit": 100, "next_host": "other.test"}, **request})


def test_a_next_page_url_on_another_host_is_refused_even_at_an_allowed_address(vendor, dns):
    url, data = vendor
    dns.answers["other.test"] = ["127.0.0.2"]  # loopback, allowed: the refusal is about the host
    pages = fetch_pages(link_spec(url), ApiTokenCredentials(token=data.token).auth())
    assert len(next(pages).records) == 100
    with pytest.raises(VendorError) as refused:
        next(pages)
    port = httpx.URL(url).port
    assert str(refused.value) == (
        f"Demo Asset Vendor sent a next-page URL on another host (other.test:{port}); credentials are only sent "
        f"to 127.0.0.1:{port}: add the host to request.allowed_hosts in the spec if that is intended")
    assert "other.test" not in dns.asked and data.requests == 1


def test_a_host_the_spec_allows_is_followed(vendor, dns):
    url, data = vendor
    dns.answers["other.test"] = ["127.0.0.1"]  # where the demo vendor listens (it binds 127.0.0.1 only)
    spec = link_spec(url, allowed_hosts=["other.test"])
    records = [r for page in fetch_pages(spec, ApiTokenCredentials(token=data.token).auth()) for r in page.records]
    assert sorted(r["id"] for r in records) == sorted(a["id"] for a in data.records["assets"])
    assert "other.test" in dns.asked


@pytest.mark.usefixtures("prefect_server")
def test_a_run_sent_to_another_host_fails_with_the_reason_in_its_log(sqlite_url, vendor, dns):
    url, data = vendor
    dns.answers["other.test"] = ["127.0.0.2"]
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    with session() as db:
        integration = onboard(db, "acme", "vendor", "test vendor", "assets", link_spec(url))
    assert sync_integration("acme/assets", return_state=True).is_failed()
    with session() as db:
        log = db.exec(select(ActionLog).where(ActionLog.integration_id == integration.id)).one()
    assert log.status == ActionStatus.failed
    assert f"sent a next-page URL on another host (other.test:{httpx.URL(url).port})" in log.message
    assert "request.allowed_hosts" in log.message and data.token not in log.message


def test_a_next_page_url_over_plain_http_after_https_is_refused():
    spec = demo_spec("https://api.vendor.example", LINK_HEADER, request={"base_url": "https://api.vendor.example",
                                                                          "allowed_hosts": ["api.vendor.example"]})
    first = PageRequest("https://api.vendor.example/api/link/assets")
    answer = httpx.Response(200, headers={"Link": '<http://api.vendor.example/api/link/assets?after=100>; rel="next"'},
                            request=httpx.Request("GET", first.url))
    with pytest.raises(VendorError) as refused:
        paginator_for(spec).next(first, Page([{}]), answer, [{}])
    assert str(refused.value) == ("Demo Asset Vendor sent a next-page URL over plain http (api.vendor.example); "
                                  "credentials are only sent over https to api.vendor.example")


def test_credentials_are_applied_only_to_the_specs_own_hosts(vendor):
    url, data = vendor
    port = httpx.URL(url).port
    auth = ApiTokenCredentials(token=data.token).auth()
    with vendor_client(auth, RequestSpec(base_url=url)) as client:
        assert client.get(f"{url}/api/v1/assets").status_code == 200
        with pytest.raises(EgressRefused) as refused:
            client.get(f"http://localhost:{port}/api/v1/assets")  # the same server, but not the spec's host
    assert str(refused.value) == (
        f"refused to apply the credentials to a request on another host (localhost:{port}); credentials are only "
        f"sent to 127.0.0.1:{port}: add the host to request.allowed_hosts in the spec if that is intended")
    assert data.requests == 1


# --- OAuth2 token URLs and partner tenant hosts -------------------------------------------------------


def test_an_oauth2_token_url_is_checked_like_the_api(vendor, dns, no_connection, monkeypatch):
    url, data = vendor
    dns.answers["auth.internal"] = ["10.0.0.7"]
    credentials = OAuth2Credentials(token_url="https://auth.internal/oauth/token", client_id=data.oauth_client_id,
                                    client_secret=data.token)
    with pytest.raises(EgressRefused) as refused:
        credentials.fetch_token()
    assert str(refused.value).startswith("refused to connect to auth.internal (10.0.0.7, a private address): ")
    assert no_connection == [] and data.token_requests == 0


def test_an_allowed_oauth2_token_url_gives_a_token(vendor, dns, monkeypatch):
    url, data = vendor
    dns.answers["auth.test"] = ["127.0.0.1"]
    monkeypatch.setenv(egress.ALLOWED_HOSTS, "auth.test,127.0.0.1")
    credentials = OAuth2Credentials(token_url=f"http://auth.test:{httpx.URL(url).port}/oauth/token",
                                    client_id=data.oauth_client_id, client_secret=data.token)
    assert credentials.fetch_token()["access_token"] and data.token_requests == 1


def test_a_partner_tenant_host_typed_by_an_operator_is_checked(dns, no_connection):
    partner = get_partner("snipe-it")
    base_url = partner.base_url("self-hosted", "assets.corp.example")
    dns.answers["assets.corp.example"] = ["192.168.40.2"]
    with pytest.raises(EgressRefused) as refused:
        check_connection.fn(partner, base_url, ApiTokenCredentials(token="t").auth())
    assert str(refused.value).startswith("refused to connect to assets.corp.example (192.168.40.2, a private address)")
    assert no_connection == []
