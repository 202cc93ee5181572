"""OAuth2 against the demo vendor's token endpoint: both grants, caching, expiry, 401, rotation."""

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from blocks import OAuth2Credentials
from flows.sync import sync_integration
from ihub.demo import demo_spec
from models.errors import CredentialsRejected
from tasks.paginate import fetch_pages
from tests.conftest import make_integration

OAUTH = {"type": "oauth2", "block": "vendor-oauth"}


def client(url, data, **changes):
    return OAuth2Credentials(token_url=f"{url}/oauth/token", client_id=data.oauth_client_id,
                             client_secret=data.token, **changes)


def records(url, auth):
    spec = demo_spec(url, auth=OAUTH, pagination={"type": "offset", "limit": 100, "total_path": "meta.total"})
    return [r for page in fetch_pages(spec, auth) for r in page.records]


@pytest.mark.usefixtures("prefect_server", "sqlite_url")
def test_client_credentials_sync_with_one_token_for_the_whole_run(vendor):
    url, data = vendor
    client(url, data, scopes=["assets:read"]).save("vendor-oauth", overwrite=True)
    make_integration(url, auth=OAUTH)
    assert sync_integration("acme/assets").inserted == 350
    assert data.token_requests == 1  # cached across the four pages


def test_client_authentication_can_be_http_basic(vendor):
    url, data = vendor
    assert len(records(url, client(url, data, client_auth="basic").auth())) == 350


def test_an_expiring_token_is_renewed_before_use(vendor):
    url, data = vendor
    data.token_ttl = 30  # inside the early-refresh margin: every request needs a new one
    assert len(records(url, client(url, data).auth())) == 350
    assert data.token_requests == 4


def test_a_401_gets_one_new_token_and_one_more_try(vendor):
    url, data = vendor
    auth = client(url, data).auth()
    assert len(records(url, auth)) == 350
    data.access_tokens.clear()  # the vendor revokes every token between two runs that share the auth
    assert len(records(url, auth)) == 350  # the first page's 401 renews it (its guesses wait for that page)
    assert data.token_requests == 2


def test_requests_in_flight_that_all_get_a_401_renew_the_token_once(vendor):
    url, data = vendor
    auth = client(url, data).auth()
    with httpx.Client(auth=auth) as http:
        assert http.get(f"{url}/api/v1/assets").status_code == 200
        data.access_tokens.clear()
        start = threading.Barrier(6)

        def read() -> int:
            start.wait()
            return http.get(f"{url}/api/v1/assets").status_code

        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda _: read(), range(6)))
    assert answers == [200] * 6
    assert data.token_requests == 2  # one at first, one after the revocation: not one per 401


@pytest.mark.usefixtures("prefect_server", "sqlite_url")
def test_a_rotated_refresh_token_is_written_back_for_the_next_run(vendor):
    url, data = vendor
    first = data.issue_refresh_token()
    client(url, data, grant="refresh_token", refresh_token=first).save("vendor-oauth", overwrite=True)
    make_integration(url, auth=OAUTH)
    assert sync_integration("acme/assets").inserted == 350
    second = OAuth2Credentials.load("vendor-oauth").refresh_token.get_secret_value()
    assert second != first and second in data.refresh_tokens and first not in data.refresh_tokens
    assert sync_integration("acme/assets").unchanged == 350  # the next run starts from the new one


def test_a_wrong_secret_is_refused_without_showing_it(vendor):
    url, data = vendor
    bad = OAuth2Credentials(token_url=f"{url}/oauth/token", client_id=data.oauth_client_id,
                            client_secret="not-the-secret")
    with pytest.raises(CredentialsRejected) as caught:
        records(url, bad.auth())
    assert str(caught.value) == "the OAuth2 token endpoint 127.0.0.1/oauth/token refused the credentials (invalid_client)"
    assert "not-the-secret" not in repr(bad) and "not-the-secret" not in repr(bad.auth())
