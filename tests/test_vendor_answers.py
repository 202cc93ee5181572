"""What third-party servers really send, read over HTTP on loopback from the demo vendor: JSON
labelled text/html, a total in a response header, and refusals whose reason (and, for AWS JSON
APIs, whose operation) the message keeps."""

import pytest
from typer.testing import CliRunner

from blocks import ApiTokenCredentials, AwsCredentials
from ihub.cli import app, console
from ihub.demo import demo_spec
from ihub.vendor import Fault
from models.errors import CredentialsRejected, VendorError
from models.spec import OffsetPagination, PagePagination, SpecError
from tasks.completeness import CompletenessCheck
from tasks.http import RetryPolicy
from tasks.paginate import fetch_pages
from tests.conftest import make_integration

BY_HEADER = {"type": "offset", "limit": 100, "total_header": "X-Total-Count"}
AWS_TARGET = "AmazonSSM.DescribeInstanceInformation"


def read(spec, auth):
    pages = list(fetch_pages(spec, auth, RetryPolicy(max_attempts=1, sleep=lambda _: None)))
    return pages, [record for page in pages for record in page.records]


def ihub(*args):
    console.width = 200
    return CliRunner().invoke(app, list(args))


# --- JSON whatever its label -------------------------------------------------------------------------

def test_json_labelled_text_html_is_read_and_html_is_still_named(vendor):
    url, data = vendor
    data.json_content_type = "text/html; charset=utf-8"  # as moto labels some services' JSON
    _, records = read(demo_spec(url), ApiTokenCredentials(token=data.token).auth())
    assert len(records) == 350

    data.faults.append(Fault(200, body="<html><body>Sign in</body></html>", content_type="text/html"))
    with pytest.raises(VendorError) as caught:
        read(demo_spec(url), ApiTokenCredentials(token=data.token).auth())
    assert str(caught.value) == "expected JSON, got text/html from Demo Asset Vendor /api/v1/assets"


# --- the total in a header ---------------------------------------------------------------------------

def test_total_header_gives_each_page_the_vendors_total(vendor):
    url, data = vendor
    pages, records = read(demo_spec(url, pagination=BY_HEADER), ApiTokenCredentials(token=data.token).auth())
    assert len(records) == 350 and [page.total for page in pages] == [350] * 4


def test_a_total_is_given_in_one_place():
    with pytest.raises(SpecError, match="pagination: give the total in one place: total_path"):
        demo_spec("http://127.0.0.1:9", pagination={**BY_HEADER, "total_path": "meta.total"})
    assert PagePagination(size=10, total_header="X-Total").total_source == "the X-Total header"


def test_completeness_proves_a_run_by_the_header_total_or_says_the_header_was_missing():
    from tests.test_completeness import pages, read as read_pages

    check = CompletenessCheck(OffsetPagination(limit=100, total_header="X-Total-Count"))
    read_pages(check, pages(100, 100, 100, 50, total=350))
    assert check.counts_keys and check.verdict().proven

    check = CompletenessCheck(OffsetPagination(limit=100, total_header="X-Total-Count"))
    read_pages(check, pages(100, 100, 100, 50))
    verdict = check.verdict()
    assert not verdict.proven and verdict.reason == "the vendor's answers had no total in the X-Total-Count header"


@pytest.mark.usefixtures("prefect_server", "sqlite_url")
def test_a_run_through_the_cli_reads_text_html_json_and_proves_itself_by_the_header_total(vendor):
    url, data = vendor
    data.json_content_type = "text/html"
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    make_integration(url, pagination=BY_HEADER)
    result = ihub("run", "acme/assets")
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "fetched 350 records in 4 pages: 350 inserted" in out
    assert "cannot prove" not in out and "no total" not in out


# --- refusals keep the vendor's reason ---------------------------------------------------------------

def aws(url, data, secret, **changes):
    request = {"base_url": url, "path": "/api/search/assets", "method": "POST", "body": {"MaxResults": 100},
               "headers": {"X-Amz-Target": AWS_TARGET}}
    spec = demo_spec(url, request=request, auth={"type": "aws", "block": "vendor-aws"}, records={"path": "Items"},
                     pagination={"type": "cursor", "location": "body", "cursor_path": "NextToken",
                                 "cursor_param": "NextToken"}, **changes)
    credentials = AwsCredentials(access_key_id=data.aws_access_key_id, secret_access_key=secret,
                                 region="eu-west-1", service="assets")
    return spec, credentials


def test_a_wrong_aws_signature_names_the_operation_and_the_reason(vendor):
    url, data = vendor
    spec, right = aws(url, data, data.token)
    assert len(read(spec, right.auth())[1]) == 350
    spec, wrong = aws(url, data, "wrong-secret")
    with pytest.raises(CredentialsRejected) as caught:
        read(spec, wrong.auth())
    assert str(caught.value) == (
        f"credentials rejected by Demo Asset Vendor (HTTP 403 on /api/search/assets ({AWS_TARGET})): "
        "SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. "
        "Check your AWS…")


def test_an_xml_access_denied_and_an_echoed_secret_are_reduced_to_a_short_redacted_reason(vendor):
    url, data = vendor
    auth = ApiTokenCredentials(token=data.token).auth()
    data.faults.append(Fault(403, content_type="application/xml", body=(
        "<?xml version='1.0'?><Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
        "<RequestId>4442587FB7D0A2F9</RequestId></Error>")))
    with pytest.raises(CredentialsRejected) as caught:
        read(demo_spec(url), auth)
    assert str(caught.value) == ("credentials rejected by Demo Asset Vendor (HTTP 403 on /api/v1/assets): "
                                 "AccessDenied: Access Denied")

    data.faults.append(Fault(401, body='{"error": {"code": "invalid_token", "message": "token '
                                        + data.token + ' is revoked"}}'))
    with pytest.raises(CredentialsRejected) as caught:
        read(demo_spec(url), auth)
    assert str(caught.value) == ("credentials rejected by Demo Asset Vendor (HTTP 401 on /api/v1/assets): "
                                 "invalid_token: token [REDACTED] is revoked")

    data.faults.append(Fault(401, body="<html>" + "x" * 500 + "</html>", content_type="text/html"))
    with pytest.raises(CredentialsRejected) as caught:
        read(demo_spec(url), auth)
    assert str(caught.value) == "credentials rejected by Demo Asset Vendor (HTTP 401 on /api/v1/assets)"


@pytest.mark.usefixtures("prefect_server", "sqlite_url")
def test_a_run_through_the_cli_says_which_aws_operation_was_refused_and_why(vendor):
    url, data = vendor
    spec, wrong = aws(url, data, "wrong-secret")
    wrong.save("vendor-aws", overwrite=True)
    make_integration(url, **{k: v for k, v in spec.model_dump(mode="json").items()
                             if k in ("request", "auth", "records", "pagination")})
    result = ihub("run", "acme/assets")
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert out.startswith(f"Error: credentials rejected by Demo Asset Vendor (HTTP 403 on /api/search/assets "
                          f"({AWS_TARGET})): SignatureDoesNotMatch: The request signature we calculated")
    assert "wrong-secret" not in out and out.count("credentials rejected") == 1


def test_a_connection_test_accepts_json_labelled_text_html(vendor):
    from models.partners import get_partner
    from tasks.connect import check_connection

    url, data = vendor
    data.json_content_type = "text/html"
    auth = ApiTokenCredentials(token=data.token).auth()
    assert check_connection.fn(get_partner("demo-vendor"), url, auth) == "HTTP 200 from GET /api/v1/users"
