"""AWS SigV4: signed by botocore, verified by the demo vendor recomputing the signature."""

import time
from pathlib import Path

import pytest

from blocks import AwsCredentials
from flows.sync import sync_integration
from ihub.demo import CUSTOMER, demo_spec
from models.engine import session
from models.errors import CredentialsRejected
from models.integrations import onboard
from tasks.paginate import fetch_pages

AWS = {"type": "aws", "block": "vendor-aws"}
EXAMPLES = Path(__file__).parents[1] / "ihub" / "connectors" / "examples"


def key(data, **changes):
    return AwsCredentials(**{"access_key_id": data.aws_access_key_id, "secret_access_key": data.token,
                             "region": "eu-west-1", "service": "assets", **changes})


def get_all(url, credentials):
    spec = demo_spec(url, auth=AWS, pagination={"type": "offset", "limit": 100, "total_path": "meta.total"})
    return [r for page in fetch_pages(spec, credentials.auth()) for r in page.records]


@pytest.mark.usefixtures("prefect_server", "sqlite_url")
def test_a_signed_post_body_api_syncs_through_the_flow(vendor):
    url, data = vendor
    key(data).save("vendor-aws", overwrite=True)
    spec = demo_spec(url, EXAMPLES / "post-body-token.yaml", auth=AWS)
    with session() as db:
        onboard(db, CUSTOMER, "aws-vendor", "an AWS JSON API", "search", spec)
    summary = sync_integration(f"{CUSTOMER}/search")
    assert (summary.fetched, summary.inserted) == (350, 350)


def test_signed_get_requests_with_query_strings_and_a_session_token(vendor):
    url, data = vendor
    assert len(get_all(url, key(data))) == 350
    assert len(get_all(url, key(data, session_token="FwoGZXIvYXdzE-session"))) == 350


def test_a_wrong_secret_or_a_stale_signature_is_rejected(vendor):
    url, data = vendor
    with pytest.raises(CredentialsRejected, match="credentials rejected by Demo Asset Vendor"):
        get_all(url, key(data, secret_access_key="wrong-secret"))
    data.now = lambda: time.time() + 3600  # the vendor's clock is an hour ahead: the signature is stale
    with pytest.raises(CredentialsRejected):
        get_all(url, key(data))


def test_the_secret_never_shows_in_a_repr(vendor):
    _, data = vendor
    credentials = key(data, session_token="session-secret")
    for text in (repr(credentials), repr(credentials.auth())):
        assert data.token not in text and "session-secret" not in text
